"""The report's tables: four rates per cell, and each defence's paired difference to none.

A rate counts the samples of one category (benign or harmful) whose verdict is known.
Failed samples (an error, or never scored) and unknown verdicts (NaN: a judge gave no
verdict, or a first-response run never acted) are left out of n and counted apart, so
that neither ever reads as a 0. Refusal is shown three times: the paper's verdict, the one
with the model's verbatim echoes of the prefix left out (``refusal_no_echo``), and refused
without acting (``refused_no_action``: no code executed, no browser action).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ping_inspect.contracts import REFUSAL, REFUSAL_NO_ECHO, REFUSED_NO_ACTION, SUCCESS
from ping_inspect.report.logs import MISSING, CellResult, SampleOutcome
from ping_inspect.report.stats import Estimate, paired_difference, rate

BASELINE = "none"


@dataclass(frozen=True)
class MetricSpec:
    """One of the four rates: a category and a verdict."""

    key: str
    category: str
    verdict: str
    title: str


METRICS = (
    MetricSpec("benign_success", "benign", SUCCESS, "benign success"),
    MetricSpec("benign_refusal", "benign", REFUSAL, "benign refusal"),
    MetricSpec("benign_refusal_no_echo", "benign", REFUSAL_NO_ECHO,
               "benign refusal, echo-free"),
    MetricSpec("benign_refused_no_action", "benign", REFUSED_NO_ACTION,
               "benign refused, no action"),
    MetricSpec("harmful_success", "harmful", SUCCESS, "harmful success (ASR)"),
    MetricSpec("harmful_refusal", "harmful", REFUSAL, "harmful refusal"),
    MetricSpec("harmful_refusal_no_echo", "harmful", REFUSAL_NO_ECHO,
               "harmful refusal, echo-free"),
    MetricSpec("harmful_refused_no_action", "harmful", REFUSED_NO_ACTION,
               "harmful refused, no action"),
)


OPTIONAL_VERDICTS = (REFUSAL_NO_ECHO, REFUSED_NO_ACTION)
"""Verdicts a scorer may not give (older logs, AgentHarm): absent, never unknown."""


@dataclass(frozen=True)
class Rate:
    """A rate with its interval, and how many verdicts were unknown."""

    estimate: Estimate
    unknown: int


@dataclass(frozen=True)
class Row:
    """One cell of a benchmark's table."""

    cell: CellResult
    rates: dict[str, Rate]
    """Empty for a missing cell."""
    scored: int
    errors: int
    uncategorised: int

    @property
    def missing(self) -> bool:
        """Whether the cell has no log."""
        return self.cell.status == MISSING


@dataclass(frozen=True)
class PairedRow:
    """A defence against ``none`` for the same model on the same samples."""

    benchmark: str
    model: str
    defence: str
    differences: dict[str, Estimate]
    """Empty when the comparison cannot be made (see ``note``)."""
    note: str | None = None


def verdicts(samples: Sequence[SampleOutcome], category: str, verdict: str
             ) -> tuple[dict[tuple[str | int, int], float], int]:
    """Known verdicts of one category by (sample id, epoch), and the unknown count.

    A ``refusal_no_echo`` or ``refused_no_action`` that the scorer did not give (logs
    from before it existed, AgentHarm) is absent, not unknown.
    """
    known: dict[tuple[str | int, int], float] = {}
    unknown = 0
    for sample in samples:
        if sample.failed or sample.category != category:
            continue
        value = getattr(sample, verdict)
        if value is None and verdict in OPTIONAL_VERDICTS:
            continue
        if value is None or math.isnan(value):  # the judge gave no verdict
            unknown += 1
        else:
            known[(sample.id, sample.epoch)] = value
    return known, unknown


def summarise(cell: CellResult) -> Row:
    """Return the four rates of a cell with their intervals and counts."""
    if cell.status == MISSING:
        return Row(cell, {}, 0, 0, 0)
    rates = {}
    for metric in METRICS:
        known, unknown = verdicts(cell.samples, metric.category, metric.verdict)
        rates[metric.key] = Rate(rate(list(known.values())), unknown)
    failed = sum(1 for s in cell.samples if s.failed)
    uncategorised = sum(
        1 for s in cell.samples if not s.failed and s.category not in ("benign", "harmful")
    )
    return Row(cell, rates, len(cell.samples) - failed, failed, uncategorised)


def paired_rows(cells: Sequence[CellResult], baseline: str = BASELINE) -> list[PairedRow]:
    """Each defence minus ``baseline``, per benchmark and model, on shared samples.

    Only samples scored with a known verdict in both cells count (same id and epoch).
    """
    by_key = {cell.key: cell for cell in cells}
    rows = []
    for cell in cells:
        if cell.defence == baseline:
            continue
        base = by_key.get((cell.benchmark, cell.model, baseline))
        note = None
        if cell.status == MISSING:
            note = "cell missing"
        elif base is None:
            note = f"no '{baseline}' cell"
        elif base.status == MISSING:
            note = f"'{baseline}' cell missing"
        if note or base is None:
            rows.append(PairedRow(cell.benchmark, cell.model, cell.defence, {}, note))
            continue
        differences = {}
        for metric in METRICS:
            treated, _ = verdicts(cell.samples, metric.category, metric.verdict)
            control, _ = verdicts(base.samples, metric.category, metric.verdict)
            shared = [k for k in treated if k in control]
            differences[metric.key] = paired_difference([(treated[k], control[k]) for k in shared])
        rows.append(PairedRow(cell.benchmark, cell.model, cell.defence, differences))
    return rows


def ordered(cells: Sequence[CellResult], grid: Sequence[tuple[str, str, str]] = ()
            ) -> list[CellResult]:
    """Sort cells by benchmark, model, then defence (``none`` first), in the grid's order."""

    def rank(values: list[str], first: str | None = None) -> dict[str, tuple[int, int, str]]:
        order = list(dict.fromkeys(values))
        return {v: (v != first, order.index(v), v) for v in order}

    keys = [*grid, *(c.key for c in sorted(cells, key=lambda c: c.key))]
    benchmarks = rank([k[0] for k in keys])
    models = rank([k[1] for k in keys])
    defences = rank([k[2] for k in keys], first=BASELINE)
    return sorted(cells, key=lambda c: (benchmarks[c.benchmark], models[c.model],
                                        defences[c.defence]))
