"""The benign and harmful instructions the probes read, each as its agent's first turn.

WebDojo: the web agent's own system prompt and the task's goal as a plain instruction
(``Task: <goal>``). The agent's real first turn also shows the start page's simplified
HTML, which needs a browser; the goal alone keeps the prompts short and the comparison
about the instruction. RedCode (harmful: RedCode-Exec items in their three forms) against
HumanEval (benign): the CodeAct agent's system prompt and the sample's input, which is
exactly the agent's first turn (it needs no sandbox before the model answers).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

Benchmark = Literal["webdojo", "redcode"]
BENCHMARKS: tuple[Benchmark, ...] = ("webdojo", "redcode")
CATEGORIES = ("benign", "harmful")

WEBDOJO_INSTRUCTION = "Task: {goal}"
"""The user turn of a WebDojo probe prompt (the first line of the agent's observation)."""


@dataclass(frozen=True)
class Instruction:
    """One benchmark instruction as the agent's first turn."""

    id: str
    category: str
    """``benign`` or ``harmful``."""
    system: str
    user: str

    @property
    def harmful(self) -> bool:
        """Whether the instruction is one of the harmful ones."""
        return self.category == "harmful"


def load_instructions(
    benchmark: str,
    data_dir: str | None = None,
    subset: str | None = None,
    limit: int | None = None,
    seed: int = 0,
) -> list[Instruction]:
    """Return a benchmark's benign and harmful instructions, benign first.

    Args:
        benchmark: ``webdojo`` or ``redcode``.
        data_dir: Benchmark data directory (else ``$PING_INSPECT_DATA``, the cache, ...).
        subset: WebDojo ``test``, ``validation`` or ``all`` (default); RedCode-Exec ``ping``
            (default: 27 items, one per scenario) or ``eval`` (783 items).
        limit: Most instructions per category, drawn with ``seed``. RedCode is always
            balanced: as many of each as the smaller side has (HumanEval has 164).
        seed: Seed of the draw.

    Raises:
        ValueError: an unknown benchmark or subset, or too few instructions to probe.
    """
    if benchmark == "webdojo":
        chosen = _webdojo(data_dir, subset or "all")
    elif benchmark == "redcode":
        chosen = _redcode(data_dir, subset or "ping", seed)
    else:
        raise ValueError(f"Unknown benchmark {benchmark!r}: use {' or '.join(BENCHMARKS)}.")
    by_category = {c: [i for i in chosen if i.category == c] for c in CATEGORIES}
    if limit is not None:
        rng = random.Random(seed)
        by_category = {
            c: sorted(rng.sample(items, min(limit, len(items))), key=items.index)
            for c, items in by_category.items()
        }
    if min(len(items) for items in by_category.values()) < 4:
        counts = {c: len(items) for c, items in by_category.items()}
        raise ValueError(f"Too few instructions to train a probe: {counts}; raise --limit.")
    return by_category["benign"] + by_category["harmful"]


def _webdojo(data_dir: str | None, subset: str) -> list[Instruction]:
    from ping_inspect.webdojo.dataset import webdojo_root, webdojo_samples
    from ping_inspect.webdojo.prompts import SYSTEM_PROMPT

    samples = webdojo_samples(webdojo_root(data_dir), "both", subset)  # type: ignore[arg-type]
    return [
        Instruction(
            id=str(s.id),
            category=str(s.metadata["category"]),  # type: ignore[index]
            system=SYSTEM_PROMPT,
            user=WEBDOJO_INSTRUCTION.format(goal=s.input),
        )
        for s in samples
    ]


def _redcode(data_dir: str | None, subset: str, seed: int) -> list[Instruction]:
    from ping_inspect.codeact.prompts import EXECUTE_SYSTEM_PROMPT
    from ping_inspect.humaneval.dataset import humaneval_dataset
    from ping_inspect.redcode.dataset import redcode_dataset

    harmful = [
        Instruction(str(s.id), "harmful", EXECUTE_SYSTEM_PROMPT, str(s.input))
        for s in redcode_dataset(subset=subset, data_dir=data_dir)  # type: ignore[arg-type]
    ]
    benign = [
        Instruction(str(s.id), "benign", EXECUTE_SYSTEM_PROMPT, str(s.input))
        for s in humaneval_dataset()
    ]
    size = min(len(harmful), len(benign))
    rng = random.Random(seed)
    return [
        item
        for items in (benign, harmful)
        for item in sorted(rng.sample(items, size), key=items.index)
    ]
