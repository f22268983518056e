"""Measured behaviour per prefix: harmful refusal and benign over-refusal, from real runs.

Two sources, both produced by evaluations rather than typed in:

- a directory of Inspect logs (read with ``ping_inspect.report``): each finished run of
  the benchmark with the ``ping`` or no defence is one point, labelled by the prefix its
  samples received (none without a defence); runs that delivered the prefix as a suffix
  measure the other condition and are left out, as are the other defences;
- a CSV with the columns ``prefix``, ``harmful_refusal`` and ``benign_refusal`` (an empty
  prefix means no prefix), e.g. the ``summary.csv`` that ``ping-inspect report`` writes.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measured:
    """One prefix's measured rates (proportions) and how many samples each rests on."""

    prefix: str | None
    harmful_refusal: float
    benign_refusal: float
    harmful_n: int
    benign_n: int
    source: str
    model: str | None = None


class BehaviourError(ValueError):
    """Measurements that cannot be read or matched to prefixes."""


def read_behaviour(path: str | Path, benchmark: str) -> list[Measured]:
    """Read measured rates from a log directory or a CSV file.

    Args:
        path: A directory of Inspect logs or a CSV file.
        benchmark: Keep only measurements of this benchmark (logs, and CSV rows with a
            ``benchmark`` column).

    Raises:
        BehaviourError: nothing usable found, or two measurements of one prefix.
    """
    path = Path(path)
    if path.is_dir():
        points = _from_logs(path, benchmark)
    elif path.is_file():
        points = _from_csv(path, benchmark)
    else:
        raise BehaviourError(f"{path} is neither a log directory nor a CSV file.")
    if not points:
        raise BehaviourError(
            f"No finished {benchmark} run with harmful and benign refusal rates in {path}."
        )
    seen: dict[str | None, Measured] = {}
    for point in points:
        if point.prefix in seen:
            raise BehaviourError(
                f"Two measurements of one prefix ({_short(point.prefix)}): "
                f"{seen[point.prefix].source} and {point.source}. Keep one run per prefix "
                "in the directory (e.g. one model, one setting)."
            )
        seen[point.prefix] = point
    return points


def _from_logs(log_dir: Path, benchmark: str) -> list[Measured]:
    from ping_inspect.report.logs import load_cells
    from ping_inspect.report.tables import summarise

    points = []
    for cell in load_cells(log_dir):
        if cell.benchmark != benchmark or cell.status != "success":
            continue
        defence = cell.defence.split(" (")[0]  # without the report's disambiguating tag
        if defence not in ("none", "ping") or "user_suffix" in cell.prefill_modes:
            continue  # another defence, or the suffix condition rather than the prefix
        row = summarise(cell)
        harmful = row.rates["harmful_refusal"].estimate
        benign = row.rates["benign_refusal"].estimate
        if harmful.n == 0 or benign.n == 0:
            continue
        prefix = cell.prefix if defence == "ping" else None
        if defence == "ping" and not prefix:
            continue
        points.append(Measured(prefix, harmful.value, benign.value, harmful.n, benign.n,
                               source=str(cell.log), model=cell.model))
    return points


def _from_csv(path: Path, benchmark: str) -> list[Measured]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    needed = {"prefix", "harmful_refusal", "benign_refusal"}
    if rows and not needed <= set(rows[0]):
        raise BehaviourError(f"{path} lacks the column(s) {sorted(needed - set(rows[0]))}.")
    points = []
    for number, row in enumerate(rows, start=2):
        if row.get("benchmark") and row["benchmark"] != benchmark:
            continue
        harmful, benign = _rate(row["harmful_refusal"]), _rate(row["benign_refusal"])
        if math.isnan(harmful) or math.isnan(benign):
            continue
        points.append(Measured(
            prefix=row["prefix"] or None,
            harmful_refusal=harmful,
            benign_refusal=benign,
            harmful_n=int(row.get("harmful_refusal_n") or 0),
            benign_n=int(row.get("benign_refusal_n") or 0),
            source=f"{path}:{number}",
            model=row.get("model") or None,
        ))
    return points


def _rate(text: str | None) -> float:
    try:
        value = float(text) if text not in (None, "") else math.nan
    except ValueError:
        return math.nan
    if value > 1:
        raise BehaviourError(f"Rates are proportions in [0, 1], not {value}.")
    return value


def _short(prefix: str | None) -> str:
    if prefix is None:
        return "no prefix"
    return repr(prefix if len(prefix) <= 40 else prefix[:37] + "...")
