"""The report as files: Markdown for people, CSV for further analysis.

CSV rates are proportions (0..1); empty fields mean "no value" (a missing cell, or no
sample with a known verdict), never 0. Markdown shows percentages and percentage points.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

from ping_inspect.benchmarks import BENCHMARKS
from ping_inspect.report.logs import OtherLog, relative_link
from ping_inspect.report.stats import NEWCOMBE_PAIRED, NORMAL, WILSON
from ping_inspect.report.tables import BASELINE, METRICS, PairedRow, Row

METHOD_NOTES = {
    WILSON: "Wilson score interval",
    NEWCOMBE_PAIRED: "Newcombe's hybrid score interval for paired proportions (1998, method 10)",
    NORMAL: "normal interval, mean +- 1.96 s / sqrt(n) (outcomes not all 0/1)",
}


def _number(value: float) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.6g}"


def write_summary_csv(rows: Sequence[Row], path: Path, out_dir: Path) -> None:
    """One line per cell: labels, status, counts and the four rates with intervals."""
    columns = ["benchmark", "model", "defence", "status", "prefix_source", "prefix",
               "prefill_mode", "samples_expected", "samples_scored", "errors",
               "uncategorised", "log"]
    for metric in METRICS:
        columns += [metric.key, f"{metric.key}_low", f"{metric.key}_high",
                    f"{metric.key}_n", f"{metric.key}_unknown", f"{metric.key}_interval"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            cell = row.cell
            line = [cell.benchmark, cell.model, cell.defence, cell.status,
                    cell.prefix_source or "", cell.prefix or "", _modes(row),
                    "" if row.missing or cell.expected is None else cell.expected,
                    "" if row.missing else row.scored, "" if row.missing else row.errors,
                    "" if row.missing else row.uncategorised,
                    relative_link(cell.log, out_dir) or ""]
            for metric in METRICS:
                rate = row.rates.get(metric.key)
                if rate is None:
                    line += ["", "", "", "", "", ""]
                    continue
                e = rate.estimate
                line += [_number(e.value), _number(e.low), _number(e.high), e.n, rate.unknown,
                         f"{e.method}95"]
            writer.writerow(line)


def write_paired_csv(rows: Sequence[PairedRow], path: Path) -> None:
    """One line per defence, model, benchmark and rate: the paired difference to none."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["benchmark", "model", "defence", "baseline", "metric", "difference",
                         "low", "high", "n_pairs", "interval", "note"])
        for row in rows:
            for metric in METRICS:
                e = row.differences.get(metric.key)
                if e is None:
                    writer.writerow([row.benchmark, row.model, row.defence, BASELINE,
                                     metric.key, "", "", "", "", "", row.note or ""])
                else:
                    writer.writerow([row.benchmark, row.model, row.defence, BASELINE,
                                     metric.key, _number(e.value), _number(e.low),
                                     _number(e.high), e.n, f"{e.method}95", row.note or ""])


def _modes(row: Row) -> str:
    modes = row.cell.prefill_modes
    if modes:
        return "+".join(modes)
    return row.cell.requested_mode or ""


def rate_text(row: Row, key: str) -> str:
    """Format a rate as Markdown: ``75.0% [30.1, 95.4] n=4``, with unknown verdicts counted."""
    if row.missing:
        return "missing"
    rate = row.rates[key]
    e = rate.estimate
    if e.n == 0 and rate.unknown:
        return f"n/a ({rate.unknown} not measured)"
    text = "no data (n=0)" if e.n == 0 else (
        f"{100 * e.value:.1f}% [{100 * e.low:.1f}, {100 * e.high:.1f}] n={e.n}"
        if not math.isnan(e.low) else f"{100 * e.value:.1f}% n={e.n}")
    return f"{text}, {rate.unknown} unknown" if rate.unknown else text


def difference_text(row: PairedRow, key: str) -> str:
    """Format a paired difference as Markdown, in percentage points."""
    if not row.differences:
        return row.note or "n/a"
    e = row.differences[key]
    if e.n == 0:
        return "no shared samples"
    if math.isnan(e.low):
        return f"{100 * e.value:+.1f} n={e.n}"
    return f"{100 * e.value:+.1f} [{100 * e.low:+.1f}, {100 * e.high:+.1f}] n={e.n}"


def _table(header: Sequence[str], lines: Sequence[Sequence[str]]) -> list[str]:
    def escape(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(escape(c) for c in line) + " |" for line in lines]
    return out


def markdown(rows: Sequence[Row], paired: Sequence[PairedRow], log_dir: str, out_dir: Path,
             plot_name: str | None, other: Sequence[OtherLog] = (),
             skipped: Sequence[tuple[str, str]] = ()) -> str:
    """Return the whole report as Markdown.

    Notes, the plot, a section per benchmark, then the logs of other tasks and the logs
    that could not be read.
    """
    lines = _intro(rows, paired, log_dir)
    if plot_name:
        lines += [f"![Benign success against harmful refusal]({plot_name})", ""]
    for benchmark in dict.fromkeys(r.cell.benchmark for r in rows):
        lines += _section(benchmark, [r for r in rows if r.cell.benchmark == benchmark],
                          [p for p in paired if p.benchmark == benchmark], out_dir)
    if other:
        lines += ["## Other logs (not reported)", ""]
        lines += [f"- `{o.task}` ({o.model}, {o.status}): {o.why}. "
                  f"[log]({relative_link(o.log, out_dir)})" for o in other]
        lines.append("")
    if skipped:
        lines += ["## Unreadable logs (skipped)", ""]
        lines += [f"- `{path}`: {why}" for path, why in skipped]
        lines.append("")
    return "\n".join(lines)


