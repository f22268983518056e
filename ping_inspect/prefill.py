"""How a prefix reaches a model, provider by provider: the one place that knows.

Two ways exist to put words at the start of a model's reply:

- ``native``: the request ends with an open assistant message holding the prefix and the
  backend continues it (vLLM, SGLang, Anthropic models that accept prefill, the local
  ``transformers/`` provider, an ``openai-api/`` server that is vLLM or SGLang).
- ``user_suffix``: the prefix is appended to the last user turn. This is what the PING
  authors did for closed models that cannot continue a turn (GPT, Gemini), and it is also
  the paper's "suffix" ablation.

``model_turn`` asks the model for one turn with a prefix applied, and records the prefix,
the model's own continuation and the mode on the assistant message it appends, so that
scorers can read the model's words without the prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageUser,
    GenerateConfig,
    Model,
    ModelName,
    ModelOutput,
)
from inspect_ai.tool import Tool, ToolChoice, ToolDef, ToolInfo

TURN_METADATA_KEY = "ping_inspect"
"""Key of the per-turn record in an assistant message's metadata."""

RequestedMode = Literal["auto", "native", "user_suffix"]


class PrefillMode(StrEnum):
    """How the prefix was delivered on a turn."""

    NATIVE = "native"
    USER_SUFFIX = "user_suffix"


class PrefillError(ValueError):
    """A prefix cannot be delivered the way it was asked for."""


# Providers whose chat endpoint continues a trailing assistant message.
_CONTINUING_APIS = {"vllm", "sglang", "sagemaker", "transformers", "mockllm"}
# openai-api/<service>/... servers that continue when asked to through extra_body.
_CONTINUING_OPENAI_SERVICES = {"vllm", "sglang"}
_CONTINUE_EXTRA_BODY = {"continue_final_message": True, "add_generation_prompt": False}
# Claude models from 4.6 on answer a prefilled request with HTTP 400.
_CLAUDE_VERSION = re.compile(r"claude-(?:opus|sonnet|haiku)-(\d+)(?:-(\d{1,2}))?(?!\d)")


@dataclass(frozen=True)
class Capability:
    """Whether a model's backend can continue a prefilled assistant turn."""

    continues: bool
    api: str
    reason: str
    extra_body: dict[str, Any] | None = None
    strip_trailing_whitespace: bool = False


def model_api_name(model: Model | str) -> str:
    """Return the provider part of a model's name (``vllm``, ``openai-api``, ...)."""
    return ModelName(model).api


def prefill_capability(model: Model | str) -> Capability:
    """Say whether ``model`` can continue a prefilled turn, and how to ask it to.

    Args:
        model: A model, or its name as ``provider/model``.

    Returns:
        The capability, with the reason shown to users when it cannot continue.
    """
    name = ModelName(model)
    api, model_name = name.api, name.name
    if api == "anthropic":
        return _anthropic_capability(model_name)
    if api == "openai-api":
        service = model_name.split("/", 1)[0]
        if service in _CONTINUING_OPENAI_SERVICES:
            return Capability(True, api, f"{service} server", extra_body=_CONTINUE_EXTRA_BODY)
        return Capability(
            False,
            api,
            f"openai-api service '{service}' is not known to continue an assistant turn "
            "(only vllm and sglang servers are)",
        )
    if api in _CONTINUING_APIS:
        return Capability(True, api, f"{api} continues a trailing assistant message")
    if api == "hf":
        return Capability(
            False,
            api,
            "Inspect's hf/ provider closes the assistant turn before generating; "
            "use --model transformers/<model> for true continuation",
        )
    return Capability(False, api, f"{api} cannot continue an assistant turn")


def _anthropic_capability(model_name: str) -> Capability:
    match = _CLAUDE_VERSION.search(model_name)
    if match:
        major, minor = int(match.group(1)), int(match.group(2) or 0)
        if (major, minor) >= (4, 6):
            return Capability(
                False, "anthropic", f"{model_name} rejects assistant prefill (Claude 4.6+)"
            )
    return Capability(True, "anthropic", "Anthropic prefill", strip_trailing_whitespace=True)


