"""What a CodeAct episode ran, kept in the sample's store for the scorers and the log."""

from __future__ import annotations

from inspect_ai.util import StoreModel
from pydantic import BaseModel, Field

MAX_KEPT = 20_000
"""Characters of an execution's output kept in the record (head and tail)."""


class Execution(BaseModel):
    """One code execution of an episode."""

    code: str
    output: str
    language: str = "python"
    returncode: int | None = None
    timed_out: bool = False


class CodeActRecord(StoreModel):
    """The executions of a sample's episode and why it ended."""

    executions: list[Execution] = Field(default_factory=list)
    ended: str | None = None
    """``answer`` (a turn without code), ``limit`` (executions used up) or ``first_response``."""

    def outputs(self) -> str:
        """All execution outputs, in order (what output-based judges read)."""
        return "\n".join(e.output for e in self.executions)


def clip(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, keeping its head and tail."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters cut ...]\n{text[-half:]}"
