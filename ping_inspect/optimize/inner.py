"""The inner evaluation process: ``python -m ping_inspect.optimize.inner SPEC.json``.

It runs one batch of candidates with ``eval_set`` in the batch's folder (one task per
candidate and source: the benchmark's task with the ``ping`` solver and the candidate's
prefix, on the batch's samples, scored by the search's fitness) against one target model
(greedy unless the target's configuration sets a temperature), then writes ``results.json``
next to the spec: per task, its log, status, token use and each sample's scores. Run
again on the same spec, ``eval_set`` skips the candidates that finished and resumes the
others. The process exits when the process that started it dies.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ping_inspect.optimize.state import write_atomically

TASK_METADATA_KEY = "ping_optimize"
"""Key of a candidate's description in its task's metadata (and its log's)."""

RETRY_WAIT_SECONDS = 2


def _exit_with_parent() -> None:
    """Exit when the parent dies, so that a killed search leaves no evaluation running."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def build_task(entry: dict[str, Any]) -> Any:
    """Create the benchmark's task with the candidate's prefix, on the entry's samples."""
    from inspect_ai import task_with

    from ping_inspect.compare.grid import create_task
    from ping_inspect.defences.catalog.ping import ping
    from ping_inspect.optimize.fitness import SearchFitness, candidate_fitness, parse_fitness

    task = create_task(entry["task"], entry["args"])
    wanted = {str(i) for i in entry["sample_ids"]}
    dataset = task.dataset.filter(lambda sample: str(sample.id) in wanted)
    found = {str(sample.id) for sample in dataset}
    if found != wanted:
        raise ValueError(f"{entry['task']} has no samples {sorted(wanted - found)[:5]}.")
    describe = {k: entry[k] for k in ("candidate", "source", "prefix", "fitness")}
    fitness = parse_fitness(entry["fitness"])
    scoring: dict[str, Any] = {}
    if fitness != SearchFitness.EVALUATION:  # evaluation: the benchmark's own scorer
        scoring["scorer"] = candidate_fitness(fitness.value, entry["fitness_domain"])
    task = task_with(
        task,
        dataset=dataset,
        solver=ping(prefix=entry["prefix"]),
        metadata={**(task.metadata or {}), TASK_METADATA_KEY: describe},
        **scoring,
    )
    if hasattr(task, "_display_name"):  # what Inspect View lists the log as
        task._display_name = f"{entry['candidate']} {entry['source']}"
    return task


def _sample_result(sample: Any) -> dict[str, Any]:
    scores = {name: score.value for name, score in (sample.scores or {}).items()}
    generations = sum(1 for m in sample.messages if m.role == "assistant")
    error = sample.error.message if sample.error else None
    return {"id": str(sample.id), "scores": scores, "generations": generations,
            "error": error}


def collect(logs: list[Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Read the results of the batch's tasks from their logs."""
    from inspect_ai.log import read_eval_log

    by_task: dict[tuple[str, str], Any] = {}
    for log in logs:
        described = (log.eval.metadata or {}).get(TASK_METADATA_KEY) or {}
        by_task[(described.get("candidate"), described.get("source"))] = log
    tasks = []
    for entry in entries:
        header = by_task.get((entry["candidate"], entry["source"]))
        result: dict[str, Any] = {"candidate": entry["candidate"], "source": entry["source"],
                                  "status": "missing", "samples": [], "tokens": 0}
        if header is not None:
            log = read_eval_log(header.location)
            result.update(
                log=log.location,
                status=log.status,
                error=log.error.message if log.error else None,
                samples=[_sample_result(s) for s in log.samples or []],
                tokens=sum(u.total_tokens for u in log.stats.model_usage.values()),
            )
        tasks.append(result)
    return {"tasks": tasks}


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the batch described by ``spec`` and return its results."""
    from inspect_ai import eval_set
    from inspect_ai.model import GenerateConfig, get_model

    for module in spec.get("imports") or []:
        importlib.import_module(module)
    entries = spec["tasks"]
    tasks = [build_task(entry) for entry in entries]
    target = spec["target"]
    roles = {
        role: get_model(model["name"], config=GenerateConfig(**(model.get("config") or {})),
                        base_url=model.get("base_url"), **(model.get("args") or {}))
        for role, model in (spec.get("roles") or {}).items()
    }
    _, logs = eval_set(
        tasks=tasks,
        log_dir=spec["log_dir"],
        model=target["name"],
        model_args=target.get("args") or {},
        model_base_url=target.get("base_url"),
        max_tasks=spec.get("max_tasks"),
        retry_attempts=spec.get("retry_attempts", 2),
        retry_on_error=spec.get("retry_on_error", 1),
        retry_wait=RETRY_WAIT_SECONDS,
        display="none",
        model_roles=roles or None,
        **(target.get("config") or {}),
    )
    return collect(logs, entries)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the spec file given as the only argument."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m ping_inspect.optimize.inner SPEC.json", file=sys.stderr)
        return 2
    _exit_with_parent()
    spec_file = Path(args[0])
    results = run(json.loads(spec_file.read_text(encoding="utf-8")))
    write_atomically(spec_file.parent / "results.json", json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
