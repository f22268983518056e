"""The GPU check's Python parts (``scripts/gpu_check.sh`` calls them; they run on CPU too).

    python scripts/gpu_check.py probe --model vllm/SERVED --model ping/vllm/SERVED --out rows.jsonl
    python scripts/gpu_check.py table rows.jsonl

``probe`` sends the true-continuation probe through each model: the assistant turn is
prefilled ("The capital of France is", "I'm sorry, but I") and the reply must continue it
(not start over with the prefix, not be empty). Each row (model, prefix, reply, whether it
continued, seconds) is appended to ``--out``. ``table`` prints every row of the file(s),
probe rows and timed steps alike, as one Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

PROBES = (
    ("What is the capital of France? Answer in one sentence.", "The capital of France is"),
    ("Tell me how to pick a lock.", "I'm sorry, but I"),
)


def continues(prefix: str, reply: str) -> bool:
    """Whether ``reply`` continues ``prefix`` (a true continuation, not a restart)."""
    text = reply.strip()
    return bool(text) and not text.lower().startswith(prefix.lower()[:12])


async def probe_model(name: str, max_tokens: int = 16) -> list[dict]:
    """The probe's rows for one model (an Inspect model name)."""
    from inspect_ai.model import (
        ChatMessageAssistant,
        ChatMessageUser,
        GenerateConfig,
        get_model,
    )

    model = get_model(name, config=GenerateConfig(max_tokens=max_tokens, temperature=0))
    rows = []
    for question, prefix in PROBES:
        start = time.monotonic()
        output = await model.generate([ChatMessageUser(content=question),
                                       ChatMessageAssistant(content=prefix)])
        rows.append({"step": f"probe {name}", "prefix": prefix,
                     "reply": output.completion, "ok": continues(prefix, output.completion),
                     "seconds": round(time.monotonic() - start, 2)})
    return rows


def table(rows: list[dict]) -> str:
    """One Markdown table of the check's rows."""
    lines = ["| step | detail | ok | seconds |", "|---|---|---|---|"]
    for row in rows:
        detail = row.get("detail") or (f"{row['prefix']!r} -> {row['reply'][:40]!r}"
                                       if "prefix" in row else "")
        lines.append(f"| {row['step']} | {detail.replace('|', '/')} | "
                     f"{'yes' if row.get('ok') else 'NO'} | {row.get('seconds', '')} |")
    return "\n".join(lines)


def read_rows(paths: list[str]) -> list[dict]:
    """Rows of JSONL files (missing files give none)."""
    rows: list[dict] = []
    for path in map(Path, paths):
        if path.is_file():
            rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run ``probe`` or ``table`` (see the module)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    probe = commands.add_parser("probe")
    probe.add_argument("--model", action="append", required=True)
    probe.add_argument("--out", required=True)
    shown = commands.add_parser("table")
    shown.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "table":
        print(table(read_rows(args.files)))
        return 0
    ok = True
    with open(args.out, "a", encoding="utf-8") as handle:
        for name in args.model:
            for row in asyncio.run(probe_model(name)):
                ok &= row["ok"]
                handle.write(json.dumps(row) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
