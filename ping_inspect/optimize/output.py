"""The search's result as a file that ``ping`` reads (``-S prefix_file=best.yaml``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from ping_inspect import __version__
from ping_inspect.contracts import SearchResult
from ping_inspect.optimize.state import write_atomically

HEADER = (
    "# A PING prefix found by ping_inspect/ping_optimize. Use it with:\n"
    "#   inspect eval tasks/<benchmark>.py --solver ping -S prefix_file={path}\n"
)


def prefix_document(result: SearchResult, provenance: dict[str, Any]) -> dict[str, Any]:
    """Return the file's content: the prefix, then its scores, cost and provenance."""
    keys = ("selection", "heldout", "chosen_on", "ci_method", "ci_level",
            "heldout_gap_to_runner_up")
    return {
        "prefix": result["prefix"],
        "scores": {k: result.get(k) for k in keys if result.get(k) is not None},
        "cost": result.get("cost"),
        "search": {
            "benchmark": result.get("benchmark"),
            "mode": result.get("mode"),
            "fitness": result.get("fitness"),
            "fitness_definition": result.get("fitness_definition"),
            "rounds_run": result.get("rounds_run"),
            "candidates_evaluated": result.get("candidates_evaluated"),
            "stopped": result.get("stopped"),
            "finalists": result.get("finalists"),
            "selection_tasks": result.get("selection_tasks"),
            "heldout_tasks": result.get("heldout_tasks"),
        },
        "provenance": {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "ping_inspect": __version__,
            **provenance,
            "winner_logs": result.get("logs"),
        },
    }


def write_prefix_file(path: str | Path, result: SearchResult,
                      provenance: dict[str, Any]) -> Path:
    """Write the winning prefix with its scores and provenance as YAML.

    Args:
        path: Where to write (parent folders are created).
        result: The search's result (``PrefixSearch.run``).
        provenance: Target model, generator, state and log paths, arguments.

    Raises:
        ValueError: the result has no prefix (nothing was evaluated).
    """
    if not result.get("prefix"):
        raise ValueError(f"The search found no prefix: {result.get('why', 'no result')}")
    path = Path(path)
    body = yaml.safe_dump(prefix_document(result, provenance), sort_keys=False,
                          allow_unicode=True, width=100)
    write_atomically(path, HEADER.format(path=path) + body)
    return path
