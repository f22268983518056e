"""Build the whole report from a log directory."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ping_inspect.report.logs import OtherLog, read_grid, read_log_dir
from ping_inspect.report.tables import ordered, paired_rows, summarise
from ping_inspect.report.writers import markdown, write_paired_csv, write_summary_csv

REPORT_MD = "report.md"
SUMMARY_CSV = "summary.csv"
PAIRED_CSV = "paired.csv"
PLOT_STEM = "tradeoff"


@dataclass(frozen=True)
class ReportFiles:
    """The files a report consists of."""

    markdown: Path
    summary_csv: Path
    paired_csv: Path
    plots: list[Path]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(path, why) of the logs that could not be read, and were left out."""
    other: list[OtherLog] = field(default_factory=list)
    """Logs of tasks that are not benchmarks, listed apart."""
    rows: int = 0
    """Rows of the summary (0: no readable benchmark log, the report is empty)."""


def default_out_dir(log_dir: str | Path) -> Path:
    """Where the report goes when no folder is given: ``report/`` inside the log directory."""
    return Path(log_dir) / "report"


def build_report(log_dir: str | Path, out_dir: str | Path | None = None,
                 plot: bool = True) -> ReportFiles:
    """Read the logs under ``log_dir`` and write the report's tables and plot.

    Args:
        log_dir: A log directory (a ``ping-inspect compare`` grid, or any Inspect logs
            of tasks that follow docs/CONVENTIONS.md).
        out_dir: Folder for the report (default: ``<log_dir>/report``).
        plot: Draw the trade-off plot (needs matplotlib: ``pip install ping-inspect[report]``).

    Returns:
        The paths written.

    Unreadable logs are skipped (named in the report and in ``ReportFiles.skipped``); logs
    of tasks that are not benchmarks are listed apart, without rates.

    Raises:
        FileNotFoundError: ``log_dir`` does not exist or holds no logs.
    """
    log_dir = Path(log_dir)
    if not log_dir.is_dir():
        raise FileNotFoundError(f"Log directory {log_dir} does not exist.")
    out = Path(out_dir) if out_dir is not None else default_out_dir(log_dir)
    found = read_log_dir(log_dir)
    cells = found.cells
    if not (cells or found.other or found.skipped):
        raise FileNotFoundError(f"No Inspect logs under {log_dir}.")
    cells = ordered(cells, read_grid(log_dir))
    rows = [summarise(cell) for cell in cells]
    paired = paired_rows(cells)
    out.mkdir(parents=True, exist_ok=True)
    plots = []
    if plot:
        from ping_inspect.report.plots import tradeoff_plot

        plots = tradeoff_plot(rows, out, PLOT_STEM)
    files = ReportFiles(out / REPORT_MD, out / SUMMARY_CSV, out / PAIRED_CSV, plots,
                        found.skipped, found.other, len(rows))
    write_summary_csv(rows, files.summary_csv, out)
    write_paired_csv(paired, files.paired_csv)
    plot_name = plots[0].name if plots else None
    text = markdown(rows, paired, str(log_dir), out, plot_name, found.other, found.skipped)
    files.markdown.write_text(text + "\n", encoding="utf-8")
    return files
