"""Lining up the tokens of the three conditions for the per-token figure.

The conditions' prompts differ: the suffix condition has the text inside the user turn,
the prefix condition after the assistant header. Each prompt is cut into segments
(instruction, suffix, template, prefix) and every segment gets as many columns as its
longest version, so the instruction's tokens, the end-of-turn tokens and the injected
text sit in the same columns for every condition that has them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ping_inspect.probes.conditions import RenderedPrompt

SHOWN_SEGMENTS = ("instruction", "suffix", "template", "prefix")


@dataclass(frozen=True)
class Alignment:
    """Columns of the per-token figure and where each condition's tokens fall."""

    labels: list[str]
    """One label per column (the token's text; the first condition that has it)."""
    segments: list[str]
    """The segment of each column."""
    columns: dict[str, list[int]]
    """Per condition: the column of each shown token, in prompt order."""
    first: dict[str, int]
    """Per condition: the index in the prompt of its first shown token."""


def first_shown(prompt: RenderedPrompt, max_instruction_tokens: int) -> int:
    """Return the index of the first token shown: the last instruction tokens and on."""
    instruction = [i for i, s in enumerate(prompt.segments) if s == "instruction"]
    if not instruction:
        raise ValueError(f"The {prompt.condition} prompt has no instruction tokens.")
    return instruction[max(0, len(instruction) - max_instruction_tokens)]


def align(prompts: dict[str, RenderedPrompt], max_instruction_tokens: int = 48) -> Alignment:
    """Place the shown tokens of each condition in shared columns.

    Args:
        prompts: One rendered prompt per condition (same instruction).
        max_instruction_tokens: Most instruction tokens shown (the last ones).
    """
    first = {c: first_shown(p, max_instruction_tokens) for c, p in prompts.items()}
    by_segment = {
        c: {s: [i for i in range(first[c], len(p.ids)) if p.segments[i] == s]
            for s in SHOWN_SEGMENTS}
        for c, p in prompts.items()
    }
    labels: list[str] = []
    segments: list[str] = []
    columns: dict[str, list[int]] = {c: [] for c in prompts}
    for segment in SHOWN_SEGMENTS:
        width = max(len(tokens[segment]) for tokens in by_segment.values())
        start = len(labels)
        labels += [""] * width
        segments += [segment] * width
        for condition, tokens in by_segment.items():
            indices = tokens[segment]
            # Instructions are cut at their start: line them up at their end.
            offset = width - len(indices) if segment == "instruction" else 0
            for k, index in enumerate(indices):
                column = start + offset + k
                columns[condition].append(column)
                if not labels[column]:
                    labels[column] = prompts[condition].labels[index]
    return Alignment(labels, segments, columns, first)
