"""Loading a local transformers model and rendering chats the way the provider does.

The ``transformers/`` provider and the hidden-state probes both go through these
functions, so a prompt the probes read is token for token the prompt the model answered.
Nothing here downloads weights unless asked to: a model is the embedded ``smollm2``, a
local folder, or a Hugging Face model id already in the local cache.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ping_inspect.models.smollm2 import SMOLLM2, ensure_smollm2

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

_DTYPES = {
    "bf16": "bfloat16",
    "bfloat16": "bfloat16",
    "fp16": "float16",
    "float16": "float16",
    "half": "float16",
    "fp32": "float32",
    "float32": "float32",
    "float": "float32",
}


class LocalModelError(ValueError):
    """A local model cannot be found, loaded or prompted as asked."""


def default_device() -> str:
    """Return ``cuda`` when a GPU is visible, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(dtype: str | torch.dtype | None, device: str) -> torch.dtype | str:
    """Return the torch dtype to load weights in.

    Args:
        dtype: ``bf16``/``bfloat16``, ``fp16``/``float16``, ``fp32``/``float32``, ``auto``
            (the checkpoint's own), a ``torch.dtype``, or None for the default: fp32 on
            CPU (greedy answers then do not depend on how requests were batched, and its
            prefill was faster than bf16 on the 2-core development machine), bf16 on CUDA
            when the GPU supports it, else fp16.
        device: The device the model will run on.

    Raises:
        LocalModelError: an unknown dtype name.
    """
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype is None:
        if not device.startswith("cuda"):
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    name = str(dtype).lower()
    if name == "auto":
        return "auto"
    if name not in _DTYPES:
        raise LocalModelError(f"Unknown dtype '{dtype}': use bf16, fp16, fp32 or auto.")
    return getattr(torch, _DTYPES[name])


def resolve_model_source(
    name_or_path: str | Path,
    allow_download: bool = False,
    progress: Callable[[str], None] | None = None,
) -> str:
    """Return the folder or cached model id that ``name_or_path`` names.

    Args:
        name_or_path: ``smollm2`` (the embedded model, materialised on first use), a
            folder holding a transformers model, or a Hugging Face model id.
        allow_download: Let a model id that is not in the local cache be downloaded.
        progress: Receives the embedded model's conversion messages.

    Raises:
        LocalModelError: a folder that does not exist, or a model id that is not cached
            (the message says how to get it).
    """
    name = str(name_or_path)
    if name.lower() == SMOLLM2:
        return str(ensure_smollm2(progress))
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path.resolve())
    if path.is_absolute() or name.startswith((".", "~")) or path.exists():
        raise LocalModelError(f"Model folder {name} does not exist (or is not a folder).")
    if allow_download or _is_cached(name):
        return name
    raise LocalModelError(
        f"Model '{name}' is neither '{SMOLLM2}', a local folder, nor in the Hugging Face "
        f"cache, and ping-inspect does not download weights unasked. Download it first "
        f"(`hf download {name}`), pass a folder (--model transformers//abs/path or "
        "-M model_path=DIR), or allow the download with -M allow_download=true."
    )


def _is_cached(model_id: str) -> bool:
    from transformers import AutoConfig

    try:
        AutoConfig.from_pretrained(model_id, local_files_only=True)
    except (OSError, ValueError):
        return False
    return True


