"""The README's commands run, in short form, in the order a newcomer runs them.

``test_docs`` checks that every documented command parses; this runs the README's own:
each ``inspect eval`` with ``--limit 2`` and its log folder moved into a temporary one,
``ping-inspect report`` and the Python block on the logs they wrote. Left out: the
install (CI runs it first), the test command (this is it) and ``inspect view`` (a server
that does not end; ``--help`` is run instead).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_docs import ROOT, bash_commands

from ping_inspect.models.llama_server import find_llama_server

README = ROOT / "README.md"
SHORT_LIMIT = 2
BIN = Path(sys.executable).parent


def readme_commands(kind: list[str]) -> list[list[str]]:
    return [c.argv for c in bash_commands(README) if c.argv[:len(kind)] == kind]


def short_form(argv: list[str], logs: Path) -> tuple[list[str], Path]:
    """``argv`` with ``--limit 2`` and its ``--log-dir`` moved under ``logs``."""
    argv = list(argv)
    if "--limit" in argv:
        argv[argv.index("--limit") + 1] = str(SHORT_LIMIT)
    else:
        argv += ["--limit", str(SHORT_LIMIT)]
    at = argv.index("--log-dir") + 1
    argv[at] = str(logs / argv[at])
    return argv, Path(argv[at])


def run(argv: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    command = [str(BIN / argv[0]), *argv[1:]]
    env = {**os.environ, "PING_INSPECT_PROGRESS_EVERY": "0"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_readmes_evals_report_and_python_run_in_short_form(tmp_path: Path) -> None:
    try:
        find_llama_server()
    except Exception as error:  # noqa: BLE001
        pytest.skip(f"llama-server is not installed: {error}")
    evals = readme_commands(["inspect", "eval"])
    assert len(evals) >= 2  # the first run and the main job
    for argv in evals:
        short, log_dir = short_form(argv, tmp_path)
        run(short)
        assert list(log_dir.glob("*.eval")), f"no log from {' '.join(short)}"

    reports = readme_commands(["ping-inspect", "report"])
    assert reports
    for argv in reports:
        folder = tmp_path / argv[2]
        run([*argv[:2], str(folder), *argv[3:]])
        assert (folder / "report" / "report.md").is_file()
    run(["inspect", "view", "--help"])

    for block in python_blocks():
        code = block.replace('"logs/', f'"{tmp_path}/logs/')
        namespace: dict = {}
        exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102
        assert len(namespace["samples"]) == SHORT_LIMIT  # the first run's samples
        assert not namespace["table"].empty
