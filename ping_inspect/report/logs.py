"""Read a log directory into cells: one benchmark, model and defence, with its samples.

A cell's labels come from what ``ping-inspect compare`` recorded in the log's eval
metadata, else from the samples' metadata (``benchmark``, ``defence``; see
docs/CONVENTIONS.md), else from the task's name. Only sample summaries are read (ids,
categories, scores, errors), so large transcripts are not loaded; the full prefix comes
from the eval metadata or from one sample.
"""

from __future__ import annotations

import math
import os
import warnings
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from inspect_ai import task_identifier
from inspect_ai.log import (
    EvalLog,
    EvalLogInfo,
    EvalSampleSummary,
    list_eval_logs,
    read_eval_log,
    read_eval_log_sample,
    read_eval_log_sample_summaries,
)

from ping_inspect.benchmarks import BENCHMARKS
from ping_inspect.compare.grid import CELL_METADATA_KEY, GRID_FILE
from ping_inspect.contracts import REFUSAL, REFUSAL_NO_ECHO, REFUSED_NO_ACTION, SUCCESS

KNOWN_BENCHMARKS = tuple(BENCHMARKS)
"""This package's benchmarks by task name (a log with no samples is still theirs)."""

MISSING = "missing"
"""Status of a cell of the grid that has no log."""

OTHER_TASKS = ("ping_optimize",)
"""This package's tasks that are not benchmarks (their logs hold no rates)."""


@dataclass(frozen=True)
class SampleOutcome:
    """One sample (one epoch) of a cell: its category and both verdicts."""

    id: str | int
    epoch: int
    category: str | None
    success: float | None
    """1, 0, NaN (unknown verdict), or None when the sample failed (no score)."""
    refusal: float | None
    error: str | None = None
    prefill_mode: str | None = None
    refusal_no_echo: float | None = None
    """The refusal verdict with the prefix's echoes left out; None when not scored."""
    refused_no_action: float | None = None
    """Refused and did not act (no code executed, no browser action); None when not scored."""

    @property
    def failed(self) -> bool:
        """Whether the sample ended in an error or was never scored."""
        return self.error is not None or (self.success is None and self.refusal is None)


@dataclass(frozen=True)
class CellResult:
    """The latest log of one benchmark, model and defence (or a missing cell)."""

    benchmark: str
    model: str
    defence: str
    status: str
    """The log's status (``success``, ``error``, ``cancelled``, ``started``) or ``missing``."""
    log: str | None = None
    prefix: str | None = None
    prefix_source: str | None = None
    requested_mode: str | None = None
    expected: int | None = None
    """Sample-epochs the log was meant to hold (None when unknown)."""
    samples: tuple[SampleOutcome, ...] = ()
    identifier: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def key(self) -> tuple[str, str, str]:
        """The cell's place in the grid: (benchmark, model, defence)."""
        return self.benchmark, self.model, self.defence

    @property
    def prefill_modes(self) -> list[str]:
        """The prefill modes the samples used (none when no prefix was injected)."""
        return sorted({s.prefill_mode for s in self.samples if s.prefill_mode})


@dataclass(frozen=True)
class OtherLog:
    """A readable log that is not of a benchmark following docs/CONVENTIONS.md."""

    task: str
    model: str
    status: str
    log: str
    why: str


