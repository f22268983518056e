"""Bad input (C1-C27, X1-X4): every argument or file the user cannot mean is one clear error.

Each case is checked where Inspect builds the task or solver (the CLI prints these errors
as one line; tests/test_arguments.py runs a few through ``inspect eval`` itself).
"""

from __future__ import annotations

import os

import pytest

from ping_inspect.arguments import ArgumentError
from ping_inspect.defences import defend, ping
from ping_inspect.humaneval.task import humaneval_task
from ping_inspect.redcode.task import redcode_task
from ping_inspect.webdojo.task import webdojo_task

pytestmark = [pytest.mark.security]

FILES = {
    "C1 binary.txt": os.urandom(4096).replace(b"\0", b"\1") + b"\0",
    "C2 empty.txt": b"",
    "C3 blank.txt": b"  \n\t\n ",
    "C5 unclosed.yaml": b"prefix: [unclosed",
    "C6 nokey.yaml": b"other: text",
    "C7 truncated.json": b'{"prefix": "Sure',
    "not utf-8.txt": b"\xff\xfe\xfa prefix",
}


@pytest.mark.parametrize("name", list(FILES))
def test_a_bad_prefix_file_is_an_error_naming_it(name: str, tmp_path) -> None:
    path = tmp_path / name.split(" ", 1)[1]
    path.write_bytes(FILES[name])
    with pytest.raises(ValueError, match=path.name):
        ping(prefix_file=str(path))


def test_a_missing_prefix_file_is_an_error_naming_it(tmp_path) -> None:  # C8
    with pytest.raises(ValueError, match="missing.txt"):
        ping(prefix_file=str(tmp_path / "missing.txt"))


def test_a_huge_prefix_file_is_refused(tmp_path) -> None:  # C4
    path = tmp_path / "huge.txt"
    path.write_text("a" * 1_050_003)
    with pytest.raises(ValueError, match="huge.txt"):
        ping(prefix_file=str(path))


@pytest.mark.parametrize(("build", "words"), [
    (lambda: ping(prefix=["Sure", " here is"]), "prefix"),  # C9: the CLI's comma split
    (lambda: ping(prefix=None), "prefix"),  # C11: '# ...' is YAML's null
    (lambda: ping(prefix=3.1), "prefix"),  # C12
    (lambda: ping(prefix=True), "prefix"),  # C12
    (lambda: ping(prefix={"a": 1}), "prefix"),
    (lambda: ping(preset="nope"), "nope"),  # C14
    (lambda: ping(preset=""), "preset"),  # X4
    (lambda: ping(mode="bogus"), "bogus"),  # C15
    (lambda: ping(mode=""), "mode"),  # X4
    (lambda: defend("ping+bogus"), "bogus"),  # C16
    (lambda: defend("ping+suffix"), "choose one"),  # C16
    (lambda: defend(""), "names no defence"),  # X2
    (lambda: defend("+"), "names no defence"),  # X2
], ids=["C9", "C11", "C12 number", "C12 bool", "mapping", "C14", "X4 preset", "C15",
        "X4 mode", "C16 bogus", "C16 suffix", "X2", "X2 plus"])
def test_a_bad_solver_argument_is_an_error(build, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        build()


def test_a_preset_with_a_prefix_file_is_an_error(tmp_path) -> None:  # C13
    path = tmp_path / "p.txt"
    path.write_text("I must check this request for safety first.")
    with pytest.raises(ValueError):
        ping(preset="web_glm", prefix_file=str(path))


@pytest.mark.parametrize(("build", "words"), [
    (lambda: webdojo_task(split="nope"), "split"),  # C21
    (lambda: webdojo_task(subset="nope"), "subset"),
    (lambda: webdojo_task(agent="nope"), "agent"),
    (lambda: webdojo_task(split=""), "split"),  # X4
    (lambda: webdojo_task(max_steps=""), "max_steps"),  # X4
    (lambda: webdojo_task(max_steps=-1), "max_steps"),  # C26
    (lambda: redcode_task(scenarios=99), "scenarios"),  # C22
    (lambda: redcode_task(forms="nope"), "forms"),
    (lambda: redcode_task(subset="nope"), "subset"),
    (lambda: redcode_task(sandbox="local"), "sandbox"),
    (lambda: redcode_task(subset=""), "subset"),  # X4
    (lambda: redcode_task(sandbox=""), "sandbox"),  # X4
    (lambda: redcode_task(scenarios="abc"), "scenarios"),  # C23
    (lambda: redcode_task(scenarios="5-2"), "empty"),  # C24
    (lambda: redcode_task(scenarios=","), "scenarios"),  # C24
    (lambda: redcode_task(scenarios=""), "scenarios"),  # C24
    (lambda: redcode_task(forms=""), "forms"),  # X1
    (lambda: humaneval_task(problems="abc"), "problems"),  # C23
    (lambda: humaneval_task(problems="500-600"), "0..163"),  # C25a
    (lambda: humaneval_task(problems="160-170"), "problems"),  # C25b
    (lambda: humaneval_task(problems=""), "problems"),  # X3
], ids=["C21 split", "C21 subset", "C21 agent", "X4 split", "X4 max_steps", "C26",
        "C22 scenarios", "C22 forms", "C22 subset", "C22 sandbox", "X4 subset", "X4 sandbox",
        "C23 redcode", "C24 reversed", "C24 comma", "C24 empty", "X1", "C23 humaneval",
        "C25a", "C25b", "X3"])
def test_a_bad_task_argument_is_an_error(build, words: str) -> None:
    with pytest.raises(ArgumentError, match=words):
        build()


def test_a_report_of_no_readable_log_names_the_file_and_exits_non_zero(
        tmp_path, capsys) -> None:  # C29
    import argparse

    from ping_inspect.report.cli import run

    (tmp_path / "random.eval").write_bytes(os.urandom(2048))
    code = run(argparse.Namespace(log_dir=str(tmp_path), out=None, no_plot=True))
    err = capsys.readouterr().err
    assert code == 1
    assert "random.eval" in err and "the report is empty" in err
