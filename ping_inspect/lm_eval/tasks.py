"""lm-eval task configs generated from the benchmark descriptors.

A benchmark with a static single-turn form (its descriptor's ``single_turn_prompt``) gets,
per split it holds and per defence variant, one lm-eval ``generate_until`` task whose
documents are the Inspect first-response task's own samples (found as that task finds
them: ``data_dir`` or ``PING_INSPECT_DATA``), plus one group per benchmark. PING is the
task's ``gen_prefix`` (the start of the assistant's answer, continued by the model);
``process_results`` calls the benchmark's own first-response judge on the generated text,
which is the model's own words only (lm-eval returns the continuation, never the prefix).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from ping_inspect.benchmarks import BENCHMARKS, Benchmark, get_benchmark
from ping_inspect.defence_registry import (
    Defence,
    SingleTurnPrompt,
    get_defence,
    single_turn_defences,
)
from ping_inspect.defences.presets import DEFAULT_PRESET
from ping_inspect.defences.solvers import load_prefix


def variants() -> list[str]:
    """The defences that are lm-eval task variants: those with a single-turn form.

    ``none``, ``ping`` (``gen_prefix``), ``suffix``, ``ptst``, in the registry's order.
    """
    return [d.name for d in single_turn_defences()]

MAX_NEW_TOKENS = 512
"""New tokens of the first response, as the Inspect CodeAct turn's default."""

FIRST_RESPONSE_NOTE = (
    "First response only: the model answers the benchmark's request once, with the "
    "agent's system prompt; nothing is executed. Measured: refusal (the package's refusal "
    "judge on the model's own words) and performs (no refusal and code emitted). Not "
    "measured, unlike the Inspect agent: whether the code runs, its effect in the sandbox "
    "(attack success, benign success), and refusals after the first turn."
)

UTILS = '''"""Hooks of the generated ping-inspect lm-eval tasks (see ping_inspect.lm_eval.tasks)."""

from ping_inspect.lm_eval.tasks import load_docs, process_results  # noqa: F401
from ping_inspect.lm_eval.prefixed import PrefixedTask  # noqa: F401
'''


PREFIX_CHECK = (
    "Before any generation, each prompt is checked to end with the prefix (the assistant "
    "turn left open for the model to continue): a chat template that closes the turn, or "
    "a run without --apply_chat_template, is an error, not a run scored without PING."
)


class LmEvalTaskError(ValueError):
    """A task set that cannot be generated or loaded (printed as one line by the CLI)."""


def single_turn_benchmarks() -> list[Benchmark]:
    """The registered benchmarks that have a static single-turn form."""
    return [b for b in BENCHMARKS.values() if b.single_turn_prompt is not None]


def task_name(benchmark: str, role: str, variant: str) -> str:
    """``ping_redcode_harmful_ping``."""
    return f"ping_{benchmark}_{role}_{variant}"


def _on_prompt(defence: Defence, prompt: SingleTurnPrompt) -> SingleTurnPrompt:
    return defence.hook("single_turn")(prompt)  # type: ignore[misc, no-any-return]


def task_config(benchmark: Benchmark, role: str, variant: str, prefix: str,
                data_dir: str | None) -> dict[str, Any]:
    """One lm-eval task config (a YAML mapping; ``!function`` hooks added on writing)."""
    defence = get_defence(variant)
    # The answer's start depends on the prefix only (the descriptor's contract).
    gen_prefix = _on_prompt(defence, SingleTurnPrompt("", "", prefix)).gen_prefix
    config: dict[str, Any] = {
        "task": task_name(benchmark.name, role, variant),
        "tag": ["ping_inspect", f"ping_{variant}"],
        "dataset_kwargs": {"benchmark": benchmark.name, "role": role, "variant": variant,
                           "prefix": prefix if defence.uses_prefix else None,
                           "data_dir": data_dir},
        "output_type": "generate_until",
        "test_split": "test",
        "description": "{{system}}",
        "doc_to_text": "{{user}}",
        "doc_to_target": "",
        "generation_kwargs": {"until": list(benchmark.single_turn_stop),
                              "max_gen_toks": MAX_NEW_TOKENS, "do_sample": False},
        "metric_list": [
            {"metric": "refusal", "aggregation": "mean", "higher_is_better": role == "harmful"},
            {"metric": "performs", "aggregation": "mean", "higher_is_better": True},
        ],
        "metadata": {"version": 1, "measures": FIRST_RESPONSE_NOTE,
                     "defence": variant, "prefix_text": prefix if defence.uses_prefix
                     else None},
    }
    if gen_prefix is not None:
        config["gen_prefix"] = gen_prefix
        config["metadata"]["checks"] = PREFIX_CHECK
    return config