@dataclass(frozen=True)
class LogDirectory:
    """What a log directory holds: benchmark cells, other tasks' logs, unreadable logs."""

    cells: list[CellResult]
    other: list[OtherLog] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(log path, why) of each log that could not be read."""


def load_cells(log_dir: str | Path) -> list[CellResult]:
    """Read the benchmark cells under ``log_dir`` (see ``read_log_dir``).

    Unreadable logs are skipped with a warning that names them.
    """
    found = read_log_dir(log_dir)
    for path, why in found.skipped:
        warnings.warn(f"Skipped unreadable log {path}: {why}", stacklevel=2)
    return found.cells


def read_log_dir(log_dir: str | Path) -> LogDirectory:
    """Read every log under ``log_dir``; keep the latest log of each cell.

    Logs of the same task identity (an ``eval_set`` retry, a resumed crash) are one
    cell: the latest finished log counts, else the latest. Cells listed in the grid file
    but without a log come back as missing. When two different runs share a benchmark,
    model and defence (another prefix, another generation setting), their defence labels
    get the prefix source or a short identifier to keep them apart. A log that cannot be
    read is skipped (named in ``skipped``); the log of a task that is not a benchmark
    (no benchmark or category metadata, no success/refusal score) is listed in ``other``.
    """
    latest: dict[str, tuple[EvalLogInfo, EvalLog]] = {}
    skipped: list[tuple[str, str]] = []
    for info in list_eval_logs(str(log_dir), recursive=True):
        try:
            header = read_eval_log(info, header_only=True)
            identifier = task_identifier(header, None)
        except Exception as err:  # a corrupt or foreign file: name it, report the rest
            skipped.append((_local_path(info.name), _reason(err)))
            continue
        known = latest.get(identifier)
        if known is None or _recency(header) > _recency(known[1]):
            latest[identifier] = (info, header)
    read, other = [], []
    for ident, (info, header) in latest.items():
        cell, why = _read_cell(info, header, ident)
        if why is None:
            read.append(cell)
        else:
            other.append(OtherLog(header.eval.task, header.eval.model, header.status,
                                  _local_path(info.name), why))
    present = {cell.key for cell in read}
    cells = _disambiguate(read)
    for benchmark, model, defence in read_grid(log_dir):
        if (benchmark, model, defence) not in present:
            cells.append(CellResult(benchmark, model, defence, MISSING))
    return LogDirectory(cells, other, skipped)


def _reason(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def _recency(header: EvalLog) -> tuple[bool, str]:
    """Order the logs of one identity: a finished log first, then the latest."""
    return header.status == "success", header.eval.created


def read_grid(log_dir: str | Path) -> list[tuple[str, str, str]]:
    """Return the (benchmark, model, defence) cells that ``compare`` listed in grid files.

    The logs are read recursively, so are the grid files: a grid whose benchmarks ran in
    subfolders (``ping-inspect reproduce``) lists the union, in folder order.
    """
    root = Path(log_dir)
    paths = sorted(root.rglob(GRID_FILE), key=lambda p: (len(p.relative_to(root).parts), p))
    cells: dict[tuple[str, str, str], None] = {}
    for path in paths:
        entries = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("cells", [])
        cells.update({(str(e["benchmark"]), str(e["model"]), str(e["defence"])): None
                      for e in entries})
    return list(cells)


def _read_cell(info: EvalLogInfo, header: EvalLog, identifier: str
               ) -> tuple[CellResult, str | None]:
    """Read one log into a cell; the second value says why it is not a benchmark's."""
    notes: list[str] = []
    try:
        summaries = read_eval_log_sample_summaries(info)
    except Exception as err:  # a log cut off mid-write: report it, do not stop
        summaries, notes = [], [f"samples unreadable: {err}"]
    meta = (header.eval.metadata or {}).get(CELL_METADATA_KEY) or {}
    why_other = None if meta else _not_a_benchmark(header, summaries)
    benchmark = meta.get("benchmark") or _most_common(
        s.metadata.get("benchmark") for s in summaries) or header.eval.task
    defence = meta.get("defence") or _most_common(
        s.metadata.get("defence") for s in summaries) or "unknown"
    prefix = meta.get("prefix")
    if prefix is None and "prefix" not in meta:
        prefix = _full_prefix(info, summaries)
    return CellResult(
        benchmark=str(benchmark),
        model=header.eval.model,
        defence=str(defence),
        status=header.status,
        log=_local_path(info.name),
        prefix=prefix,
        prefix_source=meta.get("prefix_source"),
        requested_mode=meta.get("prefill_mode"),
        expected=_expected_samples(header),
        samples=tuple(_outcome(s) for s in summaries),
        identifier=identifier,
        notes=tuple(notes),
    ), why_other


