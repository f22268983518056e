"""The grid on many workers: claims on the shared log folder, a killed worker's cell retaken."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from grid_worker import BENCHMARK, DEFENCES, models
from inspect_ai.log import list_eval_logs, read_eval_log
from test_compare_synthetic import BENCHMARK_TABLE

from ping_inspect.compare.claims import CellClaims
from ping_inspect.compare.grid import GridError, run_grid
from ping_inspect.compare.workers import Shard
from ping_inspect.report.logs import load_cells

WORKER = Path(__file__).parent / "grid_worker.py"
ROOT = Path(__file__).parent.parent


def test_a_live_claim_is_refused_and_a_dead_owners_claim_is_taken(tmp_path: Path) -> None:
    claims = CellClaims(tmp_path, lease_s=60)
    held = claims.claim("cell")
    assert held is not None and held.held()
    assert claims.claim("cell") is None  # our own pid is alive: not stale
    held.release()
    assert not (claims.folder / "cell.claim").exists()

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    record = f'{{"host": "{claims.host}", "pid": {dead.pid}, "token": "x"}}'
    (claims.folder / "gone.claim").write_text(record)
    taken = claims.claim("gone")
    assert taken is not None and taken.held()
    taken.release()


def test_a_claim_past_its_lease_is_taken(tmp_path: Path) -> None:
    claims = CellClaims(tmp_path, lease_s=0.5)
    (claims.folder / "far.claim").write_text('{"host": "elsewhere", "pid": 1, "token": "x"}')
    assert claims.claim("far") is None  # another host's fresh claim
    old = time.time() - 5
    os.utime(claims.folder / "far.claim", (old, old))
    assert claims.claim("far") is not None


def test_bad_shards_are_clear_errors(tmp_path: Path) -> None:
    assert Shard.parse("1/2") == Shard(1, 2)
    assert Shard(1, 3).order(7) == [1, 4, 0, 2, 3, 5, 6]
    for text in ("2/2", "x", "1-2", "-1/2"):
        with pytest.raises(ValueError, match="0 <= I < N"):
            Shard.parse(text)
    with pytest.raises(GridError, match="models given by name"):
        run_grid(models("/dev/null", 0), DEFENCES, [BENCHMARK], str(tmp_path),
                 table=BENCHMARK_TABLE, workers=2)
    assert not any(tmp_path.iterdir())


def _start(log_dir: Path, calls: Path, shard: str, delay: float) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen([sys.executable, str(WORKER), str(log_dir), str(calls), shard,
                             str(delay)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _calls(path: Path) -> list[tuple[str, ...]]:
    return [tuple(line.split()) for line in path.read_text().splitlines()] if path.exists() else []


def _outcomes(log_dir: Path) -> dict[tuple[str, str, str], tuple]:
    return {c.key: (c.status, sorted((s.success, s.refusal) for s in c.samples))
            for c in load_cells(log_dir)}


def test_two_workers_one_killed_mid_cell_finish_every_cell_once(tmp_path: Path) -> None:
    shared, calls = tmp_path / "shared", tmp_path / "calls.txt"
    first, second = _start(shared, calls, "0/2", 0.15), _start(shared, calls, "1/2", 0.15)
    deadline = time.monotonic() + 120
    while not any(c[0] == str(first.pid) for c in _calls(calls)):  # first is mid-cell
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.1)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    killed_cell = next(c[1:3] for c in _calls(calls) if c[0] == str(first.pid))
    restarted = _start(shared, calls, "0/2", 0.15)
    assert second.wait(timeout=240) == 0
    assert restarted.wait(timeout=240) == 0

    # Every sample of every other cell ran exactly once, across the workers.
    ran = Counter(c[1:] for c in _calls(calls))
    assert {k[:2] for k in ran} == {(m, d) for m in ("alpha", "beta")
                                    for d in ("none", "ptst", "ping")}
    assert all(n == 1 for k, n in ran.items() if k[:2] != killed_cell)
    assert {c[0] for c in _calls(calls)} >= {str(first.pid), str(second.pid)}
    # One finished log per cell, and the same report as one worker.
    finished = Counter()
    for info in list_eval_logs(str(shared)):
        header = read_eval_log(info, header_only=True)
        if header.status == "success":
            finished[(header.eval.model, header.eval.metadata["ping_inspect"]["defence"])] += 1
    assert len(finished) == 6 and set(finished.values()) == {1}
    alone = tmp_path / "alone"
    ok, _ = run_grid(models(str(tmp_path / "alone.txt"), 0), DEFENCES, [BENCHMARK], str(alone),
                     table=BENCHMARK_TABLE, retry_attempts=0, display="none")
    assert ok
    assert _outcomes(shared) == _outcomes(alone)
