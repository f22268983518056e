"""The models x defences x benchmarks grid, run with ``eval_set`` (``compare.cli`` is its command).

Each cell of the grid (a benchmark with its task arguments, one defence) is its own task,
with the defence solver built into it: its identity for Inspect's ``eval_set`` is then the
task, its arguments, the defence solver with its arguments (the prefix text included),
the model and the generation settings. Running the same command again therefore skips
every finished cell and re-runs only the cells whose log is missing or failed (finished
samples of a failed cell are reused). The guard model is bound per cell, only for the
cells that use the guard, so adding ``guard`` later does not re-run the other cells.

Every cell records what it is in the log's eval metadata (key ``ping_inspect``:
benchmark, defence, prefix and its source, prefill mode asked for); the samples record
the defence, prefix and prefill mode actually used (see ``docs/CONVENTIONS.md``). The
grid is also listed in ``ping-inspect-grid.yaml`` in the log directory, so that the
report can show the cells that never produced a log as missing.
"""

from __future__ import annotations

import inspect as pyinspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ping_inspect.benchmarks import BENCHMARKS, Benchmark, UnknownBenchmarkError, get_benchmark
from ping_inspect.contracts import REQUESTED_MODES
from ping_inspect.defence_registry import DefenceSet

if TYPE_CHECKING:
    from inspect_ai import Task
    from inspect_ai.log import EvalLog
    from inspect_ai.model import Model
    from inspect_ai.solver import Solver

    from ping_inspect.compare.workers import Shard

CELL_METADATA_KEY = "ping_inspect"
"""Key of a cell's description in the eval metadata of its log."""

GRID_FILE = "ping-inspect-grid.yaml"
"""The grid's cells, written into the log directory for the report."""

PREFILL_MODES = REQUESTED_MODES


class GridError(ValueError):
    """A grid that cannot be built from the arguments given."""


@dataclass(frozen=True)
class BenchmarkChoice:
    """One benchmark of a grid, as the user named it."""

    label: str
    """What the user wrote (``redcode:subset=ping``): the benchmark's name in the report."""

    name: str
    """The benchmark's key in the table (``redcode``)."""

    args: dict[str, Any]
    """The task arguments given after the colon."""


@dataclass(frozen=True)
class Cell:
    """One benchmark under one defence (the models are crossed in by ``eval_set``)."""

    benchmark: str
    defence: str
    task_args: dict[str, Any]
    prefix: str | None
    prefix_source: str | None
    prefill_mode: str | None
    guard_model: str | Model | None

    def describe(self) -> dict[str, Any]:
        """Return the cell as recorded in its log's eval metadata and in the grid file."""
        return {
            "benchmark": self.benchmark,
            "defence": self.defence,
            "task_args": self.task_args,
            "prefix": self.prefix,
            "prefix_source": self.prefix_source,
            "prefill_mode": self.prefill_mode,
            "guard_model": _model_name(self.guard_model) if self.guard_model else None,
        }