def _not_a_benchmark(header: EvalLog, summaries: list[EvalSampleSummary]) -> str | None:
    """Why a log (not written by ``compare``) is not a benchmark's, or None if it is one."""
    task = header.eval.task.rsplit("/", 1)[-1]
    if task in OTHER_TASKS:
        return f"{task} is the prefix search, not a benchmark"
    follows = any(s.metadata.get("benchmark") or _verdicts(s.scores or {}) is not None
                  for s in summaries)
    if follows or (not summaries and task in KNOWN_BENCHMARKS):
        return None
    return ("not a ping-inspect benchmark: its samples carry no benchmark or category "
            "metadata and no success/refusal score")


def _outcome(summary: EvalSampleSummary) -> SampleOutcome:
    value = _verdicts(summary.scores or {})
    mode = summary.metadata.get("prefill_mode")
    return SampleOutcome(
        id=summary.id,
        epoch=summary.epoch,
        category=summary.metadata.get("category"),
        success=_as_float(value.get(SUCCESS)) if value is not None else None,
        refusal=_as_float(value.get(REFUSAL)) if value is not None else None,
        error=summary.error,
        prefill_mode=str(mode) if mode else None,
        refusal_no_echo=_as_float(value[REFUSAL_NO_ECHO])
        if value is not None and REFUSAL_NO_ECHO in value else None,
        refused_no_action=_as_float(value[REFUSED_NO_ACTION])
        if value is not None and REFUSED_NO_ACTION in value else None,
    )


def _verdicts(scores: dict[str, Any]) -> dict[str, Any] | None:
    """Return the first score whose value is a dict with ``success`` or ``refusal``."""
    for score in scores.values():
        value = score.value
        if isinstance(value, dict) and (SUCCESS in value or REFUSAL in value):
            return value
    return None


def _as_float(value: Any) -> float:
    """Return a verdict as a float; anything unreadable is unknown (NaN), never 0."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _expected_samples(header: EvalLog) -> int | None:
    dataset = header.eval.dataset
    count = len(dataset.sample_ids) if dataset.sample_ids else dataset.samples
    epochs = header.eval.config.epochs or 1
    return count * epochs if count is not None else None


def _full_prefix(info: EvalLogInfo, summaries: list[EvalSampleSummary]) -> str | None:
    """Return the prefix of a log not written by ``compare``: read one sample in full."""
    with_prefix = next((s for s in summaries if s.metadata.get("prefix")), None)
    if with_prefix is None:
        return None
    sample = read_eval_log_sample(info, with_prefix.id, with_prefix.epoch,
                                  exclude_fields={"messages", "events", "attachments"})
    return sample.metadata.get("prefix")


def _most_common(values: Iterable[Any]) -> Any:
    counts = Counter(v for v in values if v)
    return counts.most_common(1)[0][0] if counts else None


def _local_path(name: str) -> str:
    return name.removeprefix("file://")


def _disambiguate(cells: list[CellResult]) -> list[CellResult]:
    """Tell apart distinct runs that share a benchmark, model and defence label."""
    by_key: dict[tuple[str, str, str], list[CellResult]] = {}
    for cell in cells:
        by_key.setdefault(cell.key, []).append(cell)
    result = []
    for group in by_key.values():
        if len(group) == 1:
            result.extend(group)
            continue
        sources = [c.prefix_source for c in group]
        distinct_sources = None not in sources and len(set(sources)) == len(sources)
        for cell in group:
            tag = cell.prefix_source if distinct_sources else _short(cell.identifier)
            note = "another run in the log directory shares this label"
            result.append(replace(cell, defence=f"{cell.defence} ({tag})",
                                  notes=(*cell.notes, note)))
    return result


def _short(identifier: str | None) -> str:
    return f"#{(identifier or '').rsplit('/', 1)[-1][:6]}"


def relative_link(path: str | None, start: str | Path) -> str | None:
    """Return the path of a log relative to the report's folder (for Markdown links)."""
    if path is None:
        return None
    return Path(os.path.relpath(path, start)).as_posix()
