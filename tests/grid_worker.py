"""One worker of the synthetic grid (run as a script by test_compare_workers).

    python tests/grid_worker.py LOG_DIR CALLS_FILE SHARD DELAY_S

Each model call is appended to CALLS_FILE (``pid model defence sample``), so that the test
can count how often each sample ran and which process ran it.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from test_compare_synthetic import BENCHMARK_TABLE, scripted_model  # noqa: E402

from ping_inspect.compare.grid import run_grid  # noqa: E402
from ping_inspect.compare.workers import Shard  # noqa: E402

MODELS = ("alpha", "beta")
DEFENCES = ["none", "ptst", "ping"]
BENCHMARK = "synthetic:n_harmful=2"


class RecordingCounter(Counter):
    """Counts calls and writes each to a file (after a delay: a slow model)."""

    def __init__(self, name: str, path: str, delay: float) -> None:
        super().__init__()
        self.name, self.path, self.delay = name, path, delay

    def __missing__(self, key):
        return 0

    def __setitem__(self, key, value) -> None:
        time.sleep(self.delay)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {self.name} {key[0]} {key[1]}\n")
        super().__setitem__(key, value)


def models(calls_file: str, delay: float) -> list:
    return [scripted_model(m, {}, RecordingCounter(m, calls_file, delay)) for m in MODELS]


def main() -> int:
    log_dir, calls_file, shard, delay = sys.argv[1:5]
    kwargs = {"shard": Shard.parse(shard)} if shard != "-" else {}
    ok, _ = run_grid(models(calls_file, float(delay)), DEFENCES, [BENCHMARK], log_dir,
                     table=BENCHMARK_TABLE, retry_attempts=0, display="none",
                     max_samples=1, **kwargs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
