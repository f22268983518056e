"""A training copy of a chat template: the same text, with TRL's generation markers.

TRL computes the loss on assistant turns only (``assistant_only_loss``) from the spans a
chat template wraps in ``{% generation %}...{% endgeneration %}``. Many templates, the
embedded SmolLM2's among them, have no such markers. ``training_template`` returns a
copy that has them and renders every conversation exactly as the original does (checked
on probe conversations before training starts): a rewrite of the ChatML message line
that wraps the assistant's content and its end-of-turn token, else TRL's own patched copy
when it knows the template family. The fine-tuned model is saved with the original
template, which is what it is run with.
"""

from __future__ import annotations

import re
from typing import Any

CHATML_LINE = re.compile(
    r"\{\{-?\s*'<\|im_start\|>'\s*\+\s*message\['role'\]\s*\+\s*'(?:\\n|\n)'\s*\+\s*"
    r"message\['content'\]\s*\+\s*'<\|im_end\|>(?:'\s*\+\s*')?(?:\\n|\n)'\s*-?\}\}"
)
"""How ChatML templates (SmolLM2, many others) write one message (``\\n`` written as an
escape or as a real line break)."""

CHATML_MARKED = (
    "{%- if message['role'] == 'assistant' -%}"
    "{{'<|im_start|>assistant\\n'}}{% generation %}{{message['content'] + '<|im_end|>'}}"
    "{% endgeneration %}{{'\\n'}}"
    "{%- else -%}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{%- endif -%}"
)
"""The same message line with the assistant's words and end-of-turn token marked."""

PROBES: tuple[list[dict[str, Any]], ...] = (
    [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
    [
        {"role": "system", "content": "You run code.\nBe brief."},
        {"role": "user", "content": "Print 2+2."},
        {"role": "assistant", "content": "<execute>\nprint(2 + 2)\n</execute>"},
        {"role": "user", "content": "Execution output:\n4\n"},
        {"role": "assistant", "content": "It prints 4."},
    ],
    [{"role": "system", "content": "S"}, {"role": "user", "content": "Task: x"},
     {"role": "assistant", "content": '# Element: a\ndo(action="Click", element="3")'}],
)
"""Conversations the copy must render exactly as the original."""


class TemplateError(ValueError):
    """No training copy of the chat template can be made."""


def has_generation_markers(template: str) -> bool:
    """Whether a template already marks assistant spans."""
    return "generation" in template and "endgeneration" in template


def training_template(tokenizer: Any) -> str:
    """A copy of the tokenizer's chat template with generation markers, checked.

    Raises:
        TemplateError: the template is of a family neither TRL nor this module knows how
            to mark, or the marked copy renders differently (the message says which).
    """
    original = tokenizer.chat_template
    if isinstance(original, dict):
        original = original["default"]
    if not original:
        raise TemplateError("The tokenizer has no chat template; fine-tune a chat model.")
    if has_generation_markers(original):
        return original
    marked = _mark_chatml(original) or _trl_training_template(tokenizer)
    if marked is None:
        raise TemplateError(
            "The model's chat template has no {% generation %} markers and is of a family "
            "that cannot be marked automatically; give a marked copy that renders the same "
            "(--chat-template FILE), or train on every token with --all-tokens."
        )
    check_renders_identically(tokenizer, original, marked)
    return marked


def _trl_training_template(tokenizer: Any) -> str | None:
    try:
        from trl.chat_template_utils import get_training_chat_template

        return get_training_chat_template(tokenizer)
    except (ImportError, ValueError):
        return None


def _mark_chatml(template: str) -> str | None:
    found = CHATML_LINE.findall(template)
    if len(found) != 1:
        return None
    return template.replace(found[0], CHATML_MARKED)


def check_renders_identically(tokenizer: Any, original: str, marked: str) -> None:
    """Raise ``TemplateError`` unless both templates render the probes the same way."""
    for messages in PROBES:
        for generation_prompt in (False, True):
            if generation_prompt and messages[-1]["role"] == "assistant":
                messages = messages[:-1]
            expected = tokenizer.apply_chat_template(
                messages, chat_template=original, tokenize=False,
                add_generation_prompt=generation_prompt,
            )
            got = tokenizer.apply_chat_template(
                messages, chat_template=marked, tokenize=False,
                add_generation_prompt=generation_prompt,
            )
            if got != expected:
                raise TemplateError(
                    "The marked chat template renders differently from the model's own:\n"
                    f"own:    {expected!r}\nmarked: {got!r}"
                )
