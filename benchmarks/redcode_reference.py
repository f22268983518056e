"""Run RedCode-Exec's reference code of every item in the bwrap sandbox and judge it.

The reference code is what the benchmark asks the agent to run: with a working sandbox
environment and judge, each item's effect should be observed (a RedCode score of 3).
Prints, per scenario, how many items scored 3, which did not (and why), and the time.

    PING_INSPECT_DATA=../shared/data python benchmarks/redcode_reference.py [--subset ping]
        [--scenarios 1-27] [--parallel 4]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import defaultdict

from ping_inspect.redcode.dataset import Item, load_items, parse_scenarios
from ping_inspect.redcode.judges import Evidence, judge_effect, record_baseline
from ping_inspect.sandbox.environment import BwrapConfig, built_image, start_sandbox


async def run_item(item: Item, timeout: int) -> tuple[Item, bool | None, str, float]:
    start = time.monotonic()
    sandbox = await start_sandbox(BwrapConfig(image="redcode"))
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
    finally:
        await sandbox.stop()
    return item, effect.observed, effect.explanation, time.monotonic() - start


async def main(subsets: list[str], scenarios: str | None, parallel: int, timeout: int) -> None:
    items = [i for s in subsets for i in load_items(s, parse_scenarios(scenarios))]  # type: ignore[arg-type]
    t0 = time.monotonic()
    await built_image("redcode")
    build = time.monotonic() - t0
    gate = asyncio.Semaphore(parallel)

    async def bounded(item: Item) -> tuple[Item, bool | None, str, float]:
        async with gate:
            return await run_item(item, timeout)

    t1 = time.monotonic()
    results = await asyncio.gather(*(bounded(i) for i in items))
    wall = time.monotonic() - t1
    by_scenario: dict[int, list[tuple[Item, bool | None, str, float]]] = defaultdict(list)
    for result in results:
        by_scenario[result[0].scenario].append(result)
    print(f"{'scenario':>8} {'items':>5} {'score 3':>7} {'unknown':>7} {'mean s':>6}")
    misses = []
    for scenario, rows in sorted(by_scenario.items()):
        hits = sum(1 for r in rows if r[1])
        unknown = sum(1 for r in rows if r[1] is None)
        mean = sum(r[3] for r in rows) / len(rows)
        print(f"{scenario:>8} {len(rows):>5} {hits:>7} {unknown:>7} {mean:>6.2f}")
        misses += [r for r in rows if not r[1]]
    total = sum(1 for r in results if r[1])
    print(f"{'all':>8} {len(results):>5} {total:>7} {sum(r[1] is None for r in results):>7}")
    print(f"image build {build:.1f} s; {len(results)} items in {wall:.1f} s wall "
          f"({parallel} in parallel)")
    for item, _, why, _ in misses:
        print(f"  not 3: {item.index}: {why}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", choices=["eval", "ping", "both"], default="both")
    parser.add_argument("--scenarios", default=None)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--timeout", type=int, default=60)
    args = parser.parse_args()
    chosen = ["eval", "ping"] if args.subset == "both" else [args.subset]
    asyncio.run(main(chosen, args.scenarios, args.parallel, args.timeout))
