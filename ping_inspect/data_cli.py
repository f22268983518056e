"""``ping-inspect data``: download the pinned benchmark data, or verify a copy."""

from __future__ import annotations

import argparse
from pathlib import Path

from ping_inspect.data import DataError, cache_dir, fetch, verify

BENCHMARKS = ("webdojo", "redcode-exec")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``data`` arguments."""
    parser.add_argument("action", choices=("download", "verify"))
    parser.add_argument("--dir", type=Path, default=None,
                        help="data directory (default: the download cache)")
    parser.add_argument("--benchmark", choices=BENCHMARKS, action="append",
                        help="only this benchmark (repeatable; default: all)")


def run(args: argparse.Namespace) -> int:
    """Download into, or verify, a data directory."""
    root = args.dir or cache_dir()
    try:
        for benchmark in args.benchmark or BENCHMARKS:
            done = fetch(benchmark, root) if args.action == "download" else verify(root, benchmark)
            print(f"{benchmark}: ok ({done / benchmark})")
    except DataError as err:
        print(err)
        return 1
    return 0
