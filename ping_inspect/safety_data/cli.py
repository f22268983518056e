"""``ping-inspect safety-data``: agentic safety data (refusals and benign near misses).

    ping-inspect safety-data --domain code --out data/safety_code.jsonl
    ping-inspect safety-data --domain web --out data/safety_web.jsonl --harmful 150 --benign 54

Harmful requests come with a refusal that takes no action; benign counterparts of the same
behaviour chains are carried out by a scripted expert in the real environment (code: the
bubblewrap sandbox; web: Chromium) and kept only when they pass their check.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``safety-data`` arguments."""
    parser.add_argument("--domain", required=True, choices=["code", "web"],
                        help="code (CodeAct tasks) or web (WebDojo-style tasks)")
    parser.add_argument("--out", required=True, help="JSONL file to write")
    parser.add_argument("--harmful", type=int, default=None,
                        help="harmful requests with refusals (default: code 200, web 150)")
    parser.add_argument("--benign", type=int, default=None,
                        help="benign counterparts carried out: code episodes (default 160, one "
                             "record each) or web goals (default 54, every eligible one; one "
                             "record per step)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the instances and order")
    parser.add_argument("--log-dir", default=None,
                        help="keep the recording eval's log here (default: a temporary folder)")


def run(args: argparse.Namespace) -> int:
    """Build the records and write them."""
    from ping_inspect.finetune.records import write_jsonl
    from ping_inspect.safety_data import build_records

    for name in ("harmful", "benign"):
        value = getattr(args, name)
        if value is not None and value < 0:
            print(f"ping-inspect safety-data: --{name} must be 0 or more, not {value}.",
                  file=sys.stderr)
            return 2
    started = time.monotonic()
    records = build_records(args.domain, harmful=args.harmful, benign=args.benign,
                            seed=args.seed, log_dir=args.log_dir)
    written = write_jsonl(records, args.out)
    counts = Counter(r["meta"]["category"] for r in records)
    print(f"ping-inspect safety-data: wrote {written} records to {args.out} "
          f"({counts['harmful']} harmful, {counts['benign']} benign) in "
          f"{time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0 if written else 1
