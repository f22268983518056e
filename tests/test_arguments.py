"""Task and solver arguments are checked where they are given, and the error reads short."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ping_inspect.arguments import ArgumentError, int_ranges, short_errors
from ping_inspect.data import DataError
from ping_inspect.defences import defend, fewshot, guard, ping
from ping_inspect.humaneval.task import humaneval_task
from ping_inspect.inspect_compat import PrerequisiteError
from ping_inspect.redcode.task import redcode_task
from ping_inspect.webdojo.task import webdojo_task

ROOT = Path(__file__).resolve().parents[1]


def test_ranges_parse_and_reject_what_the_user_cannot_mean() -> None:
    assert int_ranges("scenarios", "1-3,8", range(1, 28)) == [1, 2, 3, 8]
    assert int_ranges("scenarios", ["1-3", 8], range(1, 28)) == [1, 2, 3, 8]
    assert int_ranges("problems", "HumanEval/3", range(164), strip="HumanEval/") == [3]
    assert int_ranges("scenarios", None, range(1, 28)) is None
    for spec, words in (("5-2", "range '5-2' is empty"), ("abc", "'abc' is not a number"),
                        ("28", "[28] do not exist; valid: 1..27"), ("", "not a number"),
                        (True, "not a number"), ("-3", "not a number")):
        with pytest.raises(ArgumentError, match=r"Argument scenarios=.*" + words.replace(
                "[", r"\[").replace("]", r"\]")):
            int_ranges("scenarios", spec, range(1, 28))


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (lambda: webdojo_task(max_steps=-1), "max_steps=-1 is out of range: use an integer >= 1"),
        (lambda: webdojo_task(max_steps=0), "max_steps=0"),
        (lambda: webdojo_task(subset="dev"), "subset='dev' is invalid: use one of test, valid"),
        (lambda: webdojo_task(split="evil"), "split='evil'"),
        (lambda: webdojo_task(agent="robot"), "agent='robot'"),
        (lambda: webdojo_task(max_tokens=0), "max_tokens=0"),
        (lambda: webdojo_task(judge="maybe"), "judge='maybe' is invalid: use true or false"),
        (lambda: webdojo_task(observation_chars="lots"), "observation_chars='lots'"),
        (lambda: redcode_task(scenarios="5-2"), "scenarios='5-2' is invalid: the range"),
        (lambda: redcode_task(scenarios="abc"), "scenarios='abc' is invalid"),
        (lambda: redcode_task(scenarios=[0]), r"scenarios=\[0\] is invalid"),
        (lambda: redcode_task(forms="prose"), "forms='prose' is invalid"),
        (lambda: redcode_task(subset="all"), "subset='all' is invalid: use one of eval, ping"),
        (lambda: redcode_task(sandbox="local"), "sandbox='local' is invalid: use one of bwrap"),
        (lambda: redcode_task(max_executions=0), "max_executions=0"),
        (lambda: redcode_task(exec_timeout=-5), "exec_timeout=-5"),
        (lambda: humaneval_task(problems="9-1"), "problems='9-1' is invalid"),
        (lambda: humaneval_task(problems=164), "problems=164 is invalid"),
        (lambda: humaneval_task(test_timeout=0), "test_timeout=0"),
        (lambda: humaneval_task(first_response="no way"), "first_response='no way'"),
    ],
)
def test_every_task_argument_is_checked_at_construction(build, words: str) -> None:
    with pytest.raises(ArgumentError, match=words):
        build()


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (lambda: ping(mode="fast"), "mode='fast' is invalid: use one of auto, native, user_suffix"),
        (lambda: defend("ptst", mode=3), "mode=3"),
        (lambda: fewshot(benign=-1), "benign=-1 is out of range: use an integer >= 0"),
        (lambda: fewshot(harmful="five"), "harmful='five'"),
        (lambda: fewshot(benign=0, harmful=0), "shows nothing"),
        (lambda: defend("fewshot", fewshot_harmful=1.5), "fewshot_harmful=1.5"),
        (lambda: guard(role=""), "role='' is invalid"),
        (lambda: defend("magic"), r"Unknown defence\(s\) \['magic'\] in argument defences"),
    ],
)
def test_defence_solver_arguments_are_checked_at_construction(build, words: str) -> None:
    with pytest.raises(ArgumentError, match=words):
        build()


def test_argument_and_data_errors_are_inspect_prerequisite_errors() -> None:
    # The Inspect CLI prints a PrerequisiteError's message alone, without a traceback.
    error = ArgumentError("Argument x=[1, 2] is invalid: use [bold]true[/bold].")
    assert isinstance(error, PrerequisiteError) and isinstance(error, ValueError)
    assert str(error) == "Argument x=[1, 2] is invalid: use [bold]true[/bold]."
    assert error.message == r"Argument x=[1, 2] is invalid: use \[bold]true\[/bold]."
    assert issubclass(DataError, PrerequisiteError)

    def factory() -> None:
        raise ValueError("Unknown search mode 'fast': use faithful or racing.")

    with pytest.raises(ArgumentError, match="Unknown search mode 'fast'"):
        short_errors(factory)()


def _inspect(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "INSPECT_LOG_DIR": "/tmp/ping-inspect-args"}
    inspect = Path(sys.executable).with_name("inspect")
    return subprocess.run([str(inspect), "eval", *args, "--model", "mockllm/model"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["tasks/webdojo.py", "-T", "max_steps=-1"], "Argument max_steps=-1 is out of range"),
        (["tasks/redcode.py", "-T", "scenarios=5-2"], "the range '5-2' is empty"),
        (["tasks/humaneval.py", "--solver", "fewshot", "-S", "benign=-2"], "benign=-2"),
        (["tasks/ping_optimize.py", "-T", "search=fast"], "Unknown search mode 'fast'"),
        (["tasks/webdojo.py", "-T", "data_dir=/nonexistent"], "webdojo data unavailable"),
    ],
)
def test_the_cli_prints_an_argument_error_as_a_short_message(args: list[str], words: str) -> None:
    result = _inspect(*args)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert words in output, output[-2000:]
    assert "Traceback" not in output and len((result.stdout + result.stderr).splitlines()) < 25