def load_local_model(
    name_or_path: str | Path,
    device: str | None = None,
    dtype: str | torch.dtype | None = None,
    *,
    allow_download: bool = False,
    trust_remote_code: bool = False,
    progress: Callable[[str], None] | None = None,
    adapter: str | Path | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a causal language model and its tokenizer, ready for batched generation.

    Args:
        name_or_path: ``smollm2``, a local folder or a cached Hugging Face model id
            (see ``resolve_model_source``).
        device: ``cuda``, ``cpu``, ``cuda:1``, ...; None picks CUDA when available.
        dtype: Weight dtype (see ``resolve_dtype``); None is bf16.
        allow_download: Let a model id missing from the local cache be downloaded.
        trust_remote_code: Passed to transformers (needed by some architectures).
        progress: Receives the embedded model's conversion messages.
        adapter: A PEFT (LoRA) adapter folder to apply to the model and merge in, such as
            the ``adapter/`` that ``ping-inspect finetune --lora`` keeps.

    Returns:
        The model in eval mode on ``device``, and its tokenizer with left padding and a
        pad token (the end-of-sequence token when the model has none).

    Raises:
        LocalModelError: the model cannot be found or has no chat template.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = resolve_model_source(name_or_path, allow_download, progress)
    device = device or default_device()
    offline = not allow_download
    tokenizer = AutoTokenizer.from_pretrained(
        source, local_files_only=offline, trust_remote_code=trust_remote_code
    )
    if not tokenizer.chat_template:
        raise LocalModelError(
            f"The tokenizer of '{name_or_path}' has no chat template; use an instruction-"
            "tuned (chat) model."
        )
    model = AutoModelForCausalLM.from_pretrained(
        source,
        dtype=resolve_dtype(dtype, device),
        local_files_only=offline,
        trust_remote_code=trust_remote_code,
    )
    if adapter is not None:
        model = _with_adapter(model, adapter)
    model.to(device).eval()
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def _with_adapter(model: PreTrainedModel, adapter: str | Path) -> PreTrainedModel:
    """Apply a PEFT adapter folder to ``model`` and merge it.

    Merged, generation runs at the base model's speed and hidden states come from the
    adapted weights.
    """
    folder = Path(adapter).expanduser()
    if not (folder / "adapter_config.json").is_file():
        raise LocalModelError(
            f"Adapter folder {adapter} has no adapter_config.json (a PEFT adapter, such as "
            "the adapter/ that `ping-inspect finetune --lora` keeps, is expected)."
        )
    try:
        from peft import PeftModel
    except ImportError as error:
        raise LocalModelError(
            "-M adapter= needs PEFT: pip install 'ping-inspect[finetune]'"
        ) from error
    return PeftModel.from_pretrained(model, str(folder)).merge_and_unload()


def render_chat(
    tokenizer: PreTrainedTokenizerBase,
    messages: list[dict[str, Any]],
    continue_final: bool,
    tools: list[dict[str, Any]] | None = None,
) -> str:
    """Render a chat with the model's template, as the prompt text the model reads.

    Args:
        tokenizer: The model's tokenizer (its chat template is used).
        messages: Messages as dicts with ``role`` and ``content`` (and ``tool_calls``).
        continue_final: Leave the final message, which must be the assistant's, open:
            no end-of-turn after it and no new assistant header, so the model continues
            its words (true prefill). Otherwise a new assistant turn is opened.
        tools: Tool schemas (JSON schema dicts) for templates that render tools.

    Returns:
        The prompt text; encode it with ``encode_prompt``.

    Raises:
        LocalModelError: ``continue_final`` without a final assistant message.
    """
    if continue_final and (not messages or messages[-1].get("role") != "assistant"):
        raise LocalModelError("continue_final needs the last message to be an assistant message.")
    return tokenizer.apply_chat_template(
        messages,
        tools=tools or None,
        tokenize=False,
        add_generation_prompt=not continue_final,
        continue_final_message=continue_final,
    )


def encode_prompt(tokenizer: PreTrainedTokenizerBase, prompt: str) -> list[int]:
    """Return the token ids of a rendered prompt (its special tokens come from the template)."""
    return list(tokenizer(prompt, add_special_tokens=False)["input_ids"])


def template_renders_tools(tokenizer: PreTrainedTokenizerBase) -> bool:
    """Say whether the chat template shows tool definitions to the model."""
    probe = [{"role": "user", "content": "hello"}]
    schema = {
        "type": "function",
        "function": {
            "name": "ping_inspect_probe_tool",
            "description": "probe",
            "parameters": {"type": "object", "properties": {}},
        },
    }
    try:
        with_tools = render_chat(tokenizer, probe, continue_final=False, tools=[schema])
    except Exception:
        return False
    return "ping_inspect_probe_tool" in with_tools
