"""Progress lines with an ETA when ``inspect eval`` does not write to a terminal.

On a terminal Inspect shows a live progress display; with output to a file or a pipe
(a batch job, ``nohup``, CI) it shows nothing until the task ends, which for the main job
is many minutes of silence. This hook (registered by the package's entry point) prints
one line to stderr every ``PING_INSPECT_PROGRESS_EVERY`` finished samples (default: every
5% of the task), and at the last one::

    ping-inspect: webdojo (llamacpp/smollm2) 13/126 samples, 1m42s elapsed, about 14m48s left

Nothing is printed on a terminal, under ``--display none``, or with
``PING_INSPECT_PROGRESS_EVERY=0``.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field

from inspect_ai.hooks import Hooks, SampleEnd, TaskEnd, TaskStart, hooks
from inspect_ai.util import display_type

EVERY_ENV = "PING_INSPECT_PROGRESS_EVERY"


@dataclass
class TaskProgress:
    """Finished samples of one running task, and when it started."""

    label: str
    total: int
    every: int
    started: float = field(default_factory=time.monotonic)
    done: int = 0

    def finish_sample(self, now: float | None = None) -> str | None:
        """Count a finished sample; return the line to print, if one is due."""
        self.done += 1
        if self.done % self.every and self.done != self.total:
            return None
        elapsed = (now if now is not None else time.monotonic()) - self.started
        line = f"ping-inspect: {self.label} {self.done}/{self.total} samples, " \
               f"{duration(elapsed)} elapsed"
        if self.done < self.total:
            line += f", about {duration(elapsed / self.done * (self.total - self.done))} left"
        return line


def duration(seconds: float) -> str:
    """``1h02m``, ``14m48s`` or ``42s``."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def progress_every(total: int, setting: str | None) -> int:
    """Samples between lines: the setting, else 5% of the task (0: no lines)."""
    if setting is None or not setting.strip():
        return max(1, round(total / 20))
    try:
        every = int(setting)
    except ValueError as err:
        raise ValueError(f"{EVERY_ENV} must be a whole number of samples, not {setting!r}") \
            from err
    if every < 0:
        raise ValueError(f"{EVERY_ENV} must be 0 (no lines) or more, not {every}")
    return every


def _wanted() -> bool:
    return not sys.stdout.isatty() and display_type() != "none"


@hooks(name="progress_lines", description="Progress lines with an ETA when not on a terminal.")
class ProgressLines(Hooks):
    """Print a line per N finished samples, with an ETA, when output is not a terminal."""

    def __init__(self) -> None:
        self.tasks: dict[str, TaskProgress] = {}

    async def on_task_start(self, data: TaskStart) -> None:
        """Start counting a task's samples (all of them: limit and epochs applied)."""
        if not _wanted():
            return
        spec = data.spec
        total = len(spec.dataset.sample_ids or []) * (spec.config.epochs or 1)
        every = progress_every(total, os.environ.get(EVERY_ENV))
        if total and every:
            self.tasks[data.eval_id] = TaskProgress(f"{spec.task} ({spec.model})", total, every)

    async def on_sample_end(self, data: SampleEnd) -> None:
        """Count the sample; print a line when one is due."""
        progress = self.tasks.get(data.eval_id)
        line = progress.finish_sample() if progress else None
        if line:
            print(line, file=sys.stderr, flush=True)

    async def on_task_end(self, data: TaskEnd) -> None:
        """Forget the task."""
        self.tasks.pop(data.eval_id, None)
