"""The grid on many workers: N processes on one machine, or N machines on a shared folder.

Every (model, cell) of the grid is a unit of work, named by a hash of the model, the
cell's description and the run's options. A worker claims a unit (``compare.claims``),
runs it as a one-task ``eval_set`` into the shared log folder (so Inspect's own task
identity decides whether it is finished, and resumes a crashed log), marks it done and
releases the claim. Shard ``I/N`` takes its own share first (every N-th unit from the
I-th), then helps with the others; a unit whose worker died is taken again once its claim
is stale. When every unit is done, the worker runs the whole grid's ``eval_set``, which
finds every cell finished, runs nothing, and writes the eval set's manifest for Inspect
View. The report reads the folder as for one worker.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ping_inspect.compare.claims import DEFAULT_LEASE_S, CellClaims

if TYPE_CHECKING:
    from inspect_ai import Task
    from inspect_ai.log import EvalLog
    from inspect_ai.model import Model

    from ping_inspect.compare.grid import Cell

EVAL_SET_ID_FILE = ".eval-set-id"


@dataclass(frozen=True)
class Shard:
    """Worker ``index`` of ``count`` (0-based)."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """Read ``I/N`` (``0/2``, ``1/2``).

        Raises:
            ValueError: not ``I/N`` with 0 <= I < N.
        """
        index, sep, count = text.partition("/")
        try:
            shard = cls(int(index), int(count))
        except ValueError:
            shard = None
        if not sep or shard is None or not 0 <= shard.index < shard.count:
            raise ValueError(f"--shard {text}: give I/N with 0 <= I < N, e.g. 0/2 and 1/2.")
        return shard

    def order(self, n_units: int) -> list[int]:
        """Unit indices in this shard's order: its own share, then the others'."""
        own = list(range(self.index, n_units, self.count))
        return own + [i for i in range(n_units) if i % self.count != self.index]


def unit_key(model: str, cell: Cell, options: Mapping[str, Any]) -> str:
    """A unit's claim name: hash of its model, cell and the run's options."""
    text = json.dumps({"model": model, "cell": cell.describe(), "options": dict(options)},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def shared_eval_set_id(log_dir: str) -> str:
    """The log folder's eval set id, created once however many workers start at once."""
    import uuid

    path = os.path.join(log_dir, EVAL_SET_ID_FILE)
    os.makedirs(log_dir, exist_ok=True)
    tmp = f"{path}.{uuid.uuid4().hex}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(uuid.uuid4().hex)
    try:
        os.link(tmp, path)  # exclusive: the first worker's id wins
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    with open(path, encoding="utf-8") as handle:
        return handle.read().strip()


def work_grid(
    models: Sequence[str | Model],
    cells: Sequence[Cell],
    tasks: Sequence[Task],
    log_dir: str,
    shard: Shard,
    lease_s: float = DEFAULT_LEASE_S,
    poll_s: float = 1.0,
    **eval_set_args: Any,
) -> tuple[bool, list[EvalLog]]:
    """Run this worker's part of the grid (see the module); whether every unit is done.

    Args:
        models: The grid's models.
        cells: The grid's cells (``plan_cells``), in the same order in every worker.
        tasks: Each cell's task.
        log_dir: The shared log folder.
        shard: This worker.
        lease_s: A claim whose heartbeat is older than this is taken again.
        poll_s: How often to look again at units other workers hold.
        **eval_set_args: As for ``run_grid``.
    """
    from inspect_ai import eval_set

    from ping_inspect.compare.grid import _model_name

    claims = CellClaims(log_dir, lease_s=lease_s)
    set_id = shared_eval_set_id(log_dir)
    identity = {k: v for k, v in eval_set_args.items()
                if k not in ("display", "log_level", "max_samples", "max_tasks",
                             "max_connections", "retry_attempts")}
    units = [(m, c, t) for c, t in zip(cells, tasks, strict=True) for m in models]
    keys = [unit_key(_model_name(m), c, identity) for m, c, _ in units]
    pending = shard.order(len(units))
    tried: set[int] = set()
    while pending:
        progressed = False
        for index in list(pending):
            key = keys[index]
            if claims.is_done(key) or index in tried:
                pending.remove(index)
                continue
            claim = claims.claim(key)
            if claim is None:
                continue
            model, cell, task = units[index]
            _say(shard, f"running {_model_name(model)} {cell.benchmark} [{cell.defence}]")
            try:
                ok, logs = eval_set(tasks=[task], model=[model], log_dir=log_dir,
                                    eval_set_id=set_id, log_dir_allow_dirty=True,
                                    **eval_set_args)
                if ok:
                    claims.mark_done(key, log=logs[0].location if logs else None)
            finally:
                claim.release()
            tried.add(index)
            pending.remove(index)
            progressed = True
        if pending and not progressed:
            time.sleep(poll_s)
    if not all(claims.is_done(k) for k in keys):
        return False, []
    # Every cell finished: the whole grid's eval_set runs nothing and writes the manifest.
    return eval_set(tasks=list(tasks), model=list(models), log_dir=log_dir,
                    eval_set_id=set_id, log_dir_allow_dirty=True, **eval_set_args)


def _say(shard: Shard, text: str) -> None:
    print(f"ping-inspect worker {shard.index}/{shard.count} (pid {os.getpid()}): {text}",
          file=sys.stderr, flush=True)


def _worker_main(grid_args: dict[str, Any], shard: Shard) -> None:
    from ping_inspect.compare.grid import run_grid

    ok, _ = run_grid(**grid_args, shard=shard)
    sys.exit(0 if ok else 1)


def run_workers(grid_args: dict[str, Any], workers: int) -> bool:
    """Run the grid on ``workers`` processes of this machine; whether every cell finished.

    Args:
        grid_args: ``run_grid``'s arguments (models as names: they cross a process).
        workers: How many processes.
    """
    if any(not isinstance(m, str) for m in grid_args["models"]):
        raise ValueError("--workers needs models given by name (they start in new processes).")
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_worker_main, args=(grid_args, Shard(i, workers)))
                 for i in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return all(p.exitcode == 0 for p in processes)
