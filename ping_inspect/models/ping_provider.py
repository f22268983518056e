"""``ping/``: PING at the model level, for any Inspect task, solver or agent.

``--model ping/<provider>/<model>`` wraps any other model. Every ``generate`` call of the
task's own solver or agent (its system prompt, tools and loop untouched) gets the prefix
the way the inner provider allows (``ping_inspect.prefill``: native continuation where
the backend can continue a turn, else appended to the message the model answers)::

    inspect eval inspect_evals/agentharm --model ping/vllm/my-agent -M preset=web_glm
    inspect eval my_task.py --model ping/openai/gpt-4o-mini -M prefix_file=prefix.txt

``-M prefix=...``, ``-M prefix_file=...`` or ``-M preset=...`` chooses the prefix (one of
them is required), ``-M mode=auto|native|user_suffix`` its delivery (``-M prefill=native``
says that an OpenAI-compatible inner server continues a turn: one probe request checks it
before the first call); every other ``-M``
goes to the inner model.

What the agent and the scorers see is the model's own words: the returned output holds
the continuation only, and records the prefix, the continuation, the mode, where the
prefix went and the temperature in ``output.metadata["ping_inspect"]`` and in the
message's metadata (the package's per-turn record), and in an info event of the
transcript. The model event of each call shows the agent's conversation as input; a
provider that reports its raw request (``call``) shows the prefix in it.

History: on the next call, an earlier turn that was continued natively gets its prefix
back at its start (in the request only), so the model sees its past turns as it wrote
them, prefix included, as this package's own agents keep them (``with_past_prefixes``).

Only the model this provider is asked for is wrapped: model roles (grader, guard,
generator) are separate models and stay unwrapped unless the user binds one to
``ping/...`` by name. Turns are greedy unless the user (or the agent) chose a
temperature, as everywhere in this package.
"""

from __future__ import annotations

from typing import Any, Literal

from inspect_ai.log import transcript
from inspect_ai.model import (
    ChatMessage,
    GenerateConfig,
    Model,
    ModelAPI,
    ModelCall,
    ModelName,
    ModelOutput,
    ModelUsage,
    get_model,
    modelapi,
)
from inspect_ai.tool import ToolChoice, ToolInfo

from ping_inspect.contracts import REQUESTED_MODES, PrefillMode, RequestedMode, TurnRecord
from ping_inspect.defences.presets import PRESETS
from ping_inspect.defences.solvers import PrefixError, load_prefix
from ping_inspect.prefill import (
    PROBED_APIS,
    continuation_only,
    prefill_capability,
    prepare_turn,
    probe_continuation,
    resolve_mode,
    with_past_prefixes,
)

PROVIDER = "ping"
PREFIX_ARGUMENTS = ("prefix", "prefix_file", "preset")


class PingModelError(ValueError):
    """A ``ping/`` model that cannot be created as asked."""


@modelapi(name=PROVIDER)
def ping() -> type[ModelAPI]:
    """Return the ``ping/`` model API (wraps any other model with a PING prefix)."""
    return PingModelAPI


