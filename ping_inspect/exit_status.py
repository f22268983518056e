"""A failed ``inspect eval`` of this package's tasks exits non-zero, with one clear line.

Inspect's ``inspect eval`` exits 0 whatever the logs' status (only ``eval-set`` reports
it), and under ``--display none`` it prints nothing about an error. This hook (registered
by the package's entry point) reads every log at the run's end: for each log that did not
succeed it prints ``ping-inspect: <task> failed: <first line of the error>`` to stderr,
and, when the process is the ``inspect eval`` command, makes its exit status 1.
"""

from __future__ import annotations

import atexit
import os
import sys
from pathlib import Path

from inspect_ai.hooks import Hooks, RunEnd, hooks

_failed: list[str] = []


def _is_inspect_eval() -> bool:
    return Path(sys.argv[0]).name == "inspect" and sys.argv[1:2] == ["eval"]


def failure_lines(data: RunEnd) -> list[str]:
    """One line per log of the run that did not succeed (and for a run that raised)."""
    lines = []
    for log in data.logs:
        if log.status == "success":
            continue
        reason = log.error.message if log.error else str(log.status)
        first = next((line for line in reason.strip().splitlines() if line.strip()), "")
        lines.append(f"ping-inspect: {log.eval.task} {log.status}: {first.strip()}")
    if data.exception is not None and not lines:
        first = (str(data.exception).strip().splitlines() or [type(data.exception).__name__])[0]
        lines.append(f"ping-inspect: the eval failed: {first}")
    return lines


def _exit_failed() -> None:
    if _failed:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)


if _is_inspect_eval():
    # Registered when Inspect loads the package (before any clean-up registers its own), so
    # that it runs last: every other exit handler has run when it sets the status.
    atexit.register(_exit_failed)


@hooks(name="failed_runs_exit_non_zero",
       description="A failed inspect eval prints one line and exits non-zero.")
class FailedRunsExitNonZero(Hooks):
    """Print one line per failed log; make ``inspect eval`` exit 1 when one failed."""

    async def on_run_end(self, data: RunEnd) -> None:
        """Report the run's failed logs (and remember them for the exit status)."""
        lines = failure_lines(data)
        for line in lines:
            print(line, file=sys.stderr, flush=True)
        if lines and _is_inspect_eval():
            _failed.extend(lines)
