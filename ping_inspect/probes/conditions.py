"""The three conditions a probe compares, rendered the way the model reads them.

- ``none``: the instruction with the assistant turn opened (no defence).
- ``prefix``: the text at the start of the assistant's turn, left open (PING's native
  prefill: the model would continue from it).
- ``suffix``: the same text appended to the user turn (the paper's suffix ablation, and
  what PING falls back to for models that cannot continue a turn).

Messages go through ``ping_inspect.prefill.with_prefix`` and the local provider's
rendering, so a probe prompt is token for token what the model answers in an eval.
Each token is also labelled with the part of the prompt it belongs to, which is how the
per-token figure lines the three conditions up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ping_inspect.probes.instructions import Instruction

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

CONDITIONS = ("none", "prefix", "suffix")


@dataclass(frozen=True)
class RenderedPrompt:
    """A prompt in one condition: its text, token ids and each token's segment."""

    condition: str
    text: str
    ids: list[int]
    segments: list[str]
    labels: list[str]
    """Each token's text as the tokenizer decodes it alone."""


def condition_messages(
    instruction: Instruction, condition: str, text: str
) -> tuple[list[dict[str, Any]], bool]:
    """Return the chat and whether its final (assistant) message is left open.

    Args:
        instruction: The benchmark instruction.
        condition: ``none``, ``prefix`` or ``suffix``.
        text: The prefix text (unused for ``none``).

    Raises:
        ValueError: an unknown condition, or an empty text for ``prefix``/``suffix``.
    """
    from inspect_ai.model import ChatMessageSystem, ChatMessageUser

    from ping_inspect.contracts import PrefillMode
    from ping_inspect.models.transformers_api import chat_dicts
    from ping_inspect.prefill import with_prefix

    if condition not in CONDITIONS:
        raise ValueError(f"Unknown condition {condition!r}: use {', '.join(CONDITIONS)}.")
    messages = [
        ChatMessageSystem(content=instruction.system),
        ChatMessageUser(content=instruction.user),
    ]
    if condition == "none":
        return chat_dicts(messages), False
    if not text.strip():
        raise ValueError("The prefix is empty: give a prefix, a preset or a prefix file.")
    mode = PrefillMode.NATIVE if condition == "prefix" else PrefillMode.USER_SUFFIX
    return chat_dicts(with_prefix(messages, text, mode)), condition == "prefix"


def render_condition(
    tokenizer: PreTrainedTokenizerBase, instruction: Instruction, condition: str, text: str
) -> RenderedPrompt:
    """Render one instruction in one condition, with its tokens' segments and labels."""
    from ping_inspect.models.loading import encode_prompt, render_chat

    messages, open_final = condition_messages(instruction, condition, text)
    prompt = render_chat(tokenizer, messages, continue_final=open_final)
    ids = encode_prompt(tokenizer, prompt)
    spans = _segment_spans(prompt, instruction, messages, condition, text)
    encoded = tokenizer(prompt, add_special_tokens=False, return_offsets_mapping=True)
    if list(encoded["input_ids"]) != ids:  # pragma: no cover - a tokenizer quirk
        raise ValueError("The tokenizer's offsets disagree with its ids for this prompt.")
    segments = [_segment_at(start, spans) for start, _ in encoded["offset_mapping"]]
    labels = [tokenizer.decode([token]) for token in ids]
    return RenderedPrompt(condition, prompt, ids, segments, labels)


def _segment_spans(
    prompt: str,
    instruction: Instruction,
    messages: list[dict[str, Any]],
    condition: str,
    text: str,
) -> list[tuple[str, int]]:
    """Return (segment, first character) pairs in order, from the rendered prompt."""
    user_content = next(m["content"] for m in reversed(messages) if m["role"] == "user")
    assistant_open = condition == "prefix"
    # The prefix (if any) ends the prompt; the user turn is the last one before it.
    prefix_start = prompt.rindex(text.strip()) if assistant_open else len(prompt)
    user_start = prompt.rindex(user_content, 0, prefix_start)
    spans = [("head", 0), ("instruction", user_start)]
    if condition == "suffix":
        spans.append(("suffix", user_start + len(instruction.user.rstrip())))
    spans.append(("template", user_start + len(user_content)))
    if assistant_open:
        spans.append(("prefix", prefix_start))
    return spans


def _segment_at(char: int, spans: list[tuple[str, int]]) -> str:
    segment = spans[0][0]
    for name, start in spans:
        if char >= start:
            segment = name
    return segment
