"""Wall time of ``ping-inspect compare --workers 2`` against one worker, same grid.

    python benchmarks/compare_workers.py                       # SmolLM2, 8 cells
    python benchmarks/compare_workers.py --limit 2 --max-tokens 64

The grid: RedCode-Exec's optimisation items, first responses, scenarios 1-4 (one
benchmark each) x defences none and ping = 8 cells, on the embedded model
(``transformers/smollm2``, greedy). Each side runs the ``compare`` command in a fresh log
folder, each process with one torch thread (OMP_NUM_THREADS=1). Prints the wall times,
their ratio (target: at most 0.6 on 2 cores) and whether both report the same outcome
(success and refusal of every sample of every cell). The load average before and after
is printed: on a machine shared with other work the ratio says little.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ping_inspect.report.logs import load_cells


def grid_command(log_dir: Path, args: argparse.Namespace, workers: int) -> list[str]:
    benchmarks = ";".join(f"redcode:subset=ping,first_response=true,scenarios={s}"
                          for s in range(1, args.scenarios + 1))
    return [sys.executable, "-m", "ping_inspect.cli", "compare", "--models", args.model,
            "--defences", "none,ping", "--benchmarks", benchmarks, "--log-dir", str(log_dir),
            "--limit", str(args.limit), "--max-tokens", str(args.max_tokens),
            "--temperature", "0", "--display", "none", "--workers", str(workers)]


def outcomes(log_dir: Path) -> dict:
    return {c.key: (c.status, [(s.success, s.refusal) for s in c.samples])
            for c in load_cells(log_dir)}


def timed(command: list[str]) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    start = time.monotonic()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="transformers/smollm2")
    parser.add_argument("--scenarios", type=int, default=4, help="benchmarks (x2 defences)")
    parser.add_argument("--limit", type=int, default=1, help="samples per cell")
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}  cpus: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        one, many = Path(tmp) / "one", Path(tmp) / "many"
        t_one = timed(grid_command(one, args, 1))
        t_many = timed(grid_command(many, args, args.workers))
        same = outcomes(one) == outcomes(many)
        cells = len(outcomes(one))
    print(f"load average after: {os.getloadavg()}")
    print(f"\n| workers | cells | wall s | ratio |\n|---|---|---|---|\n"
          f"| 1 | {cells} | {t_one:.1f} | 1.00 |\n"
          f"| {args.workers} | {cells} | {t_many:.1f} | {t_many / t_one:.2f} |")
    print(f"\nsame outcomes in every cell: {same} (target ratio <= 0.6)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
