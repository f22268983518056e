"""Every command in the README and docs/*.md parses against what it calls.

The ```bash blocks of README.md and docs/*.md are split into commands (continued lines
joined, ``&&`` chains split). Each command of a kind listed in ``CHECKS`` is checked
without running anything long: ``inspect eval`` of a task file (the file exists, every
``-T`` argument is a parameter of its task, a ``--model`` is given), ``ping-inspect``
(its parser accepts the arguments), ``python``/``bash`` scripts of this repository (the
file exists). Commands of other kinds (pip, cd, shell set-up) are not checked. A failure
names the page and line.
"""

from __future__ import annotations

import ast
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ping_inspect.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclass(frozen=True)
class Command:
    page: str
    line: int
    argv: list[str]

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {shlex.join(self.argv)}"


def bash_commands(path: Path) -> Iterator[Command]:
    """The commands of a page's ```bash blocks, with the line each starts on."""
    in_block, pending, start = False, "", 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("```"):
            in_block = stripped == "```bash" and not in_block
            pending = ""
            continue
        if not in_block:
            continue
        text = re.sub(r"(^|\s)#.*$", "", raw).strip()  # comments out
        if not pending:
            start = number
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        whole, pending = pending + text, ""
        for part in whole.split("&&"):
            try:
                argv = shlex.split(part)
            except ValueError:
                argv = part.split()
            argv = [a for a in argv if not re.fullmatch(r"[A-Z_]+=\S*", a)] if argv else []
            while argv and re.fullmatch(r"[A-Z_]+=\S*", argv[0]):
                argv = argv[1:]
            if argv:
                yield Command(path.relative_to(ROOT).as_posix(), start, argv)


def task_parameters(task_file: Path) -> set[str] | None:
    """Parameters of the ``@task`` functions in a task file (following its imports)."""
    tree = ast.parse(task_file.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and any(
                "task" in ast.unparse(d) for d in node.decorator_list):
            names |= {a.arg for a in node.args.args + node.args.kwonlyargs}
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(
                "ping_inspect"):
            module = __import__(node.module, fromlist=["_"])
            for alias in node.names:
                obj = getattr(module, alias.name, None)
                if callable(obj):
                    import inspect

                    target = getattr(obj, "__wrapped__", obj)
                    try:
                        names |= set(inspect.signature(target).parameters)
                    except (TypeError, ValueError):
                        pass
    return names or None


def check_inspect_eval(command: Command) -> str | None:
    argv = command.argv
    if len(argv) < 3 or not argv[2].endswith(".py"):
        return None  # a registry task (inspect_evals/...) or a user's own file
    task_file = ROOT / argv[2].split("@")[0]
    if argv[2].startswith("my_"):
        return None
    if not task_file.is_file():
        return f"no task file {argv[2]}"
    if "--model" not in argv:
        return "no --model (Inspect would stop with a traceback)"
    parameters = task_parameters(task_file) or set()
    for flag, value in zip(argv, argv[1:], strict=False):
        if flag == "-T":
            name = value.partition("=")[0]
            if name not in parameters:
                return f"-T {name} is not a parameter of {argv[2]}'s task"
    return None


def check_ping_inspect(command: Command) -> str | None:
    if any(a in ("...", "-M") or "<" in a for a in command.argv):
        return None  # an abbreviated example
    try:
        build_parser().parse_args(command.argv[1:])
    except SystemExit as exit_:
        return f"ping-inspect rejects the arguments (exit {exit_.code})"
    return None


def check_script(command: Command) -> str | None:
    script = next((a for a in command.argv[1:] if a.endswith((".py", ".sh"))), None)
    if script is None or command.argv[1] in ("-m", "-c"):
        return None
    return None if (ROOT / script).is_file() else f"no file {script}"


CHECKS: dict[str, Callable[[Command], str | None]] = {
    "inspect eval": check_inspect_eval,
    "ping-inspect": check_ping_inspect,
    "python": check_script,
    "bash": check_script,
}
"""The command kinds checked, by their first word(s); every other kind is left alone."""


def checked_commands() -> Iterator[tuple[Callable[[Command], str | None], Command]]:
    for page in PAGES:
        for command in bash_commands(page):
            for kind, check in CHECKS.items():
                if command.argv[:len(kind.split())] == kind.split():
                    yield check, command
                    break


def test_every_documented_command_is_valid() -> None:
    failures = [f"{command}\n    -> {why}" for check, command in checked_commands()
                if (why := check(command))]
    assert not failures, "documented commands that would fail:\n" + "\n".join(failures)


def test_the_readme_shows_a_first_run_and_the_tests() -> None:
    commands = [c.argv for c in bash_commands(ROOT / "README.md")]
    assert ["python", "-m", "pytest"] in commands
    assert any(c[:2] == ["inspect", "eval"] and "--limit" in c for c in commands)


def test_the_ci_runs_the_readmes_test_command() -> None:
    assert "\npython -m pytest\n" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


@pytest.mark.parametrize("text, why", [
    ("inspect eval tasks/humaneval.py -T problems=0-39", "no --model"),
    ("inspect eval tasks/humaneval.py --model m -T nonsense=1", "not a parameter"),
    ("ping-inspect report", "rejects"),
])
def test_a_broken_command_is_caught(text: str, why: str) -> None:
    command = Command("page.md", 1, shlex.split(text))
    check = next(c for k, c in CHECKS.items() if text.startswith(k))
    assert why in (check(command) or "")
