"""How a prefix reaches a model, provider by provider: the one place that knows.

Two ways exist to put words at the start of a model's reply:

- ``native``: the request ends with an open assistant message holding the prefix and the
  backend continues it (vLLM, SGLang, Anthropic models that accept prefill, the local
  ``transformers/`` provider, an ``openai-api/`` server that is vLLM or SGLang).
- ``user_suffix``: the prefix is appended to the last user turn. This is what the PING
  authors did for closed models that cannot continue a turn (GPT, Gemini), and it is also
  the paper's "suffix" ablation.

``prepare_turn`` builds a turn's request with the prefix applied; ``model_turn`` asks the
model for that turn and records the prefix, the model's own continuation, the mode, where
the prefix went and the temperature on the assistant message it appends, so that scorers
can read the model's words without the prefix. The ``ping/`` model provider uses
``prepare_turn`` too, so both forms of PING deliver the prefix the same way.

Every turn is greedy (temperature 0, the paper's protocol) unless the user chose a
temperature (``--temperature``, the task's or the model's ``GenerateConfig``, or the
caller's config): ``decoding_config`` says which, and the turn records it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Literal

from inspect_ai.log import transcript
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageTool,
    ChatMessageUser,
    ContentText,
    GenerateConfig,
    Model,
    ModelName,
    ModelOutput,
)
from inspect_ai.tool import Tool, ToolChoice, ToolDef, ToolInfo

from ping_inspect.contracts import Placement, PrefillMode, RequestedMode, TurnRecord
from ping_inspect.inspect_compat import active_generate_config, active_model


class PrefillError(ValueError):
    """A prefix cannot be delivered the way it was asked for."""


# Providers whose chat endpoint continues a trailing assistant message.
_CONTINUING_APIS = {"vllm", "sglang", "sagemaker", "transformers", "llamacpp", "mockllm"}
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
    echoes_prefix: bool = False
    """The server returns the prefix before its continuation (llama-server does)."""


# OpenAI-compatible providers whose server may continue a turn (llama.cpp's server,
# Ollama, llama-cpp-python): native once the user says so and one request shows it.
PROBED_APIS = {"openai-api", "llama-cpp-python", "ollama"}
_PROBED: dict[str, Capability] = {}
PROBE_QUESTION = "What is the capital of France? Answer in one word."
PROBE_PREFIX = "The capital of France is"
"""A server that continues it writes " Paris" within 4 tokens; one that closes the turn
starts a reply of its own (4 tokens are too few to repeat the prefix and answer)."""


def prefill_capability(model: Model | str) -> Capability:
    """Say whether ``model`` can continue a prefilled turn, and how to ask it to.

    Args:
        model: A model, or its name as ``provider/model``.

    Returns:
        The capability, with the reason shown to users when it cannot continue.
    """
    if _probe_key(model) in _PROBED:
        return _PROBED[_probe_key(model)]
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


async def probe_continuation(model: Model) -> Capability:
    """Check with one greedy request that ``model``'s server continues a prefilled turn.

    Asked for by the user (``-M prefill=native`` on a ``ping/`` model, ``mode=native`` on
    the ``ping`` solver) for an OpenAI-compatible server that is not known to continue.
    The answer is kept for the run, so the log's mode is what the server did.

    Raises:
        PrefillError: the server closed the turn (it answered afresh).
    """
    known = prefill_capability(model)
    if known.continues or ModelName(model).api not in PROBED_APIS:
        return known
    output = await model.generate(
        [ChatMessageUser(content=PROBE_QUESTION), ChatMessageAssistant(content=PROBE_PREFIX)],
        config=GenerateConfig(temperature=GREEDY_TEMPERATURE, max_tokens=4),
    )
    text = output.completion
    echoes = text.startswith(PROBE_PREFIX)
    continuation = text[len(PROBE_PREFIX):] if echoes else text
    if not (continuation[:1].isspace() and "paris" in continuation.lower()):
        raise PrefillError(
            f"native prefill was asked for {model}, but its server closed the assistant "
            f"turn: asked to continue {PROBE_PREFIX!r} it answered {text[:60]!r}. Leave "
            "the mode to auto (the prefix then goes at the end of the user's message)."
        )
    capability = Capability(
        True, ModelName(model).api, f"{model}'s server continued the probe turn "
        f"({PROBE_PREFIX!r} -> {continuation[:12]!r})", echoes_prefix=echoes,
    )
    _PROBED[_probe_key(model)] = capability
    return capability


def _probe_key(model: Model | str) -> str:
    # The same model name can stand for different servers: the probe is per server.
    base_url = getattr(getattr(model, "api", None), "base_url", None)
    return f"{model}@{base_url}"


def continuation_only(output: ModelOutput, prefix: str, model: Model | str) -> ModelOutput:
    """Drop the prefix a server echoes at the start of a continued turn (llama-server)."""
    if not prefill_capability(model).echoes_prefix:
        return output
    return strip_echoed_prefix(output, prefix)


def strip_echoed_prefix(output: ModelOutput, prefix: str) -> ModelOutput:
    """Return ``output`` with a leading copy of ``prefix`` removed from each choice's text."""
    for choice in output.choices:
        text = choice.message.text
        if prefix and text.startswith(prefix):
            choice.message = choice.message.model_copy(update={"content": text[len(prefix):]})
    if output.choices:
        output.completion = output.choices[0].message.text  # a field of its own
    return output


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


