"""A failed ``inspect eval`` of the package's tasks exits non-zero with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_an_eval_without_a_model_exits_non_zero_with_one_line_under_display_none(
        tmp_path) -> None:
    inspect = Path(sys.executable).with_name("inspect")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "INSPECT_LOG_DIR": str(tmp_path)}
    env.pop("INSPECT_EVAL_MODEL", None)
    result = subprocess.run([str(inspect), "eval", "tasks/humaneval.py", "--display", "none"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    lines = [line for line in result.stderr.splitlines() if line.startswith("ping-inspect:")]
    assert result.returncode == 1, result.stderr[-2000:]
    assert lines == ["ping-inspect: humaneval error: No model specified (and no model "
                     "environment variable defined)"]
    assert "Traceback" not in result.stderr