def resolve_mode(model: Model | str, requested: RequestedMode | str = "auto") -> PrefillMode:
    """Choose how a prefix reaches ``model``.

    Args:
        model: The model that will receive the prefix.
        requested: ``auto`` (native where the backend continues, else ``user_suffix``),
            ``native`` (an error where the backend cannot continue) or ``user_suffix``.

    Returns:
        The mode to use.

    Raises:
        PrefillError: ``native`` was asked of a backend that cannot continue, or the
            requested mode is unknown.
    """
    if requested == PrefillMode.USER_SUFFIX:
        return PrefillMode.USER_SUFFIX
    capability = prefill_capability(model)
    if requested == PrefillMode.NATIVE:
        if not capability.continues:
            raise PrefillError(
                f"mode=native was asked for {model}, but {capability.reason}. "
                "Use mode=auto or mode=user_suffix (the prefix is then appended to the "
                "last user turn, as the PING authors did for closed models)."
            )
        return PrefillMode.NATIVE
    if requested == "auto":
        return PrefillMode.NATIVE if capability.continues else PrefillMode.USER_SUFFIX
    raise PrefillError(f"Unknown prefix mode '{requested}': use auto, native or user_suffix.")


def deliverable_prefix(prefix: str, model: Model | str, mode: PrefillMode) -> str:
    """Return the prefix as it is sent (Anthropic rejects trailing whitespace in prefill)."""
    if mode == PrefillMode.NATIVE and prefill_capability(model).strip_trailing_whitespace:
        return prefix.rstrip()
    return prefix


def with_prefix(messages: list[ChatMessage], prefix: str, mode: PrefillMode) -> list[ChatMessage]:
    """Return the messages a model receives for a turn that starts with ``prefix``.

    Args:
        messages: The conversation so far (not modified).
        prefix: The prefix, already in its deliverable form.
        mode: ``native`` appends an open assistant message; ``user_suffix`` appends the
            prefix to the last user message.

    Returns:
        A new message list.
    """
    if mode == PrefillMode.NATIVE:
        return [*messages, ChatMessageAssistant(content=prefix)]
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last_user is None:
        return [*messages, ChatMessageUser(content=prefix)]
    original = messages[last_user]
    suffixed = original.model_copy(update={"content": f"{original.text.rstrip()}\n\n{prefix}"})
    return [*messages[:last_user], suffixed, *messages[last_user + 1 :]]


def request_config(
    model: Model | str, mode: PrefillMode, config: GenerateConfig
) -> GenerateConfig:
    """Add what a backend needs to continue a turn (``extra_body`` for openai-api)."""
    extra = prefill_capability(model).extra_body if mode == PrefillMode.NATIVE else None
    if not extra:
        return config
    return config.merge(GenerateConfig(extra_body={**extra, **(config.extra_body or {})}))


@dataclass(frozen=True)
class Turn:
    """One model turn: what was injected and what the model wrote itself."""

    prefix: str
    continuation: str
    mode: PrefillMode | None
    output: ModelOutput

    @property
    def text(self) -> str:
        """The turn as the agent reads it: prefix and continuation for native prefill."""
        if self.mode == PrefillMode.NATIVE:
            return self.prefix + self.continuation
        return self.continuation


async def model_turn(
    model: Model,
    messages: list[ChatMessage],
    prefix: str | None = None,
    mode: RequestedMode | str = "auto",
    tools: list[Tool | ToolDef | ToolInfo] | None = None,
    tool_choice: ToolChoice | None = None,
    config: GenerateConfig | None = None,
) -> tuple[Turn, ChatMessageAssistant]:
    """Ask ``model`` for one turn, starting it with ``prefix`` when one is given.

    Args:
        model: The model to ask.
        messages: The conversation so far (not modified).
        prefix: Words to put at the start of the model's turn; None or empty for none.
        mode: How to deliver the prefix (see ``resolve_mode``).
        tools: Tools offered on this turn.
        tool_choice: Tool choice directive.
        config: Generation settings for this turn.

    Returns:
        The turn, and the assistant message to append to the conversation: its content is
        the prefix and continuation for native prefill (the model's turn as it stands in
        its context), and its metadata holds the prefix, continuation and mode apart.
    """
    config = config or GenerateConfig()
    resolved = resolve_mode(model, mode) if prefix else None
    sent_prefix = deliverable_prefix(prefix, model, resolved) if prefix and resolved else ""
    request = with_prefix(messages, sent_prefix, resolved) if resolved else messages
    if resolved:
        config = request_config(model, resolved, config)
    output = await model.generate(
        request, tools=tools or [], tool_choice=tool_choice, config=config
    )
    turn = Turn(sent_prefix, output.completion, resolved, output)
    message = output.message.model_copy(
        update={
            "content": turn.text,
            "metadata": {
                **(output.message.metadata or {}),
                TURN_METADATA_KEY: {
                    "prefix": sent_prefix,
                    "continuation": turn.continuation,
                    "mode": str(resolved) if resolved else None,
                },
            },
        }
    )
    return turn, message


def own_words(message: ChatMessage) -> str:
    """Return what the model wrote itself in an assistant message, never the prefix."""
    record = (message.metadata or {}).get(TURN_METADATA_KEY)
    if record is not None:
        return str(record.get("continuation", ""))
    return message.text