def _intro(rows: Sequence[Row], paired: Sequence[PairedRow], log_dir: str) -> list[str]:
    methods = sorted(
        {r.rates[m.key].estimate.method for r in rows for m in METRICS if not r.missing}
        | {e.method for p in paired for e in p.differences.values()}
    )
    intervals = ("- Intervals (95%): " + "; ".join(
        f"{m}: {METHOD_NOTES.get(m, m)}" for m in methods) + ".") if methods else (
        "- No rates could be computed.")
    return [
        "# PING comparison report",
        "",
        f"Logs: `{log_dir}`. Read any cell's transcripts in Inspect View: "
        f"`inspect view --log-dir {log_dir}` (or follow a cell's log link).",
        "",
        "How to read the tables:",
        "",
        "- Each rate is over the samples of its category (benign or harmful) whose verdict "
        "is known: `rate [95% interval] n=samples`. Success on a harmful task is the attack "
        "success rate (ASR).",
        "- Failed samples (an error, or never scored) are left out of every rate and counted "
        "under *errors*; unknown verdicts (NaN: a judge gave none, or a first-response run, "
        "which never acts, has no success) are left out of that rate and counted as *unknown*; "
        "a rate with no known verdict at all reads *n/a*. "
        "A cell of the grid without a log reads *missing*. None of these is a 0.",
        "- *Refusal* is the paper's verdict on the model's own words; *refusal, echo-free* "
        "is the same check after the model's verbatim repeats of the injected prefix are "
        "left out of its words. A gap between the two is the model echoing the prefix, "
        "not refusing. *Refused, no action* counts a refusal only when the agent also did "
        "not act (no code executed, no browser action; in a first-response run, no "
        "executable action in the first response): a model that writes a refusal phrase "
        "and acts anyway counts under *refusal* but not here.",
        f"- Paired differences are *defence minus {BASELINE}* for the same model on the same "
        "samples (same sample id and epoch, both with a known verdict), in percentage points.",
        intervals,
        "- Epochs count as separate samples in the intervals.",
        "",
    ]




def _section(benchmark: str, rows: Sequence[Row], paired: Sequence[PairedRow],
             out_dir: Path) -> list[str]:
    header = ["model", "defence", "prefix", "prefill mode", *(m.title for m in METRICS),
              "samples", "errors", "status", "log"]
    descriptor = BENCHMARKS.get(benchmark.split(":")[0])
    note = descriptor.report_note if descriptor else None
    lines = [f"## {benchmark}", "", *([note, ""] if note else []),
             *_table(header, [_row_cells(r, out_dir) for r in rows]), ""]
    if paired:
        lines += [f"Paired differences against `{BASELINE}` (percentage points):", ""]
        lines += _table(["model", "defence", *(f"Δ {m.title}" for m in METRICS)],
                        [[p.model, p.defence, *(difference_text(p, m.key) for m in METRICS)]
                         for p in paired])
        lines.append("")
    return lines + _prefixes(r.cell for r in rows) + _notes(rows)


def _row_cells(row: Row, out_dir: Path) -> list[str]:
    cell = row.cell
    link = relative_link(cell.log, out_dir)
    if row.missing:
        samples = errors = "—"
    else:
        samples = f"{row.scored}/{cell.expected}" if cell.expected is not None else str(row.scored)
        errors = _errors(row.errors)
    return [
        cell.model, cell.defence, cell.prefix_source or ("yes" if cell.prefix else "—"),
        _modes(row) or "—", *(rate_text(row, m.key) for m in METRICS), samples, errors,
        cell.status, f"[log]({link})" if link else "—",
    ]


def _errors(count: int) -> str:
    return f"{count} error" if count == 1 else f"{count} errors"


def _prefixes(cells) -> list[str]:
    seen = {}
    for cell in cells:
        if cell.prefix:
            seen.setdefault((cell.prefix_source or "prefix", cell.prefix), []).append(cell.defence)
    if not seen:
        return []
    lines = ["Prefixes:", ""]
    for (source, text), defences in seen.items():
        lines.append(f"- {source} ({', '.join(dict.fromkeys(defences))}): `{text}`")
    return [*lines, ""]


def _notes(rows) -> list[str]:
    lines = []
    for row in rows:
        notes = list(row.cell.notes)
        if row.uncategorised:
            notes.append(f"{row.uncategorised} samples have no benign/harmful category")
        for note in notes:
            lines.append(f"- {row.cell.model} / {row.cell.defence}: {note}")
    return ["Notes:", "", *lines, ""] if lines else []

