"""The ``transformers/`` model API: local weights, true assistant prefill, batched requests.

Inspect's own ``hf/`` provider always opens a new assistant turn, so a prefilled assistant
message is closed before the model writes. This provider renders a trailing assistant
message open (``continue_final_message``) and returns only the tokens the model adds.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageTool,
    GenerateConfig,
    ModelAPI,
    ModelCall,
    ModelOutput,
    ModelUsage,
)
from inspect_ai.tool import ToolChoice, ToolInfo

from ping_inspect.inspect_compat import MODEL_INFO_LOOKUP_API_KEY
from ping_inspect.models.batching import RequestBatcher
from ping_inspect.models.chat_templates import (
    extract_tool_calls,
    needs_tools_template,
    tools_template,
)
from ping_inspect.models.generation import BatchGenerator, Generated, GenerationSettings
from ping_inspect.models.hidden_states import HIDDEN_STATES_KEY
from ping_inspect.models.loading import (
    LocalModelError,
    default_device,
    encode_prompt,
    load_local_model,
    render_chat,
    template_renders_tools,
)

DEFAULT_MAX_TOKENS = 512
"""New tokens per request when the task sets no ``max_tokens``."""

DEFAULT_BATCH_SIZE = {"cuda": 32, "cpu": 4}
"""Requests per batch when neither ``-M batch_size`` nor ``--max-connections`` is given.

