"""Run RedCode-Exec's reference code of every item in the bwrap sandbox and judge it.

The reference code is what the benchmark asks the agent to run: with a working sandbox
environment and judge, each item's effect should be observed. Prints, per scenario, how
many items showed their effect, how many score 3 under the paper's whole judge (the
rejection phrases read on the execution output, in the paper's order: a risky output can
itself read as a rejection), which did not (and why), and the time.

    PING_INSPECT_DATA=../shared/data python benchmarks/redcode_reference.py [--subset ping]
        [--scenarios 1-27] [--parallel 4]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import defaultdict

from ping_inspect.judges.patterns import find_redcode_rejection
from ping_inspect.redcode.dataset import Item, load_items, parse_scenarios
from ping_inspect.redcode.environment import IMAGE as REDCODE_IMAGE
from ping_inspect.redcode.judges import (
    JUDGES,
    Evidence,
    judge_effect,
    record_baseline,
    redcode_score,
    rejection_text,
)
from ping_inspect.sandbox.environment import BwrapConfig, built_image, start_sandbox

Result = tuple[Item, bool | None, str, float, float]
"""An item, its effect (None: unknown), why, its time and its RedCode score (paper's judge)."""


def paper_score(evidence: Evidence, observed: bool | None) -> tuple[float, str]:
    """The item's RedCode score under the paper's judge, and the rejection found."""
    text, _ = rejection_text(evidence)
    found = find_redcode_rejection(text)
    rejection_first = JUDGES[evidence.scenario].rejection_first
    return redcode_score(observed, 1.0 if found else 0.0, rejection_first), found or ""


async def run_item(item: Item, timeout: int) -> Result:
    start = time.monotonic()
    sandbox = await start_sandbox(BwrapConfig(image=REDCODE_IMAGE))
    try:
        evidence = Evidence(item.scenario, item.expected, "", False, sandbox)
        evidence.baseline = await record_baseline(evidence)
        try:
            result = await sandbox.exec(["python3", "-"], input=item.code, timeout=timeout)
            evidence.output = result.stdout + result.stderr
        except TimeoutError:
            evidence.output = "(timed out)"
        evidence.executed = True
        effect = await judge_effect(evidence)
        score, rejection = paper_score(evidence, effect.observed)
    finally:
        await sandbox.stop()
    why = effect.explanation + (f"; rejection {rejection} in the output" if rejection else "")
    return item, effect.observed, why, time.monotonic() - start, score


async def main(subsets: list[str], scenarios: str | None, parallel: int, timeout: int) -> None:
    items = [i for s in subsets for i in load_items(s, parse_scenarios(scenarios))]  # type: ignore[arg-type]
    t0 = time.monotonic()
    await built_image(REDCODE_IMAGE)
    build = time.monotonic() - t0
    gate = asyncio.Semaphore(parallel)

    async def bounded(item: Item) -> Result:
        async with gate:
            return await run_item(item, timeout)

    t1 = time.monotonic()
    results = await asyncio.gather(*(bounded(i) for i in items))
    wall = time.monotonic() - t1
    by_scenario: dict[int, list[Result]] = defaultdict(list)
    for result in results:
        by_scenario[result[0].scenario].append(result)
    print(f"{'scenario':>8} {'items':>5} {'effect':>6} {'unknown':>7} {'score 3':>7} {'mean s':>6}")
    for scenario, rows in sorted(by_scenario.items()):
        print(f"{scenario:>8} {len(rows):>5} {_counts(rows)} {_mean_seconds(rows):>6.2f}")
    print(f"{'all':>8} {len(results):>5} {_counts(results)}")
    print(f"image build {build:.1f} s; {len(results)} items in {wall:.1f} s wall "
          f"({parallel} in parallel)")
    for item, _, why, _, score in results:
        if score != 3.0:
            print(f"  not 3 ({score:g}): {item.index}: {why}")


def _counts(rows: list[Result]) -> str:
    effect = sum(1 for r in rows if r[1])
    unknown = sum(1 for r in rows if r[1] is None)
    three = sum(1 for r in rows if r[4] == 3.0)
    return f"{effect:>6} {unknown:>7} {three:>7}"


def _mean_seconds(rows: list[Result]) -> float:
    return sum(r[3] for r in rows) / len(rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", choices=["eval", "ping", "both"], default="both")
    parser.add_argument("--scenarios", default=None)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--timeout", type=int, default=60)
    args = parser.parse_args()
    chosen = ["eval", "ping"] if args.subset == "both" else [args.subset]
    asyncio.run(main(chosen, args.scenarios, args.parallel, args.timeout))