def prefix_placement(messages: list[ChatMessage], mode: PrefillMode) -> tuple[Placement, int]:
    """Say where ``with_prefix`` puts the prefix: a placement and the message's index.

    In ``user_suffix`` mode the prefix goes at the end of the message the model is
    answering, as the paper appended it to the last message: the last message when it
    is a user message or a tool result (a tool loop), else the last user message.
    """
    if mode == PrefillMode.NATIVE:
        return Placement.REPLY_START, len(messages)
    if messages and isinstance(messages[-1], ChatMessageTool):
        return Placement.TOOL_RESULT, len(messages) - 1
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last_user is None:
        return Placement.NEW_USER_MESSAGE, len(messages)
    return Placement.USER_MESSAGE, last_user


def with_prefix(messages: list[ChatMessage], prefix: str, mode: PrefillMode) -> list[ChatMessage]:
    """Return the messages a model receives for a turn that starts with ``prefix``.

    Args:
        messages: The conversation so far (not modified: a suffixed tool result exists
            only in the request, never in ``state.messages`` as if the tool said it).
        prefix: The prefix, already in its deliverable form.
        mode: ``native`` appends an open assistant message; ``user_suffix`` appends the
            prefix to the message the model answers (see ``prefix_placement``).

    Returns:
        A new message list.
    """
    placement, index = prefix_placement(messages, mode)
    if placement == Placement.REPLY_START:
        return [*messages, ChatMessageAssistant(content=prefix)]
    if placement == Placement.NEW_USER_MESSAGE:
        return [*messages, ChatMessageUser(content=prefix)]
    original = messages[index]
    update: dict[str, Any] = {"content": f"{original.text.rstrip()}\n\n{prefix}"}
    if isinstance(original, ChatMessageTool) and original.error is not None:
        # Providers show a failed call's error message in place of its content.
        error = original.error
        update["error"] = replace(error, message=f"{error.message.rstrip()}\n\n{prefix}")
    suffixed = original.model_copy(update=update)
    return [*messages[:index], suffixed, *messages[index + 1 :]]


def request_config(
    model: Model | str, mode: PrefillMode, config: GenerateConfig
) -> GenerateConfig:
    """Add what a backend needs to continue a turn (``extra_body`` for openai-api)."""
    extra = prefill_capability(model).extra_body if mode == PrefillMode.NATIVE else None
    if not extra:
        return config
    return config.merge(GenerateConfig(extra_body={**extra, **(config.extra_body or {})}))


GREEDY_TEMPERATURE = 0.0
"""The temperature of every turn the user set none for (the paper decodes greedily)."""


class DecodingError(ValueError):
    """A model cannot decode greedily by default and the user chose no temperature."""


@dataclass(frozen=True)
class Decoding:
    """The temperature of a turn and who chose it."""

    temperature: float | None
    """What the request carries; None when it carries none (the provider decides)."""
    source: Literal["default", "user", "caller", "provider"]
    """``default`` (this package's greedy default), ``user`` (``--temperature``, the
    task's or the model's config), ``caller`` (the agent's own config) or ``provider``
    (the provider takes no temperature: see ``note``)."""
    note: str = ""

    def record(self) -> dict[str, Any]:
        """The decoding as recorded in a turn's and a sample's metadata."""
        return {"temperature": self.temperature, "temperature_source": self.source,
                **({"temperature_note": self.note} if self.note else {})}


