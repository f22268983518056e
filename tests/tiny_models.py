"""The embedded model's tokenizer and a tiny random Llama that shares it, for training tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def smollm2_tokenizer() -> Any:
    """SmolLM2's tokenizer and chat template (from its converted folder, else its GGUF)."""
    from transformers import AutoTokenizer

    from ping_inspect.models.smollm2 import is_materialised, smollm2_dir, smollm2_gguf

    if is_materialised(smollm2_dir()):
        return AutoTokenizer.from_pretrained(smollm2_dir())
    gguf = smollm2_gguf()
    return AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)


def save_tiny_llama(folder: Path, max_position_embeddings: int = 2048) -> Path:
    """Save a 2-layer random Llama with SmolLM2's tokenizer in ``folder`` (seeded)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = smollm2_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=max_position_embeddings, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
