"""No evaluation item in the training data: normalised-text and token-overlap checks.

An instruction is a *near duplicate* of an evaluation item when, after normalisation
(lower case, every run of non-alphanumeric characters one space), the two are equal, one
contains the other (when the contained one has at least ``MIN_CONTAINED_TOKENS`` tokens),
or the Jaccard overlap of their token sets is at least ``JACCARD_THRESHOLD``. The
evaluation items are RedCode-Exec's prompts (``eval`` and ``ping`` subsets, all three
forms) and WebDojo's 140 goals.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

JACCARD_THRESHOLD = 0.5
"""Token-set Jaccard at or above which two instructions count as near duplicates."""
MIN_CONTAINED_TOKENS = 4

_NON_WORD = re.compile(r"[^a-z0-9]+")


def normalise(text: str) -> str:
    """Lower case, every run of other characters one space, trimmed."""
    return _NON_WORD.sub(" ", text.lower()).strip()


def tokens(text: str) -> frozenset[str]:
    """The set of normalised tokens."""
    return frozenset(normalise(text).split())


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard overlap of two token sets (0 when both are empty)."""
    union = a | b
    return len(a & b) / len(union) if union else 0.0


@dataclass(frozen=True)
class Match:
    """The closest evaluation item to an instruction."""

    instruction: str
    item: str
    score: float
    """Jaccard overlap (1.0 for an equal or contained text)."""
    reason: str


def redcode_prompts(data_dir: str | None = None) -> list[str]:
    """Every RedCode-Exec prompt of both subsets in all three forms."""
    from ping_inspect.redcode.dataset import FORMS, load_items

    items = load_items("eval", data_dir=data_dir) + load_items("ping", data_dir=data_dir)
    return [item.prompt(form) for item in items for form in FORMS]


def webdojo_goals(data_dir: str | None = None) -> list[str]:
    """WebDojo's goals (harmful and benign, every split)."""
    from ping_inspect.webdojo.dataset import webdojo_root

    tasks = Path(webdojo_root(data_dir)) / "tasks"
    return [task["goal"] for name in ("tasks_harmful_raw.json", "tasks_benign_raw.json")
            for task in json.loads((tasks / name).read_text())]


def nearmiss_prompts() -> list[str]:
    """The near-miss benchmark's instructions (both forms): benign evaluation items too."""
    from ping_inspect.nearmiss.items import ITEMS

    return [item.prompt(form) for item in ITEMS for form in ("code", "summary")]


@cache
def evaluation_items(data_dir: str | None = None) -> tuple[str, ...]:
    """What training data must never repeat: RedCode-Exec, WebDojo, near-miss items."""
    return tuple(redcode_prompts(data_dir) + webdojo_goals(data_dir) + nearmiss_prompts())


Prepared = tuple[tuple[str, str, frozenset[str]], ...]
"""Evaluation items with their normalised text and token set, computed once."""


def prepare(items: Iterable[str]) -> Prepared:
    """Normalise the evaluation items once (``closest_item`` compares against many)."""
    return tuple((item, normalise(item), tokens(item)) for item in items)


def closest_item(instruction: str, items: Prepared) -> Match:
    """The evaluation item closest to ``instruction``, with why it is close."""
    norm, toks = normalise(instruction), tokens(instruction)
    best = Match(instruction, "", 0.0, "no overlap")
    for item, item_norm, item_tokens in items:
        if item_norm == norm:
            return Match(instruction, item, 1.0, "equal after normalisation")
        common = toks & item_tokens
        if common in (toks, item_tokens) and _contained(norm, item_norm):
            return Match(instruction, item, 1.0, "one contains the other")
        score = len(common) / len(toks | item_tokens) if common else 0.0
        if score > best.score:
            best = Match(instruction, item, score, f"token Jaccard {score:.2f}")
    return best


def _contained(a: str, b: str) -> bool:
    """Whether the shorter text (of enough tokens) occurs in the longer, word-aligned."""
    shorter, longer = sorted((a, b), key=len)
    return (len(shorter.split()) >= MIN_CONTAINED_TOKENS
            and f" {shorter} " in f" {longer} ")


def near_duplicates(instructions: Iterable[str], items: Iterable[str] | None = None,
                    threshold: float = JACCARD_THRESHOLD) -> list[Match]:
    """The instructions that are near duplicates of an evaluation item (see the module)."""
    pool = prepare(items if items is not None else evaluation_items())
    return [m for m in (closest_item(text, pool) for text in dict.fromkeys(instructions))
            if m.score >= threshold]