class PingModelAPI(ModelAPI):
    """A model API that starts every turn of an inner model with a prefix.

    The outer ``Model`` of Inspect keeps doing what it does for every provider
    (concurrency, retries, caching, limits, usage, the model event); this API asks the
    inner provider directly, so usage and turns are counted once.
    """

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig | None = None,
        **model_args: Any,
    ) -> None:
        """Create the wrapper and its inner model.

        Args:
            model_name: The inner model, ``<provider>/<model>``.
            base_url: Passed to the inner model.
            api_key: Passed to the inner model.
            config: Passed to the inner model.
            **model_args: ``prefix``, ``prefix_file``, ``preset``, ``mode``; the rest
                goes to the inner model.
        """
        config = config or GenerateConfig()
        super().__init__(model_name, base_url=base_url, api_key=api_key, config=config)
        ours = {k: model_args.pop(k) for k in (*PREFIX_ARGUMENTS, "mode", "prefill")
                if k in model_args}
        self.prefix, self.prefix_source = ping_prefix(ours)
        # -M prefill=native: the user says the inner server continues a turn.
        self.mode = _mode(ours.get("prefill") or ours.get("mode", "auto"))
        self.inner = inner_model(model_name, base_url, api_key, config, model_args)
        self.probe_first = (self.mode == PrefillMode.NATIVE
                            and ModelName(self.inner).api in PROBED_APIS)
        if not self.probe_first:
            # Fail now, not on the first sample, when the provider cannot continue a turn.
            self.resolved_mode = resolve_mode(self.inner, self.mode)

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput | tuple[ModelOutput | Exception, ModelCall]:
        """Ask the inner model for the turn with the prefix applied; return its own words."""
        if self.probe_first:
            await probe_continuation(self.inner)  # kept for the run: one request
        prepared = prepare_turn(
            self.inner, with_past_prefixes(input), self.prefix, self.mode, config
        )
        result = await self.inner.api.generate(
            input=prepared.request, tools=tools, tool_choice=tool_choice, config=prepared.config
        )
        output, call = result if isinstance(result, tuple) else (result, None)
        if isinstance(output, ModelOutput):
            output = continuation_only(output, prepared.prefix, self.inner)
            record = prepared.record(output.completion)
            record.prefix_source = self.prefix_source
            _attach(output, record)
            transcript().info(
                {**record.to_metadata(), "model": str(self.inner),
                 "why": prefill_capability(self.inner).reason},
                source="ping_inspect",
            )
        return (output, call) if call is not None else output

    # Everything else is the inner provider's: limits, retries, message handling.

    async def aclose(self) -> None:  # noqa: D102
        await self.inner.api.aclose()

    def close(self) -> None:  # noqa: D102
        self.inner.api.close()

    def initialize(self) -> None:  # noqa: D102
        self.inner.api.initialize()

    async def refresh_credentials(self) -> None:  # noqa: D102
        await self.inner.api.refresh_credentials()

    def canonical_name(self) -> str:  # noqa: D102
        return self.inner.api.canonical_name()

    def service_model_name(self) -> str:  # noqa: D102
        return self.inner.api.service_model_name()

    def input_tokens_name(self) -> str:  # noqa: D102
        return self.inner.api.input_tokens_name()

    def model_family(self) -> str:  # noqa: D102
        return self.inner.api.model_family()

    def max_tokens(self) -> int | None:  # noqa: D102
        return self.inner.api.max_tokens()

    def max_tokens_for_config(self, config: GenerateConfig) -> int | None:  # noqa: D102
        return self.inner.api.max_tokens_for_config(config)

    def max_connections(self) -> int:  # noqa: D102
        return self.inner.api.max_connections()

    def connection_key(self) -> str:  # noqa: D102
        return self.inner.api.connection_key()

    def should_retry(self, ex: Exception) -> Any:  # noqa: D102
        return self.inner.api.should_retry(ex)

    def retry_wait(self) -> Any:  # noqa: D102
        return self.inner.api.retry_wait()

    def is_auth_failure(self, ex: Exception) -> bool:  # noqa: D102
        return self.inner.api.is_auth_failure(ex)

    def collapse_user_messages(self) -> bool:  # noqa: D102
        return self.inner.api.collapse_user_messages()

    def collapse_assistant_messages(self) -> bool:  # noqa: D102
        return self.inner.api.collapse_assistant_messages()

    def collapse_system_messages(self) -> bool:  # noqa: D102
        return self.inner.api.collapse_system_messages()

    def tools_required(self) -> bool:  # noqa: D102
        return self.inner.api.tools_required()

    def supports_remote_mcp(self) -> bool:  # noqa: D102
        return self.inner.api.supports_remote_mcp()

    def tool_result_images(self) -> bool:  # noqa: D102
        return self.inner.api.tool_result_images()

    def tool_result_documents(self) -> bool:  # noqa: D102
        return self.inner.api.tool_result_documents()

    def disable_computer_screenshot_truncation(self) -> bool:  # noqa: D102
        return self.inner.api.disable_computer_screenshot_truncation()

    def force_reasoning_history(self) -> Literal["none", "all", "last"] | None:  # noqa: D102
        return self.inner.api.force_reasoning_history()

    def auto_reasoning_history(self) -> Literal["none", "all", "last"]:  # noqa: D102
        return self.inner.api.auto_reasoning_history()

    def compact_reasoning_history(self) -> bool:  # noqa: D102
        return self.inner.api.compact_reasoning_history()

    def cache_write_ttl(self) -> str | None:  # noqa: D102
        return self.inner.api.cache_write_ttl()

    def served_model_usage(self, output: ModelOutput) -> Any:  # noqa: D102
        return self.inner.api.served_model_usage(output)

    async def count_text_tokens(self, text: str) -> int:  # noqa: D102
        return await self.inner.api.count_text_tokens(text)

    async def tokenize(self, text: str) -> list[int]:  # noqa: D102
        return await self.inner.api.tokenize(text)

    async def compact(  # noqa: D102
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        config: GenerateConfig,
        instructions: str | None = None,
    ) -> tuple[list[ChatMessage], ModelUsage | None]:
        return await self.inner.api.compact(input, tools, config, instructions)


