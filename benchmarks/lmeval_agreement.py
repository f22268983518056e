"""Same items, same greedy model: lm-eval's tasks against Inspect's first-response tasks.

Runs the embedded SmolLM2-135M through ``lm_eval``'s ``hf`` model on the generated
ping-inspect tasks, and through Inspect's ``transformers/smollm2`` provider on the same
benchmarks' first-response tasks (``first_response=true``), each without a defence and
with PING (``gen_prefix`` / ``--solver ping``), then prints one row per benchmark and
defence: items, refusals each way, the agreement rate, and every disagreement with both
responses' opening words.

    PING_INSPECT_DATA=../shared/data python benchmarks/lmeval_agreement.py --limit 10 \
        [--benchmarks redcode,nearmiss]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

DEFENCES = ("none", "ping")


def lm_eval_verdicts(include: Path, tasks: list[str], limit: int,
                     max_tokens: int) -> dict[str, dict[str, Any]]:
    """``{task: {doc id: (refusal, response)}}`` from lm-eval's logged samples."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from ping_inspect.models.smollm2 import ensure_smollm2

    results = simple_evaluate(
        model="hf", model_args=f"pretrained={ensure_smollm2()},dtype=float32", device="cpu",
        tasks=tasks,
        apply_chat_template=True, limit=limit, log_samples=True,
        gen_kwargs={"max_gen_toks": max_tokens},
        task_manager=TaskManager(include_path=str(include)))
    assert results is not None
    return {task: {s["doc"]["id"]: (s["refusal"], s["filtered_resps"][0])
                   for s in samples} for task, samples in results["samples"].items()}


def inspect_verdicts(benchmark: str, defence: str, limit: int,
                     max_tokens: int) -> dict[str, Any]:
    """``{sample id: (refusal, response)}`` from Inspect's first-response task."""
    from inspect_ai import eval as inspect_eval

    from ping_inspect.benchmarks import get_benchmark
    from ping_inspect.compare.grid import create_task
    from ping_inspect.defences import no_defence, ping

    descriptor = get_benchmark(benchmark)
    task = create_task(str(descriptor.task),
                       {**(descriptor.single_turn or {}), "max_tokens": max_tokens})
    solver = ping(preset=descriptor.preset) if defence == "ping" else no_defence()
    [log] = inspect_eval(task, model="transformers/smollm2", solver=solver, limit=limit,
                         display="none", log_dir=tempfile.mkdtemp())
    out = {}
    for sample in log.samples or []:
        score = next(iter((sample.scores or {}).values()))
        out[str(sample.id)] = (float(score.value["refusal"]), score.answer or "")
    return out


def main() -> None:
    """Print the agreement table."""
    from ping_inspect.benchmarks import get_benchmark
    from ping_inspect.lm_eval.tasks import task_name, write_tasks

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--limit", type=int, default=10, help="items per benchmark and split")
    parser.add_argument("--benchmarks", default="redcode,nearmiss")
    parser.add_argument("--max-tokens", type=int, default=512,
                        help="new tokens of each response, both ways (the tasks' 512 by "
                             "default; fewer on a slow CPU)")
    args = parser.parse_args()
    names = args.benchmarks.split(",")
    include = write_tasks(Path(tempfile.mkdtemp()), benchmarks=names)
    tasks = [task_name(n, role, d) for n in names for role in get_benchmark(n).roles
             for d in DEFENCES]
    lm = lm_eval_verdicts(include, tasks, args.limit, args.max_tokens)
    print("| benchmark | split | defence | items | refusals lm-eval | refusals Inspect "
          "| agreement | same first 80 characters |")
    print("|---|---|---|---|---|---|---|---|")
    notes = []
    for name in names:
        for role in get_benchmark(name).roles:
            for defence in DEFENCES:
                ours = lm[task_name(name, role, defence)]
                theirs = inspect_verdicts(name, defence, args.limit, args.max_tokens)
                ids = [i for i in ours if i in theirs]
                same = [i for i in ids if ours[i][0] == theirs[i][0]]
                opening = [i for i in ids
                           if ours[i][1].strip()[:80] == theirs[i][1].strip()[:80]]
                print(f"| {name} | {role} | {defence} | {len(ids)} "
                      f"| {sum(ours[i][0] for i in ids):.0f} "
                      f"| {sum(theirs[i][0] for i in ids):.0f} "
                      f"| {len(same) / len(ids):.0%} | {len(opening)}/{len(ids)} |"
                      if ids else "| no common items |")
                for i in ids:
                    if i not in same:
                        notes.append(f"- {name}/{defence}/{i}: lm-eval {ours[i][0]:.0f} "
                                     f"{ours[i][1][:80]!r} vs Inspect {theirs[i][0]:.0f} "
                                     f"{theirs[i][1][:80]!r}")
    print("\n".join(["", "Disagreements:", *notes]) if notes else "\nNo disagreement.")


if __name__ == "__main__":
    main()