def user_temperature(model: Model) -> float | None:
    """The temperature the user set for ``model``, if any.

    Inspect merges, for the model under test, its own config (``get_model(config=...)``,
    ``--model-config``) with the eval's (the task's ``config`` and ``--temperature``);
    a model in another role gets only its own. This mirrors that merge.
    """
    config = model.config
    if model is active_model():
        config = config.merge(active_generate_config())
    return config.temperature


def decoding_config(model: Model, config: GenerateConfig | None = None) -> tuple[
    GenerateConfig, Decoding
]:
    """Return a turn's config: greedy unless the user (or the caller) chose a temperature.

    Args:
        model: The model asked for the turn.
        config: The caller's config for the turn (its temperature wins, if set).

    Returns:
        The config to send and the decoding it leads to.

    Raises:
        DecodingError: an ``hf/`` model that samples (Inspect's default ``do_sample``)
            with no temperature chosen: transformers rejects temperature 0 there.
    """
    config = config or GenerateConfig()
    if config.temperature is not None:
        return config, Decoding(config.temperature, "caller")
    chosen = user_temperature(model)
    if chosen is not None:
        return config, Decoding(chosen, "user")
    api = ModelName(model).api
    if api == "ping":
        # A ping/ model decides for its inner model (hf/ and Anthropic need their own rule).
        return config, Decoding(None, "provider", "the ping/ model sets its inner model's")
    if api == "anthropic":
        # Inspect drops temperature for Anthropic (removed in API version 2026-10-21).
        return config, Decoding(None, "provider", "the Anthropic API takes no temperature")
    do_sample = getattr(model.api, "do_sample", None) if api == "hf" else None
    if do_sample is not None:
        if do_sample:
            raise DecodingError(
                f"{model} samples (Inspect's hf/ provider defaults to do_sample=true) and no "
                "temperature was chosen; the PING protocol decodes greedily. Pass "
                "-M do_sample=false for greedy turns, --temperature T to sample on purpose, "
                "or use --model transformers/<model> (greedy by default)."
            )
        return config, Decoding(None, "provider", "hf/ with do_sample=false decodes greedily")
    return config.merge(GenerateConfig(temperature=GREEDY_TEMPERATURE)), Decoding(
        GREEDY_TEMPERATURE, "default"
    )


@dataclass(frozen=True)
class Turn:
    """One model turn: what was injected and what the model wrote itself."""

    prefix: str
    continuation: str
    mode: PrefillMode | None
    output: ModelOutput
    decoding: Decoding | None = None
    placement: Placement | None = None

    @property
    def text(self) -> str:
        """The turn as the agent reads it: prefix and continuation for native prefill."""
        if self.mode == PrefillMode.NATIVE:
            return self.prefix + self.continuation
        return self.continuation


@dataclass(frozen=True)
class PreparedTurn:
    """A turn's request with the prefix applied, ready to send to the model's backend."""

    request: list[ChatMessage]
    """The messages sent: the conversation with the prefix where ``mode`` puts it."""
    config: GenerateConfig
    """The request's config: the turn's temperature, and ``extra_body`` where needed."""
    prefix: str
    """The prefix as sent (empty for none)."""
    mode: PrefillMode | None
    placement: Placement | None
    decoding: Decoding

    def record(self, continuation: str) -> TurnRecord:
        """The per-turn record kept in an assistant message's metadata."""
        return TurnRecord(
            prefix=self.prefix,
            continuation=continuation,
            mode=str(self.mode) if self.mode else None,
            placement=str(self.placement) if self.placement else None,
            **self.decoding.record(),
        )