On CPU, batched prefill of long prompts costs more than one prompt at a time (padding
masks), while decoding gains from batching: 4 was fastest per request on WebDojo-sized
prompts of about 1,100 tokens on the 2-core development machine."""

MODEL_ARGS = {
    "model_path": "folder (or cached model id) to load instead of the model name",
    "device": "cuda, cpu, cuda:1, ... (default: cuda when available, else cpu)",
    "dtype": "fp32 (default on CPU), bf16 (default on CUDA), fp16 or auto",
    "batch_size": "most requests generated together (default: --max-connections, "
    "else 4 on CPU and 32 on CUDA)",
    "batch_window": "seconds to wait for more requests before a batch runs (default 0.05)",
    "hidden_states": "true: put the final prompt token's hidden states in output metadata",
    "allow_download": "true: let a model id missing from the Hugging Face cache download",
    "trust_remote_code": "true: let transformers run the model repository's code",
    "adapter": "a PEFT (LoRA) adapter folder applied to the model and merged in "
    "(e.g. the adapter/ of `ping-inspect finetune --lora`)",
}

# The api_key Inspect passes when it creates a provider only to look up model information.
_MODEL_INFO_LOOKUP = MODEL_INFO_LOOKUP_API_KEY

class TransformersAPI(ModelAPI):
    """A local transformers chat model that continues a trailing assistant message."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig | None = None,
        **model_args: Any,
    ) -> None:
        """Load the model named ``model_name`` (``smollm2``, a folder, or a cached id).

        Args:
            model_name: The part after ``transformers/``.
            base_url: Unused (the model runs in this process).
            api_key: Unused.
            config: The model's generation defaults (``max_connections`` sets the batch
                size when ``batch_size`` is not given).
            **model_args: ``-M`` arguments, see ``MODEL_ARGS``.
        """
        config = config or GenerateConfig()
        super().__init__(model_name=model_name, base_url=base_url, api_key=api_key, config=config)
        unknown = sorted(set(model_args) - set(MODEL_ARGS))
        if unknown:
            known = "\n".join(f"  {name}: {help}" for name, help in MODEL_ARGS.items())
            raise LocalModelError(
                f"Unknown model argument(s) {unknown} for transformers/. Known:\n{known}"
            )
        self.source = str(model_args.get("model_path") or model_name)
        device = str(model_args.get("device") or default_device())
        self.batch_size = int(
            model_args.get("batch_size")
            or config.max_connections
            or DEFAULT_BATCH_SIZE["cuda" if device.startswith("cuda") else "cpu"]
        )
        self.batcher: RequestBatcher[list[int], Generated] = RequestBatcher(
            self._run_batch,
            max_batch=self.batch_size,
            window=float(model_args.get("batch_window", 0.05)),
        )
        self._renders_tools: bool | None = None
        if api_key == _MODEL_INFO_LOOKUP:
            # Inspect builds a second instance only to ask for the model's name and
            # information: loading the weights again would double the memory.
            return
        self.model, self.tokenizer = load_local_model(
            self.source,
            device=device,
            dtype=model_args.get("dtype"),
            allow_download=_flag(model_args.get("allow_download")),
            trust_remote_code=_flag(model_args.get("trust_remote_code")),
            adapter=model_args.get("adapter"),
        )
        if config.seed is not None:
            import torch

            torch.manual_seed(config.seed)
        self.generator = BatchGenerator(
            self.model, self.tokenizer, hidden_states=_flag(model_args.get("hidden_states"))
        )

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> tuple[ModelOutput, ModelCall]:
        """Answer one request; it is batched with concurrent requests of equal settings."""
        tool_schemas = self._tool_schemas(tools)
        continue_final = bool(input) and input[-1].role == "assistant"
        prompt = render_chat(
            self.tokenizer, chat_dicts(input), continue_final=continue_final, tools=tool_schemas
        )
        prompt_ids = encode_prompt(self.tokenizer, prompt)
        self._check_length(prompt_ids)
        settings = GenerationSettings.from_config(config, DEFAULT_MAX_TOKENS)
        result = await self.batcher.submit(settings, prompt_ids)
        prefix = input[-1].text if continue_final else ""
        output = self._model_output(
            result,
            parse_tool_calls=bool(tool_schemas) and tool_choice != "none",
            prefix=prefix,
        )
        call = ModelCall.create(
            request={
                "prompt": prompt,
                "continue_final_message": continue_final,
                "generation": settings.__dict__,
                "device": str(self.model.device),
            },
            response={
                "completion": result.text,
                "stop_reason": result.stop_reason,
                "input_tokens": result.input_tokens,
                "output_tokens": result.output_tokens,
            },
            time=result.time,
        )
        return output, call

    def max_tokens(self) -> int | None:
        """Return the new tokens per request when the task sets none."""
        return DEFAULT_MAX_TOKENS

    def max_connections(self) -> int:
        """Let as many requests through as one batch holds."""
        return self.batch_size

    def connection_key(self) -> str:
        """Each loaded model has its own request pool."""
        return self.source

    async def count_text_tokens(self, text: str) -> int:
        """Count tokens with the model's own tokenizer (no download, exact)."""
        return len(encode_prompt(self.tokenizer, text))

    async def tokenize(self, text: str) -> list[int]:
        """Return the model's token ids for ``text``."""
        return encode_prompt(self.tokenizer, text)

    def close(self) -> None:
        """Stop the worker thread."""
        self.batcher.close()

    def _run_batch(self, key: Hashable, prompts: list[list[int]]) -> list[Generated]:
        assert isinstance(key, GenerationSettings)
        return self.generator(key, prompts)

    def _tool_schemas(self, tools: list[ToolInfo]) -> list[dict[str, Any]] | None:
        if not tools:
            return None
        if self._renders_tools is None:
            if needs_tools_template(self.tokenizer.chat_template):
                # The same tool rendering as llamacpp/ (identical without tools).
                self.tokenizer.chat_template = tools_template()
            self._renders_tools = template_renders_tools(self.tokenizer)
        if not self._renders_tools:
            raise LocalModelError(
                f"The chat template of transformers/{self.model_name} cannot show tools to "
                f"the model, and this task offers tools ({', '.join(t.name for t in tools)}). "
                "Use a variant of the task without tools (an agent that writes its actions as "
                "text), or a model whose chat template supports tools."
            )
        return tool_schemas(tools)

    def _check_length(self, prompt_ids: list[int]) -> None:
        limit = self.generator.context_length
        if limit is not None and len(prompt_ids) >= limit:
            raise LocalModelError(
                f"The prompt has {len(prompt_ids)} tokens, and transformers/{self.model_name} "
                f"reads at most {limit}: shorten the input (fewer steps or examples)."
            )

    def _model_output(
        self, result: Generated, parse_tool_calls: bool, prefix: str
    ) -> ModelOutput:
        text, tool_calls = (
            extract_tool_calls(result.text, prefix) if parse_tool_calls else (result.text, [])
        )
        message = ChatMessageAssistant(
            content=text,
            tool_calls=tool_calls or None,
            model=self.model_name,
            source="generate",
        )
        usage = ModelUsage(
            input_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
            total_tokens=result.input_tokens + result.output_tokens,
        )
        metadata = {HIDDEN_STATES_KEY: result.hidden_states} if result.hidden_states else None
        return ModelOutput(
            model=self.model_name,
            choices=[
                ChatCompletionChoice(
                    message=message,
                    stop_reason="tool_calls" if tool_calls else result.stop_reason,
                )
            ],
            usage=usage,
            time=result.time,
            metadata=metadata,
        )


def tool_schemas(tools: list[ToolInfo]) -> list[dict[str, Any]]:
    """Tool definitions as JSON-schema dicts, the form chat templates render."""
    return [
        {
            "type": "function",
            "function": {
                "name": tool.name,
                "description": tool.description,
                "parameters": tool.parameters.model_dump(exclude_none=True),
            },
        }
        for tool in tools
    ]


def chat_dicts(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """Convert Inspect messages into the dicts chat templates read."""
    converted: list[dict[str, Any]] = []
    for message in messages:
        entry: dict[str, Any] = {"role": message.role, "content": message.text}
        if isinstance(message, ChatMessageAssistant) and message.tool_calls:
            entry["tool_calls"] = [
                {
                    "type": "function",
                    "id": call.id,
                    "function": {"name": call.function, "arguments": call.arguments},
                }
                for call in message.tool_calls
            ]
        if isinstance(message, ChatMessageTool):
            entry.update(tool_call_id=message.tool_call_id, name=message.function)
            if message.error is not None:
                entry["content"] = f"Error: {message.error.message}"
        converted.append(entry)
    return converted


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
