"""``ping-inspect report``: tables and trade-off plots from a log directory."""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``report`` arguments."""
    parser.add_argument("log_dir", help="log directory (e.g. the one given to compare)")
    parser.add_argument("--out", default=None,
                        help="folder for the report (default: <log_dir>/report)")
    parser.add_argument("--no-plot", action="store_true", help="skip the trade-off plot")


def run(args: argparse.Namespace) -> int:
    """Write the report and say where it is."""
    try:
        from ping_inspect.report.build import build_report

        files = build_report(args.log_dir, args.out, plot=not args.no_plot)
    except FileNotFoundError as err:
        print(f"error: {err}")
        return 2
    except ModuleNotFoundError as err:
        print(f"error: {err}. Install the report extra: pip install 'ping-inspect[report]' "
              "(or pass --no-plot).")
        return 2
    for path, why in files.skipped:
        print(f"warning: skipped unreadable log {path}: {why}", file=sys.stderr)
    for other in files.other:
        print(f"note: {other.log} ({other.task}) is listed apart: {other.why}")
    print(f"Report: {files.markdown}")
    print(f"Tables: {files.summary_csv}, {files.paired_csv}")
    for plot in files.plots:
        print(f"Plot: {plot}")
    print(f"Transcripts: inspect view --log-dir {args.log_dir}")
    if not files.rows and not files.other:
        print(f"error: no readable log of a benchmark in {args.log_dir}: the report is empty.",
              file=sys.stderr)
        return 1
    return 0
