"""WebDojo environment cost, without a model: browser action plus observation per step.

Plays the reference action sequences (one benign validation task per site, one harmful
task) in fresh browser contexts, timing each step from the action to the next
observation (execute, settle, number the elements, render, check the criteria). Also
times the browser's start and a sample's context plus start page, and, with ``--eval``,
the wall time of a whole validation-subset eval with a scripted model.

    PING_INSPECT_DATA=../shared/data python benchmarks/webdojo_env_cost.py [--rounds 3] [--eval]

Target (issue 3): median step cost at most 150 ms on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from ping_inspect.webdojo import reference
from ping_inspect.webdojo.actions import parse_action
from ping_inspect.webdojo.criteria import check_criteria
from ping_inspect.webdojo.dataset import webdojo_root, webdojo_samples
from ping_inspect.webdojo.environment import current_environment, shutdown_environment


async def measure(rounds: int) -> tuple[float, list[float], dict[str, list[float]]]:
    """Time the reference sequences; the first pass warms the browser up and is not kept."""
    root = webdojo_root()
    samples = {s.id: s for s in webdojo_samples(root, "both", "validation")}
    ids = [*reference.BENIGN_ONE_PER_SITE, reference.HARMFUL_CARRIED_OUT]
    environment = current_environment()
    started = time.perf_counter()
    await environment.browser()
    launch = time.perf_counter() - started
    opens: list[float] = []
    steps: dict[str, list[float]] = {}
    try:
        for round_ in range(rounds + 1):
            keep = round_ > 0
            for sample_id in ids:
                sample = samples[sample_id]
                website = sample.metadata["website"]
                async with environment.session(root / "websites", seed=1) as session:
                    began = time.perf_counter()
                    page = await session.open(sample.metadata["start_path"])
                    page.render()
                    if keep:
                        opens.append(time.perf_counter() - began)
                    for step in reference.SEQUENCES[sample_id]:
                        try:
                            action = parse_action(step(page.render()))
                        except ValueError:
                            continue  # the deliberately malformed answer: no browser work
                        began = time.perf_counter()
                        await session.execute(action)
                        page = await session.observe()
                        page.render()
                        check_criteria(sample.metadata["criteria"], page)
                        if keep:
                            steps.setdefault(website, []).append(time.perf_counter() - began)
    finally:
        await shutdown_environment()
    return launch, opens, steps


def eval_wall_time() -> tuple[float, str]:
    from inspect_ai import eval
    from inspect_ai.model import get_model

    from ping_inspect.webdojo.task import webdojo_task

    goals = {s.input: s.id for s in webdojo_samples(webdojo_root(), "both", "validation")}
    model = get_model("mockllm/model", custom_outputs=reference.scripted_agent(goals),
                      memoize=False)
    began = time.perf_counter()
    [log] = eval(webdojo_task(subset="validation"), model=model, display="none", log_dir=None)
    wall = time.perf_counter() - began
    rates = {
        f"{score.name}/{name.rsplit('_', 1)[-1]}": metric.value
        for score in (log.results.scores if log.results else [])
        for name, metric in score.metrics.items()
        if "stderr" not in name and score.name in ("success", "refusal")
    }
    summary = ", ".join(f"{k}={v:.2f}" for k, v in sorted(rates.items()))
    return wall, f"{log.status}; {len(log.samples or [])} samples; {summary}"


def ms(values: list[float]) -> str:
    return f"{1000 * statistics.median(values):7.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--eval", action="store_true", help="also time a validation eval")
    args = parser.parse_args()
    launch, opens, steps = asyncio.run(measure(args.rounds))
    every = [t for values in steps.values() for t in values]
    print(f"browser start: {1000 * launch:.0f} ms")
    print(f"context + start page (median of {len(opens)}): {ms(opens).strip()} ms")
    print(f"\n{'site':<14}{'steps':>6}{'median ms':>11}{'max ms':>8}")
    for site, values in steps.items():
        print(f"{site:<14}{len(values):>6}{ms(values):>11}{1000 * max(values):>8.0f}")
    p90 = sorted(every)[int(0.9 * (len(every) - 1))]
    print(f"{'all':<14}{len(every):>6}{ms(every):>11}{1000 * max(every):>8.0f}"
          f"   (p90 {1000 * p90:.0f} ms; target: median <= 150 ms)")
    if args.eval:
        wall, summary = eval_wall_time()
        print(f"\nvalidation eval with a scripted model: {wall:.1f} s wall ({summary})")


if __name__ == "__main__":
    main()
