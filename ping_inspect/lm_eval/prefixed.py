"""The lm-eval task class of the variants whose answer starts with a prefix (PING).

lm-eval puts ``gen_prefix`` in the prompt as a final assistant message and renders the
chat with ``add_generation_prompt=False`` (the ``hf``, ``vllm`` and ``sglang`` models
pass ``continue_final_message=True`` to transformers). Whether the model then continues
the prefix depends on the chat template and the model type, and nothing in lm-eval
checks it: a template that closes the turn after the prefix, or a run without
``--apply_chat_template`` (the prefix written after the request as plain text), would
score answers that never continued PING's prefix. ``PrefixedTask`` checks each prompt
as lm-eval builds it, before any generation, and raises instead.
"""

from __future__ import annotations

import logging
from typing import Any

from lm_eval.api.task import ConfigurableTask

from ping_inspect.lm_eval.tasks import LmEvalTaskError

logger = logging.getLogger(__name__)


class ClosedTurnError(LmEvalTaskError):
    """A prompt in which the model would not continue the prefix."""


def check_answer_start(task: str, context: Any, gen_prefix: str | None,
                       apply_chat_template: bool) -> None:
    """Raise unless the prompt leaves the assistant's answer open at the prefix.

    Args:
        task: The task's name, for the message.
        context: The prompt as lm-eval built it: a string (a rendered chat template,
            or plain text without one), or the messages for a chat-completions API
            (lm-eval's ``JsonChatStr``, a tuple).
        gen_prefix: The answer's start (None or empty: nothing to check).
        apply_chat_template: Whether lm-eval was run with ``--apply_chat_template``.

    Raises:
        ClosedTurnError: no chat template, or a rendered prompt that does not end with the
            prefix (the turn was closed after it).
    """
    if not gen_prefix:
        return
    if not apply_chat_template:
        raise ClosedTurnError(
            f"{task}: run lm_eval with --apply_chat_template. Without it lm-eval writes the "
            "PING prefix after the request as plain text, not as the start of the "
            "assistant's answer, and the run would not measure PING.")
    if not isinstance(context, str):
        # A chat-completions API gets the prefix as a final assistant message; whether
        # the server continues it is the server's (llama-server does; vLLM's server needs
        # continue_final_message). It cannot be seen from here.
        logger.warning("%s: the prefix is sent as a final assistant message; the server "
                       "must continue it (llama-server does).", task)
        return
    if not context.rstrip().endswith(gen_prefix.strip()):
        tail = context[-80:]
        raise ClosedTurnError(
            f"{task}: the model's chat template closed the assistant turn after the PING "
            f"prefix (the prompt ends with {tail!r}), so the model would answer in a new "
            "turn instead of continuing the prefix. Use a model whose chat template can "
            "continue an assistant message, or the suffix variant "
            "(the prefix appended to the request).")


class PrefixedTask(ConfigurableTask):
    """A generated ping-inspect task with ``gen_prefix``: its prompts are checked."""

    def __init__(self, config: dict[str, Any] | None = None, **kwargs: Any) -> None:
        config = {k: v for k, v in (config or {}).items() if k != "class"}
        super().__init__(config=config, **kwargs)

    def fewshot_context(self, doc: dict, num_fewshot: int, *args: Any,  # type: ignore[override]
                        **kwargs: Any) -> str | list[str]:
        """lm-eval's prompt of ``doc``, checked to end with the prefix."""
        context = super().fewshot_context(doc, num_fewshot, *args, **kwargs)
        check_answer_start(str(self.config.task), context, kwargs.get("gen_prefix"),
                           bool(kwargs.get("apply_chat_template")))
        return context
