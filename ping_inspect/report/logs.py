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

from ping_inspect.compare import CELL_METADATA_KEY, GRID_FILE

MISSING = "missing"
"""Status of a cell of the grid that has no log."""


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


def load_cells(log_dir: str | Path) -> list[CellResult]:
    """Read every log under ``log_dir``; keep the latest log of each cell.

    Logs of the same task identity (an ``eval_set`` retry, a resumed crash) are one
    cell: the latest finished log counts, else the latest. Cells listed in the grid file
    but without a log come back as missing. When two different runs share a benchmark,
    model and defence (another prefix, another generation setting), their defence labels
    get the prefix source or a short identifier to keep them apart.
    """
    latest: dict[str, tuple[EvalLogInfo, EvalLog]] = {}
    for info in list_eval_logs(str(log_dir), recursive=True):
        header = read_eval_log(info, header_only=True)
        identifier = task_identifier(header, None)
        known = latest.get(identifier)
        if known is None or _recency(header) > _recency(known[1]):
            latest[identifier] = (info, header)
    read = [_read_cell(info, header, ident) for ident, (info, header) in latest.items()]
    present = {cell.key for cell in read}
    cells = _disambiguate(read)
    for benchmark, model, defence in read_grid(log_dir):
        if (benchmark, model, defence) not in present:
            cells.append(CellResult(benchmark, model, defence, MISSING))
    return cells


def _recency(header: EvalLog) -> tuple[bool, str]:
    """Order the logs of one identity: a finished log first, then the latest."""
    return header.status == "success", header.eval.created


def read_grid(log_dir: str | Path) -> list[tuple[str, str, str]]:
    """Return the (benchmark, model, defence) cells that ``compare`` listed in the grid file."""
    path = Path(log_dir) / GRID_FILE
    if not path.is_file():
        return []
    entries = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("cells", [])
    return [(str(e["benchmark"]), str(e["model"]), str(e["defence"])) for e in entries]


def _read_cell(info: EvalLogInfo, header: EvalLog, identifier: str) -> CellResult:
    notes: list[str] = []
    try:
        summaries = read_eval_log_sample_summaries(info)
    except Exception as err:  # a log cut off mid-write: report it, do not stop
        summaries, notes = [], [f"samples unreadable: {err}"]
    meta = (header.eval.metadata or {}).get(CELL_METADATA_KEY) or {}
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
    )


def _outcome(summary: EvalSampleSummary) -> SampleOutcome:
    value = _verdicts(summary.scores or {})
    mode = summary.metadata.get("prefill_mode")
    return SampleOutcome(
        id=summary.id,
        epoch=summary.epoch,
        category=summary.metadata.get("category"),
        success=_as_float(value.get("success")) if value is not None else None,
        refusal=_as_float(value.get("refusal")) if value is not None else None,
        error=summary.error,
        prefill_mode=str(mode) if mode else None,
    )


def _verdicts(scores: dict[str, Any]) -> dict[str, Any] | None:
    """Return the first score whose value is a dict with ``success`` or ``refusal``."""
    for score in scores.values():
        value = score.value
        if isinstance(value, dict) and ("success" in value or "refusal" in value):
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