def inner_model(
    name: str,
    base_url: str | None,
    api_key: str | None,
    config: GenerateConfig,
    model_args: dict[str, Any],
) -> Model:
    """Create the wrapped model (its own instance: never the memoized one of a role).

    Raises:
        PingModelError: the name is not ``<provider>/<model>``, or wraps ``ping/`` again.
    """
    provider = name.split("/", 1)[0]
    if "/" not in name or not provider:
        raise PingModelError(
            f"ping/{name}: ping/ wraps another model, named in full: --model "
            "ping/<provider>/<model>, e.g. ping/vllm/my-agent or ping/openai/gpt-4o-mini."
        )
    if provider == PROVIDER:
        raise PingModelError(f"ping/{name}: a ping/ model cannot wrap another ping/ model.")
    return get_model(
        name, config=config, base_url=base_url, api_key=api_key, memoize=False, **model_args
    )


def ping_prefix(arguments: dict[str, Any]) -> tuple[str, str]:
    """The prefix chosen with ``-M prefix|prefix_file|preset`` and where it came from.

    Raises:
        PingModelError: none or several given, or one that is not text (what the CLI's
            YAML made of ``# ...``, ``3.10``, ``yes`` or text with commas).
    """
    given = {k: v for k, v in arguments.items() if k in PREFIX_ARGUMENTS}
    if not given:
        raise PingModelError(
            "A ping/ model needs a prefix: -M preset=NAME (one of "
            f"{', '.join(PRESETS)}), -M prefix_file=PATH (a .txt, or the .yaml that "
            "ping_optimize writes) or -M prefix=TEXT (text without commas or colons; "
            "-M values are YAML, where '#' starts a comment: use a file for such text)."
        )
    for name, value in given.items():
        if not isinstance(value, str):
            raise PingModelError(
                f"-M {name} reached the ping/ model as {value!r} ({type(value).__name__}), "
                "not the text typed: -M values are read as YAML ('#' starts a comment, "
                "3.10 becomes 3.1, commas make a list). Put the prefix in a file and pass "
                "-M prefix_file=PATH."
            )
    try:
        return load_prefix(**given)
    except PrefixError as err:
        raise PingModelError(f"ping/ model: {err}") from err


def _mode(mode: Any) -> RequestedMode:
    if mode not in REQUESTED_MODES:
        raise PingModelError(f"-M mode={mode!r}: use one of {', '.join(REQUESTED_MODES)}.")
    return mode  # type: ignore[no-any-return]


def _attach(output: ModelOutput, record: TurnRecord) -> None:
    """Put the turn's record on the output and on each choice's message."""
    output.metadata = record.attach(output.metadata)
    for choice in output.choices:
        own = record.model_copy(update={"continuation": choice.message.text})
        choice.message.metadata = own.attach(choice.message.metadata)
