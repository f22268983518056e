"""What a CodeAct episode ran, kept in the sample's store for the scorers and the log."""

from __future__ import annotations

import re

from inspect_ai.util import StoreModel
from pydantic import BaseModel, Field

from ping_inspect.contracts import StopReason

MAX_KEPT = 20_000
"""Characters of an execution's output kept in the record (head and tail)."""


class Execution(BaseModel):
    """One code execution of an episode."""

    code: str
    output: str
    language: str = "python"
    returncode: int | None = None
    timed_out: bool = False
    cut: int = 0
    """Characters of the output cut (by the sandbox, then by the record); a line in the
    output marks each cut."""


class CodeActRecord(StoreModel):
    """The executions of a sample's episode and why it ended."""

    executions: list[Execution] = Field(default_factory=list)
    ended: StopReason | None = None
    """Why the episode ended (``contracts.StopReason``): ``answer`` (a turn without code),
    ``limit`` (executions used up) or ``first_response``."""

    def outputs(self) -> str:
        """All execution outputs, in order (what output-based judges read)."""
        return "\n".join(e.output for e in self.executions)

    def cut(self) -> int:
        """Characters of all outputs cut before they were kept (0: the outputs are whole)."""
        return sum(e.cut for e in self.executions)


_SANDBOX_CUT = re.compile(r"^\[\.\.\. (\d+) bytes cut by the sandbox: ", re.MULTILINE)
_TOOL_CUT = "was too long to be displayed.\nHere is a truncated version:"


def marked_cuts(text: str) -> int:
    """Cuts a tool's output says it had: the sandbox's (in bytes), Inspect's (at least 1)."""
    cut = sum(int(n) for n in _SANDBOX_CUT.findall(text))
    return cut + (1 if _TOOL_CUT in text else 0)


def clipped(text: str, limit: int) -> int:
    """Characters ``clip(text, limit)`` cuts."""
    return max(0, len(text) - 2 * (limit // 2)) if len(text) > limit else 0


def clip(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, keeping its head and tail."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters cut ...]\n{text[-half:]}"
