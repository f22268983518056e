"""Progress lines with an ETA when ``inspect eval`` output is not a terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ping_inspect.progress import TaskProgress, duration, progress_every

ROOT = Path(__file__).resolve().parents[1]


def test_a_line_every_n_samples_and_at_the_last_with_an_eta() -> None:
    progress = TaskProgress("webdojo (llamacpp/smollm2)", total=5, every=2, started=0.0)
    lines = [progress.finish_sample(now=10.0 * (i + 1)) for i in range(5)]
    assert lines[0] is None and lines[2] is None
    assert lines[1] == ("ping-inspect: webdojo (llamacpp/smollm2) 2/5 samples, 20s elapsed, "
                        "about 30s left")
    assert lines[4] == "ping-inspect: webdojo (llamacpp/smollm2) 5/5 samples, 50s elapsed"


def test_every_defaults_to_5_percent_and_rejects_what_is_not_a_count() -> None:
    assert progress_every(126, None) == 6 and progress_every(4, "") == 1
    assert progress_every(126, "0") == 0 and progress_every(126, "10") == 10
    for bad in ("ten", "-1"):
        with pytest.raises(ValueError, match="PING_INSPECT_PROGRESS_EVERY"):
            progress_every(126, bad)


def test_durations_read_short() -> None:
    assert (duration(42), duration(888), duration(3720)) == ("42s", "14m48s", "1h02m")


def test_inspect_eval_to_a_pipe_prints_progress_lines(tmp_path: Path) -> None:
    task = tmp_path / "count.py"
    task.write_text(
        "from inspect_ai import Task, task\n"
        "from inspect_ai.dataset import Sample\n"
        "from inspect_ai.solver import system_message\n"
        "@task\n"
        "def count():\n"  # no model call: the mock model would fetch a tokenizer
        "    return Task(dataset=[Sample(input=str(i)) for i in range(4)],\n"
        "                solver=system_message('Count.'))\n")
    inspect = Path(sys.executable).with_name("inspect")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PING_INSPECT_PROGRESS_EVERY": "2"}
    result = subprocess.run(
        [str(inspect), "eval", "count.py", "--model", "mockllm/model", "--log-dir",
         str(tmp_path / "logs")], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300)
    lines = [line for line in result.stderr.splitlines() if line.startswith("ping-inspect:")]
    assert result.returncode == 0, result.stderr[-2000:]
    assert [line.split(", ")[0] for line in lines] == [
        "ping-inspect: count (mockllm/model) 2/4 samples",
        "ping-inspect: count (mockllm/model) 4/4 samples"], result.stderr[-2000:]
