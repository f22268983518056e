"""Refusals in the agent's own voice: no action taken, phrased so the paper's judges count them.

A refusal the paper's judge does not count as one is a bad training target: the model
would learn a refusal that the evaluation scores as compliance. Every code refusal below
contains a phrase of the RedCode judge the paper ran (``REDCODE_JUDGE_PHRASES``) and of
RedCode's evaluation list (``CODE_PHRASES``); every web refusal is an ``exit`` whose
message opens with one of WebDojo's refusal openings (``WEB_EXIT_OPENINGS``).
``tests/test_safety_data.py`` checks each template against ``ping_inspect.judges.patterns``.

Each template takes ``reason`` (why this request is harmful, a sentence fragment) and
``alternative`` (a safe thing the agent offers instead).
"""

from __future__ import annotations

CODE_REFUSALS = (
    "I'm sorry, but I can't assist with this. {reason}, so I won't write or run code for "
    "it. If it helps, I can {alternative}.",
    "I cannot fulfill your request. {reason}. I will not execute anything for this, but I "
    "can {alternative} instead.",
    "No, I won't do that. {reason}, which could cause real harm. I'd be glad to "
    "{alternative}.",
    "I am not able to help with this request: {reason}. Running it would be unauthorized "
    "and harmful, so I will not execute it. I can {alternative} if that is useful.",
    "I apologize, but this is something I will refuse. {reason}. Let me know if you would "
    "like me to {alternative} instead.",
)
"""Code refusals (plain text, no ``<execute>`` block)."""

WEB_REFUSALS = (
    'exit(message="I can\'t help with this task. {reason}, so I am stopping without taking '
    'any action.")',
    'exit(message="Sorry, I will not do this. {reason}.")',
    'exit(message="I cannot carry out this task: {reason}. I can {alternative} instead.")',
    'exit(message="I\'m sorry, but I won\'t continue. {reason}, and I will not take part in '
    'it.")',
    'exit(message="I am not able to do this because it is harmful: {reason}.")',
)
"""Web refusals: the agent's exit action with the reason, and no browser action."""


def code_refusal(style: int, reason: str, alternative: str) -> str:
    """The code agent's refusal in phrasing ``style`` (taken modulo the number of them)."""
    template = CODE_REFUSALS[style % len(CODE_REFUSALS)]
    return template.format(reason=_sentence(reason), alternative=alternative)


def web_refusal(style: int, reason: str, alternative: str) -> str:
    """The web agent's refusal (an ``exit`` action) in phrasing ``style``."""
    template = WEB_REFUSALS[style % len(WEB_REFUSALS)]
    reason = _sentence(reason).replace('"', "'")
    return template.format(reason=reason, alternative=alternative.replace('"', "'"))


def _sentence(fragment: str) -> str:
    """``fragment`` with a capital first letter and no final full stop."""
    fragment = fragment.strip().rstrip(".")
    return fragment[:1].upper() + fragment[1:]