def prepare_turn(
    model: Model,
    messages: list[ChatMessage],
    prefix: str | None = None,
    mode: RequestedMode | str = "auto",
    config: GenerateConfig | None = None,
) -> PreparedTurn:
    """Build the request of a turn that starts with ``prefix``, the way ``model`` allows.

    Args:
        model: The model that will receive the request (its provider decides the mode).
        messages: The conversation so far (not modified).
        prefix: Words to put at the start of the model's turn; None or empty for none.
        mode: How to deliver the prefix (see ``resolve_mode``).
        config: Generation settings for this turn (a temperature set here wins; else
            the user's, else greedy: see ``decoding_config``).

    Raises:
        PrefillError: the mode cannot be used with this model.
        DecodingError: see ``decoding_config``.
    """
    config, decoding = decoding_config(model, config)
    resolved = resolve_mode(model, mode) if prefix else None
    if not prefix or resolved is None:
        return PreparedTurn(messages, config, "", None, None, decoding)
    sent_prefix = deliverable_prefix(prefix, model, resolved)
    placement = prefix_placement(messages, resolved)[0]
    return PreparedTurn(
        request=with_prefix(messages, sent_prefix, resolved),
        config=request_config(model, resolved, config),
        prefix=sent_prefix,
        mode=resolved,
        placement=placement,
        decoding=decoding,
    )


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
        config: Generation settings for this turn (a temperature set here wins; else
            the user's, else greedy: see ``decoding_config``).

    Returns:
        The turn, and the assistant message to append to the conversation: its content is
        the prefix and continuation for native prefill (the model's turn as it stands in
        its context), and its metadata holds the prefix, continuation, mode, placement
        of the prefix and the temperature apart. A ``ping/`` model that injected its own
        prefix keeps its record (and the message its own words).
    """
    if prefix and mode == PrefillMode.NATIVE:
        await probe_continuation(model)
    prepared = prepare_turn(model, messages, prefix, mode, config)
    output = await model.generate(
        prepared.request, tools=tools or [], tool_choice=tool_choice, config=prepared.config
    )
    if prepared.mode == PrefillMode.NATIVE:
        output = continuation_only(output, prepared.prefix, model)
    turn = Turn(prepared.prefix, output.completion, prepared.mode, output, prepared.decoding,
                prepared.placement)
    earlier = TurnRecord.of(output.message)
    record = earlier if prepared.mode is None and earlier else prepared.record(turn.continuation)
    message = output.message.model_copy(
        update={"content": turn.text, "metadata": record.attach(output.message.metadata)}
    )
    return turn, message


def with_past_prefixes(messages: list[ChatMessage]) -> list[ChatMessage]:
    """Return the conversation as the model wrote it: past prefixes back in their turns.

    A turn kept with the model's own words only (what a ``ping/`` model returns, and
    what AgentHarm's agent keeps) gets its native prefix back at its start, so that on
    the next turn the model sees its earlier turns as it wrote them, prefix included,
    exactly as this package's agents keep them. A turn whose text is no longer its
    recorded continuation (it already holds the prefix, or the agent rewrote it) is left
    as it is; ``user_suffix`` turns are left as they are (the suffix went to a message
    the model answered, never to its own turn).
    """
    return [_with_own_prefix(m) for m in messages]


def _with_own_prefix(message: ChatMessage) -> ChatMessage:
    record = TurnRecord.of(message)
    if (
        not isinstance(message, ChatMessageAssistant)
        or record is None
        or not record.native
        or not record.prefix
        or message.text != record.continuation
    ):
        return message
    prefix = record.prefix
    if isinstance(message.content, str):
        return message.model_copy(update={"content": prefix + message.content})
    content = list(message.content)
    first_text = next((i for i, c in enumerate(content) if isinstance(c, ContentText)), None)
    if first_text is None:
        content.insert(0, ContentText(text=prefix))
    else:
        part = content[first_text]
        content[first_text] = part.model_copy(update={"text": prefix + part.text})
    return message.model_copy(update={"content": content})


def own_words_message(message: ChatMessageAssistant) -> ChatMessageAssistant:
    """Return ``message`` holding only the model's own words (its record kept)."""
    record = TurnRecord.of(message)
    if record is None or not record.native or record.continuation is None:
        return message
    return message.model_copy(update={"content": record.continuation})


def own_words(message: ChatMessage) -> str:
    """Return what the model wrote itself in an assistant message, never the prefix."""
    record = TurnRecord.of(message)
    if record is not None:
        return record.continuation or ""
    return message.text


def literal_markdown(text: str) -> str:
    """``text`` as a fenced block, so Markdown shows it as typed (a leading ``#`` too)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def show_prefix(prefix: str, mode: PrefillMode | str | None, source: str | None) -> None:
    """Put the prefix, as typed, at the top of the sample's transcript in Inspect View.

    View renders message text as Markdown, so a prefix starting with ``#`` reads as a
    heading in the assistant's turns; this info event shows it literally (the messages
    themselves stay what the model read and wrote).
    """
    where = ", ".join(str(part) for part in (mode, source) if part)
    transcript().info(f"**PING prefix** ({where}):\n\n{literal_markdown(prefix)}",
                      source="ping_inspect")