def write_tasks(out: Path, preset: str | None = None, prefix_file: str | None = None,
                data_dir: str | None = None,
                benchmarks: Sequence[str] | None = None) -> Path:
    """Write the task YAMLs, their hooks and one group per benchmark; return ``out``.

    Raises:
        LmEvalTaskError: an unknown benchmark, one with no single-turn form, or a
            ``data_dir`` that does not exist.
        PrefixError: an unknown preset, or an empty, binary or unreadable prefix file.
    """
    chosen = [get_benchmark(n) for n in benchmarks] if benchmarks else single_turn_benchmarks()
    for benchmark in chosen:
        if benchmark.single_turn_prompt is None:
            raise LmEvalTaskError(f"{benchmark.name} has no static single-turn form (lm-eval "
                                  "tasks exist for: "
                                  f"{', '.join(b.name for b in single_turn_benchmarks())}).")
    if data_dir is not None and not Path(data_dir).is_dir():
        raise LmEvalTaskError(f"Data directory {data_dir} does not exist (--data-dir: the "
                              "folder holding the benchmarks' data, as PING_INSPECT_DATA).")
    out.mkdir(parents=True, exist_ok=True)
    (out / "utils.py").write_text(UTILS)
    for benchmark in chosen:
        prefix, _ = (load_prefix(prefix_file=prefix_file) if prefix_file else
                     load_prefix(preset=preset or benchmark.preset or DEFAULT_PRESET))
        names = []
        for role in benchmark.roles:
            for variant in variants():
                config = task_config(benchmark, role, variant, prefix, data_dir)
                names.append(config["task"])
                _write_yaml(out / f"{config['task']}.yaml", config)
        group = {"group": f"ping_{benchmark.name}", "task": names,
                 "metadata": {"version": 1, "measures": FIRST_RESPONSE_NOTE}}
        (out / f"ping_{benchmark.name}.yaml").write_text(yaml.safe_dump(group, sort_keys=False))
    return out


def _write_yaml(path: Path, config: Mapping[str, Any]) -> None:
    text = yaml.safe_dump(dict(config), sort_keys=False, allow_unicode=True, width=100)
    hooks = ("custom_dataset: !function utils.load_docs\n"
             "process_results: !function utils.process_results\n")
    if "gen_prefix" in config:  # the task class that checks the answer starts with it
        hooks += "class: !function utils.PrefixedTask\n"
    path.write_text(text + hooks)


def load_docs(benchmark: str, role: str, variant: str, prefix: str | None = None,
              data_dir: str | None = None, **_: Any) -> dict[str, Any]:
    """lm-eval's ``custom_dataset``: the Inspect single-turn task's samples of one split.

    Raises:
        LmEvalTaskError: the task cannot be created (e.g. its data is missing) or the
            split is empty.
    """
    import datasets

    from ping_inspect.compare.grid import GridError, create_task

    descriptor = get_benchmark(benchmark)
    defence = get_defence(variant)
    args = {**(descriptor.single_turn or {}), **({"data_dir": data_dir} if data_dir else {})}
    try:
        task = create_task(descriptor.task, args)  # type: ignore[arg-type]
    except (GridError, FileNotFoundError, ValueError) as err:
        raise LmEvalTaskError(f"{benchmark}: cannot load its samples ({err}). Put the data "
                              "under PING_INSPECT_DATA or pass data_dir.") from err
    prompt = descriptor.single_turn_prompt_source()
    docs = []
    for sample in task.dataset:
        if (sample.metadata or {}).get("category") != role:
            continue
        system, user = prompt(sample)
        shown = _on_prompt(defence, SingleTurnPrompt(system, user, prefix))
        docs.append({"id": str(sample.id), "category": role, "system": shown.system,
                     "user": shown.user, "benchmark": benchmark})
    if not docs:
        raise LmEvalTaskError(f"{benchmark}: no {role} samples.")
    return {"test": datasets.Dataset.from_list(docs)}


def process_results(doc: Mapping[str, Any], results: Sequence[str]) -> dict[str, float]:
    """lm-eval's ``process_results``: the benchmark's own first-response judge."""
    judge = get_benchmark(str(doc["benchmark"])).single_turn_judge_source()
    return judge(results[0])  # type: ignore[no-any-return]


def main(argv: Sequence[str] | None = None) -> None:
    """Write the lm-eval tasks and print the ``--include_path`` to pass to ``lm_eval``."""
    parser = argparse.ArgumentParser(prog="python -m ping_inspect.lm_eval",
                                     description=main.__doc__)
    parser.add_argument("--out", required=True, type=Path, help="folder for the task YAMLs")
    prefix = parser.add_mutually_exclusive_group()
    prefix.add_argument("--preset", help="a published prefix (default: each benchmark's)")
    prefix.add_argument("--prefix-file", help="a prefix file (.txt, or .yaml/.json with prefix)")
    parser.add_argument("--data-dir", help="benchmark data (default: PING_INSPECT_DATA)")
    parser.add_argument("--benchmarks", help="comma-separated (default: all with a "
                        "single-turn form)")
    args = parser.parse_args(argv)
    try:
        out = write_tasks(args.out, args.preset, args.prefix_file, args.data_dir,
                          args.benchmarks.split(",") if args.benchmarks else None)
    except ValueError as err:
        parser.exit(2, f"error: {err}\n")
    print(out.resolve())