def parse_value(text: str) -> Any:
    """Read a command-line value the way Inspect reads ``-T`` values (YAML scalars)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def parse_assignments(items: Sequence[str], what: str) -> dict[str, Any]:
    """Parse ``key=value`` items into a dict of YAML-read values."""
    parsed: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise GridError(f"{what} '{item}' is not of the form key=value.")
        parsed[key.strip()] = parse_value(value.strip())
    return parsed


def parse_benchmark(spec: str, table: Mapping[str, Benchmark] = BENCHMARKS) -> BenchmarkChoice:
    """Parse ``name`` or ``name:key=value,key=value`` (values cannot hold commas)."""
    name, _, overrides = spec.strip().partition(":")
    name = name.strip()
    grid = {n: b for n, b in table.items() if b.task is not None}
    try:
        get_benchmark(name, grid)
    except UnknownBenchmarkError as err:
        raise GridError(str(err)) from err
    items = [i for i in overrides.split(",") if i.strip()]
    return BenchmarkChoice(spec.strip(), name, parse_assignments(items, "Benchmark argument"))


def per_benchmark(values: Sequence[str] | None, choices: Sequence[BenchmarkChoice],
                  option: str) -> dict[str, str]:
    """Spread ``VALUE`` (every benchmark) and ``BENCH=VALUE`` items over the benchmarks.

    ``BENCH`` is a benchmark's label (``redcode:subset=ping``) or name (``redcode``);
    later items win.
    """
    chosen: dict[str, str] = {}
    for value in values or []:
        for item in (v.strip() for v in value.split(",") if v.strip()):
            targeted = {c.label: item[len(key) + 1:].strip()
                        for c in choices for key in dict.fromkeys((c.label, c.name))
                        if item.startswith(f"{key}=")}
            key = item.split("=", 1)[0]
            if not targeted and "=" in item and key.isidentifier():
                raise GridError(f"{option} {item}: '{key}' is not a benchmark of this grid.")
            chosen.update(targeted or {c.label: item for c in choices})
    return chosen


def defence_solver(defence: str, prefix: str | None = None, mode: str = "auto") -> Solver:
    """Return the solver of one defence name (``none``, ``ping``, ``ping+guard``, ...).

    A single defence gets its own named solver (``ping_inspect/ping``), which is what
    Inspect View shows in the plan; a combination gets ``defend``.

    Args:
        defence: Defence names joined with ``+``.
        prefix: The prefix text for ``ping`` or ``suffix``.
        mode: How ``ping`` delivers the prefix (``auto``, ``native``, ``user_suffix``).
    """
    from ping_inspect.defence_registry import DEFENCES, NO_DEFENCE
    from ping_inspect.defences.solvers import defend, parse_defences

    names = parse_defences(defence)
    prefix_args: dict[str, Any] = {"prefix": prefix}
    if len(names) > 1:
        if mode != "auto":  # left out when default, so that the cell's identity stays short
            prefix_args["mode"] = mode
        return defend(defences=names.label, **(prefix_args if names.uses_prefix else {}))
    factory = DEFENCES[names[0] if names else NO_DEFENCE].solver_factory()
    if not names.uses_prefix:
        return factory()
    if mode != "auto" and "mode" in pyinspect.signature(factory).parameters:
        prefix_args["mode"] = mode
    return factory(**prefix_args)


def _canonical_defence(defence: str) -> str:
    from ping_inspect.defences.solvers import parse_defences

    try:
        return parse_defences(defence).label
    except ValueError as err:
        raise GridError(str(err)) from err


def plan_cells(
    benchmarks: Sequence[str],
    defences: Sequence[str],
    presets: Sequence[str] | None = None,
    prefix_files: Sequence[str] | None = None,
    prefill_mode: str = "auto",
    guard_model: str | Model | None = None,
    task_args: Mapping[str, Any] | None = None,
    table: Mapping[str, Benchmark] = BENCHMARKS,
) -> list[Cell]:
    """Describe the grid's cells (no task is created yet).

    Args:
        benchmarks: Benchmark specs (``webdojo``, ``redcode:subset=ping``).
        defences: Defence names (``none``, ``ptst``, ``ping``, ``ping+guard``, ...).
        presets: Prefix presets: ``NAME`` for every benchmark or ``bench=NAME``.
        prefix_files: Prefix files: ``PATH`` for every benchmark or ``bench=PATH``.
        prefill_mode: How ``ping`` delivers its prefix.
        guard_model: The model bound to the ``guard`` role of the guard cells.
        task_args: Task arguments for every benchmark (a benchmark's own win).
        table: The known benchmarks.

    Raises:
        GridError: an unknown benchmark, defence, preset or mode, a prefix that cannot be
            read, or a guard defence with no guard model.
    """
    from ping_inspect.defences.solvers import load_prefix

    if prefill_mode not in PREFILL_MODES:
        raise GridError(f"Unknown prefill mode '{prefill_mode}': use {', '.join(PREFILL_MODES)}.")
    choices = [parse_benchmark(b, table) for b in benchmarks]
    labels = [c.label for c in choices]
    if len(set(labels)) != len(labels) or not labels:
        raise GridError(f"Name each benchmark once (got {', '.join(labels) or 'none'}).")
    names = list(dict.fromkeys(_canonical_defence(d) for d in defences))
    parsed = {name: DefenceSet.parse(name) for name in names}
    if not names:
        raise GridError("Name at least one defence (e.g. --defences none,ping).")
    if guard_model is None and any(d.model_roles for d in parsed.values()):
        raise GridError("The guard defence needs a guard model: --guard-model MODEL "
                        "(e.g. vllm/meta-llama/Llama-Guard-3-8B).")
    chosen_presets = per_benchmark(presets, choices, "--preset")
    chosen_files = per_benchmark(prefix_files, choices, "--prefix-file")
    cells = []
    for choice in choices:
        benchmark = table[choice.name]
        args = {**benchmark.args, **(task_args or {}), **choice.args}
        prefix = source = None
        if any(d.uses_prefix for d in parsed.values()):
            file, preset = chosen_files.get(choice.label), chosen_presets.get(choice.label)
            if file is not None and preset is not None:
                raise GridError(f"{choice.label}: give a preset or a prefix file, not both.")
            try:
                prefix, source = load_prefix(
                    prefix_file=file, preset=preset or (None if file else benchmark.preset)
                )
            except ValueError as err:
                raise GridError(f"{choice.label}: {err}") from err
        for name in names:
            parts = parsed[name]
            with_prefix = parts.uses_prefix
            cells.append(Cell(
                benchmark=choice.label,
                defence=name,
                task_args=args,
                prefix=prefix if with_prefix else None,
                prefix_source=source if with_prefix else None,
                prefill_mode=str(parts.forced_mode or prefill_mode) if with_prefix else None,
                guard_model=guard_model if parts.model_roles else None,
            ))
    return cells


def cell_task(cell: Cell, table: Mapping[str, Benchmark] = BENCHMARKS) -> Task:
    """Create the task of one cell: the benchmark's task with the defence built in."""
    from inspect_ai import task_with

    name = cell.benchmark.partition(":")[0].strip()
    task = create_task(_grid_task(table[name]), cell.task_args)
    defences = DefenceSet.parse(cell.defence)
    if defences.shows_samples:
        _check_fewshot_overlap(cell, name, task)
    solver = defence_solver(cell.defence, cell.prefix, cell.prefill_mode or "auto")
    extra: dict[str, Any] = {}
    if cell.guard_model is not None:
        roles = dict.fromkeys(defences.model_roles, cell.guard_model)
        extra["model_roles"] = {**(task.model_roles or {}), **roles}
    task = task_with(
        task,
        solver=solver,
        metadata={**(task.metadata or {}), CELL_METADATA_KEY: cell.describe()},
        **extra,
    )
    # Inspect View lists tasks by display name; task_with cannot set it (and the name
    # itself must stay the benchmark's, which the cell's identity and the report use).
    if hasattr(task, "_display_name"):
        task._display_name = f"{cell.benchmark} [{cell.defence}]"
    return task


def grid_benchmarks() -> list[str]:
    """The benchmarks a grid can run (those with a task)."""
    return [name for name, benchmark in BENCHMARKS.items() if benchmark.task is not None]


def _grid_task(benchmark: Benchmark) -> str | Callable[..., Task]:
    if benchmark.task is None:
        raise GridError(f"Benchmark '{benchmark.name}' has no task to run in a grid.")
    return benchmark.task


def _check_fewshot_overlap(cell: Cell, benchmark: str, task: Task) -> None:
    """Refuse a few-shot cell that would score a sample its few-shot block shows."""
    from inspect_ai.util import Store

    from ping_inspect.contracts import AgentSpec
    from ping_inspect.defences import fewshot
    from ping_inspect.defences.fewshot import check_not_shown, fewshot_examples, has_fewshot

    if not has_fewshot(benchmark):
        return  # the defence itself says so when a sample runs
    counts = pyinspect.signature(fewshot).parameters  # the grid uses fewshot's defaults
    # Its own store: outside a sample, a StoreModel would write to a shared one.
    spec = AgentSpec(store=Store(), benchmark=benchmark,
                     args={"data_dir": cell.task_args.get("data_dir")})
    try:
        examples = fewshot_examples(spec, counts["benign"].default, counts["harmful"].default)
        check_not_shown(examples, [(s.id, s.metadata or {}) for s in task.dataset])
    except ValueError as err:
        raise GridError(f"{cell.benchmark} [{cell.defence}]: {err}") from err


def create_task(spec: str | Callable[..., Task], args: Mapping[str, Any]) -> Task:
    """Create a task as ``inspect eval`` would: a registered name, a file spec or a function.

    Raises:
        GridError: no such task, or a spec naming several.
    """
    if callable(spec):
        accepted = pyinspect.signature(spec).parameters
        takes_any = any(p.kind == p.VAR_KEYWORD for p in accepted.values())
        return spec(**{k: v for k, v in args.items() if takes_any or k in accepted})
    # Inspect's own resolution of a task name or file spec (what `inspect eval` uses).
    from ping_inspect.inspect_compat import load_task_spec

    try:
        tasks = load_task_spec(registered_name(spec), dict(args))
    except Exception as err:
        raise GridError(f"Cannot create the task '{spec}': {err}") from err
    if not tasks:
        raise GridError(f"No task '{spec}' found: is that benchmark part of this installation?")
    if len(tasks) > 1:
        raise GridError(f"The task spec '{spec}' names {len(tasks)} tasks; name exactly one.")
    return tasks[0]


def registered_name(spec: str) -> str:
    """Return ``spec``, or its bare name where Inspect registered the task without a package.

    Inspect namespaces a task (``ping_inspect/webdojo``) only when it sees the package as
    installed; run from a source folder that holds a ``*.egg-info`` (pytest, ``python -m``
    in the repository root), the same task is registered as ``webdojo``.
    """
    from ping_inspect.inspect_compat import registry_lookup

    if "/" not in spec or spec.endswith(".py") or registry_lookup("task", spec) is not None:
        return spec
    bare = spec.split("/", 1)[1]
    return bare if registry_lookup("task", bare) is not None else spec


def write_grid_file(log_dir: str, cells: Sequence[Cell], models: Sequence[str]) -> Path:
    """Add the grid's cells to ``ping-inspect-grid.yaml`` in the log directory.

    Cells of earlier grids written to the same directory are kept: the report shows the
    union, and any cell without a log as missing.
    """
    path = Path(log_dir) / GRID_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    known = []
    if path.is_file():
        known = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("cells", [])
    entries = [{"model": m, "benchmark": c.benchmark, "defence": c.defence}
               for c in cells for m in models]
    merged = list({(e["model"], e["benchmark"], e["defence"]): e for e in known + entries}.values())
    path.write_text(yaml.safe_dump({"cells": merged}, sort_keys=False), encoding="utf-8")
    return path


def write_grid_file_shared(log_dir: str, cells: Sequence[Cell], models: Sequence[str]
                           ) -> Path:
    """``write_grid_file`` under an exclusive lock: several workers add to one file."""
    import fcntl

    Path(log_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(log_dir) / f".{GRID_FILE}.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            return write_grid_file(log_dir, cells, models)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_grid(
    models: Sequence[str | Model],
    defences: Sequence[str],
    benchmarks: Sequence[str],
    log_dir: str,
    presets: Sequence[str] | None = None,
    prefix_files: Sequence[str] | None = None,
    prefill_mode: str = "auto",
    guard_model: str | Model | None = None,
    task_args: Mapping[str, Any] | None = None,
    table: Mapping[str, Benchmark] = BENCHMARKS,
    retry_attempts: int = 2,
    log_dir_allow_dirty: bool = True,
    workers: int = 1,
    shard: Shard | None = None,
    **eval_set_args: Any,
) -> tuple[bool, list[EvalLog]]:
    """Run (or resume) the grid; finished cells in ``log_dir`` are not run again.

    Args:
        models: Models to evaluate (names or ``Model`` objects).
        defences: Defence names, e.g. ``["none", "ptst", "ping", "ping+guard"]``.
        benchmarks: Benchmark specs, e.g. ``["webdojo", "redcode:subset=ping"]``.
        log_dir: The grid's log directory (resuming needs the same one).
        presets: Prefix presets (``NAME`` or ``bench=NAME``).
        prefix_files: Prefix files (``PATH`` or ``bench=PATH``).
        prefill_mode: How ``ping`` delivers its prefix: ``auto``, ``native``,
            ``user_suffix``.
        guard_model: Model bound to the ``guard`` role in the guard cells.
        task_args: Task arguments for every benchmark.
        table: The benchmarks known by name.
        retry_attempts: How often ``eval_set`` retries a failed cell within this run.
        log_dir_allow_dirty: Allow logs of cells outside this grid in ``log_dir`` (an
            earlier, larger grid); the report reads them all.
        workers: Run the grid on this many processes of this machine (models by name);
            see ``compare.workers``. Their logs are returned by none: read the folder.
        shard: Run as this worker of several sharing ``log_dir`` (another process or
            machine runs each other shard); cells are claimed on the folder.
        **eval_set_args: Passed on to ``inspect_ai.eval_set`` (``limit``, ``epochs``,
            ``model_roles``, ``max_connections``, ``fail_on_error``, generation settings).

    Returns:
        Whether every cell finished, and the logs (headers) of the cells.
    """
    from inspect_ai import eval_set

    from ping_inspect.compare.workers import run_workers, work_grid

    cells = plan_cells(benchmarks, defences, presets, prefix_files, prefill_mode,
                       guard_model, task_args, table)
    if workers > 1 and shard is None:
        if any(not isinstance(m, str) for m in models):
            # Checked before the grid file is written: a refused run leaves nothing behind.
            raise GridError("--workers needs models given by name (they start in new processes).")
        write_grid_file(log_dir, cells, [_model_name(m) for m in models])
        grid_args = dict(models=list(models), defences=list(defences),
                         benchmarks=list(benchmarks), log_dir=log_dir, presets=presets,
                         prefix_files=prefix_files, prefill_mode=prefill_mode,
                         guard_model=guard_model, task_args=task_args, table=table,
                         retry_attempts=retry_attempts, **eval_set_args)
        try:
            return run_workers(grid_args, workers), []
        except ValueError as err:
            raise GridError(str(err)) from err
    tasks = [cell_task(cell, table) for cell in cells]
    if shard is not None:
        write_grid_file_shared(log_dir, cells, [_model_name(m) for m in models])
        return work_grid(models, cells, tasks, log_dir, shard,
                         retry_attempts=retry_attempts, **eval_set_args)
    write_grid_file(log_dir, cells, [_model_name(m) for m in models])
    return eval_set(
        tasks=tasks,
        model=list(models),
        log_dir=log_dir,
        retry_attempts=retry_attempts,
        log_dir_allow_dirty=log_dir_allow_dirty,
        **eval_set_args,
    )


def _model_name(model: str | Model) -> str:
    """Return a model's ``provider/name``."""
    if isinstance(model, str):
        return model
    from inspect_ai.model import ModelName

    return str(ModelName(model))


# --- command line ------------------------------------------------------------------------
