"""The ``llamacpp/`` model API: llama.cpp's ``llama-server`` as the fast local engine.

``--model llamacpp/smollm2`` (the embedded model) or ``--model llamacpp//abs/model.gguf``
starts a llama-server for the eval on a free 127.0.0.1 port and stops it at the end;
``-M base_url=http://HOST:PORT/v1`` uses a server that is already running. Requests go
through Inspect's OpenAI-compatible provider (this class subclasses it), so messages,
tools, tool calls, usage and retries are Inspect's own.

Prefill: llama-server continues a trailing assistant message (its ``prefill_assistant``,
on by default) and returns the prefix with the continuation; this provider returns the
continuation only, as every native-prefill provider does.

Tools: a model whose own chat template cannot show tools to the model (the embedded
SmolLM2's) is served with the package's ChatML template with tools in the Hermes
convention (``templates/chatml_tools.jinja``), which renders a tool-less conversation
exactly as SmolLM2's own. The ``transformers/`` provider uses the same file for such
models, so both engines read the same prompt, and both read the model's
``<tool_call>`` blocks back with the same code (``chat_templates.extract_tool_calls``):
llama-server renders the tools but is asked not to parse (``tool_choice: none``), because
its own parser rejects a turn whose tool call opens in a prefilled prefix (HTTP 500) and
leaves a small model's calls as text.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.request
from pathlib import Path
from typing import Any

from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    GenerateConfig,
    ModelCall,
    ModelOutput,
)
from inspect_ai.tool import ToolChoice, ToolInfo

from ping_inspect.inspect_compat import MODEL_INFO_LOOKUP_API_KEY, openai_compatible_api
from ping_inspect.models.chat_templates import (
    TOOLS_TEMPLATE,
    extract_tool_calls,
    needs_tools_template,
    tools_template,
)
from ping_inspect.models.llama_server import (
    LlamaServer,
    LlamaServerError,
    check_gguf,
    dequantized_copy,
    find_llama_server,
    start_llama_server,
)
from ping_inspect.prefill import strip_echoed_prefix

DEFAULT_MAX_TOKENS = 512
"""New tokens per request when the task sets none (as ``transformers/``)."""

MODEL_ARGS = {
    "slots": "parallel requests the server runs (-np, default 4); also Inspect's "
    "max_connections",
    "threads": "CPU threads (-t, default: llama.cpp's choice)",
    "ctx": "total context tokens, shared by the slots (-c, default 8192 per slot)",
    "port": "port for the started server (default: a free one)",
    "chat_template": "a Jinja chat template file, or 'model' for the GGUF's own "
    "(default: the package's ChatML-with-tools template for ChatML models without tools)",
    "dequantize": "serve an f32 copy of a quantised GGUF, made once with llama-quantize "
    "(default: true for smollm2, whose f32 kernels run faster on CPU; false for a path)",
    "server_args": "more llama-server arguments, one string (e.g. '--cache-reuse 256')",
    "timeout": "seconds to wait for the server to load the model (default 120)",
}

_SMOLLM2 = "smollm2"

SERVER_ARGS_ENV = "PING_INSPECT_LLAMA_SERVER_ARGS"
"""Arguments added to every llama-server this provider starts (before ``-M server_args``)."""

OpenAICompatibleAPI: Any = openai_compatible_api()


class LlamaCppAPI(OpenAICompatibleAPI):  # type: ignore[misc]
    """A GGUF model served by llama.cpp's llama-server (started here, or given)."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig | None = None,
        **model_args: Any,
    ) -> None:
        """Start (or connect to) the server for ``model_name``.

        Args:
            model_name: ``smollm2`` or an absolute GGUF path (``llamacpp//abs/m.gguf``);
                with ``base_url``, the name the server is asked for.
            base_url: A running llama-server (``http://HOST:PORT/v1``): nothing is started.
            api_key: The server's API key, if it has one.
            config: The model's generation defaults.
            **model_args: ``-M`` arguments, see ``MODEL_ARGS``.
        """
        unknown = sorted(set(model_args) - set(MODEL_ARGS))
        if unknown:
            known = "\n".join(f"  {name}: {help}" for name, help in MODEL_ARGS.items())
            raise LlamaServerError(
                f"Unknown model argument(s) {unknown} for llamacpp/. Known:\n{known}"
            )
        self.slots = int(model_args.get("slots", 4))
        self.server: LlamaServer | None = None
        self._tools_template: bool | None = None
        lookup_only = api_key == MODEL_INFO_LOOKUP_API_KEY
        if base_url is None and not lookup_only:
            self.server = self._start(model_name, model_args)
            base_url = self.server.base_url
        super().__init__(
            model_name=model_name,
            base_url=base_url or "http://127.0.0.1:0/v1",
            api_key=api_key or "llamacpp",
            config=config or GenerateConfig(),
            service="llamacpp",
        )

    def _start(self, model_name: str, model_args: dict[str, Any]) -> LlamaServer:
        gguf = check_gguf(resolve_gguf(model_name))
        if _flag("dequantize", model_args.get("dequantize"), default=model_name == _SMOLLM2):
            gguf = dequantized_copy(gguf)
        template = chat_template_for(gguf, model_args.get("chat_template"))
        self._tools_template = template == TOOLS_TEMPLATE
        ctx_per_slot = 8192
        return start_llama_server(
            find_llama_server(),
            gguf,
            alias=model_name,
            port=int(model_args["port"]) if model_args.get("port") else None,
            slots=self.slots,
            threads=int(model_args["threads"]) if model_args.get("threads") else None,
            ctx=int(model_args.get("ctx") or ctx_per_slot * self.slots),
            chat_template=template,
            extra_args=(os.environ.get(SERVER_ARGS_ENV, "").split()
                        + str(model_args.get("server_args") or "").split()),
            timeout=float(model_args.get("timeout", 120)),
        )

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput | tuple[ModelOutput | Exception, ModelCall]:
        """Answer one request; a prefilled turn comes back as the continuation only.

        With the shared tools template, the server renders the tools and this provider
        reads the calls from the model's text (see the module docstring).
        """
        self._check_alive()
        parse_calls = bool(tools) and tool_choice != "none" and await self._serves_tools_template()
        result = await super().generate(
            input, tools, "none" if parse_calls else tool_choice, config
        )
        output, call = result if isinstance(result, tuple) else (result, None)
        prefix = input[-1].text if input and isinstance(input[-1], ChatMessageAssistant) else ""
        if isinstance(output, ModelOutput):
            if prefix:
                output = strip_echoed_prefix(output, prefix)
            if parse_calls:
                output = with_tool_calls(output, prefix)
        return (output, call) if call is not None else output

    async def _serves_tools_template(self) -> bool:
        """Whether the server renders the package's tools template (asked once)."""
        if self._tools_template is None:
            template = await asyncio.to_thread(served_chat_template, str(self.base_url))
            self._tools_template = template.strip() == tools_template().strip()
        return self._tools_template

    def should_retry(self, ex: BaseException) -> Any:
        """Never retry against a server that has exited: say so instead."""
        self._check_alive()
        return super().should_retry(ex)

    def _check_alive(self) -> None:
        if self.server is not None and not self.server.running():
            raise LlamaServerError(self.server.exit_message())

    def max_tokens(self) -> int | None:
        """New tokens per request when the task sets none."""
        return DEFAULT_MAX_TOKENS

    def max_connections(self) -> int:
        """As many concurrent requests as the server has slots."""
        return self.slots

    def connection_key(self) -> str:
        """Each server has its own request pool."""
        return str(self.base_url)

    def close(self) -> None:
        """Stop the server this provider started."""
        if self.server is not None:
            self.server.stop()

    async def aclose(self) -> None:
        """Close the client, then stop the server."""
        await super().aclose()
        self.close()


def with_tool_calls(output: ModelOutput, prefix: str) -> ModelOutput:
    """``output`` with the ``<tool_call>`` blocks of each choice read into tool calls."""
    for choice in output.choices:
        text, calls = extract_tool_calls(choice.message.text, prefix)
        if calls:
            choice.message = choice.message.model_copy(
                update={"content": text, "tool_calls": calls}
            )
            choice.stop_reason = "tool_calls"
    if output.choices:
        output.completion = output.choices[0].message.text
    return output


def served_chat_template(base_url: str) -> str:
    """The chat template a running llama-server renders (its ``/props``)."""
    root = base_url.rstrip("/").removesuffix("/v1")
    try:
        with urllib.request.urlopen(f"{root}/props", timeout=30) as response:
            return str(json.load(response).get("chat_template") or "")
    except (OSError, ValueError):
        return ""  # not a llama-server: leave tool calls to the server


def _flag(name: str, value: Any, *, default: bool) -> bool:
    """A yes/no ``-M`` argument; anything else is an error, not a guess."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise LlamaServerError(f"-M {name}={value}: give true or false.")


def resolve_gguf(model_name: str) -> Path:
    """The GGUF file a model name stands for: ``smollm2`` or a path."""
    if model_name == _SMOLLM2:
        from ping_inspect.models.smollm2 import smollm2_gguf

        return smollm2_gguf()
    path = Path(model_name).expanduser()
    if not path.is_absolute() and not path.exists():
        raise LlamaServerError(
            f"llamacpp/{model_name}: give 'smollm2' or a GGUF file path "
            "(llamacpp//abs/path/model.gguf)."
        )
    return path


def chat_template_for(gguf: Path, requested: str | None) -> Path | None:
    """The template file to serve ``gguf`` with (None: the model's own)."""
    if requested == "model":
        return None
    if requested:
        path = Path(requested).expanduser()
        if not path.is_file():
            raise LlamaServerError(f"-M chat_template={requested}: no such file.")
        return path
    template = gguf_chat_template(gguf)
    if needs_tools_template(template):
        return TOOLS_TEMPLATE
    return None


def gguf_chat_template(gguf: Path) -> str | None:
    """The chat template stored in a GGUF file (None when it has none)."""
    from gguf import GGUFReader

    field = GGUFReader(str(gguf)).fields.get("tokenizer.chat_template")
    if field is None:
        return None
    return bytes(field.parts[field.data[0]]).decode("utf-8", errors="replace")
