"""Hidden states of a local model: every layer at the final prompt token, in batches.

The prompts of one run share a long start (the system prompt): it is computed once and
its key/value cache is reused by every batch, which makes a run several times cheaper
on a CPU. The rest of each prompt is padded on the right, so a prompt's real tokens
never see padding and keep their positions: a prompt's states do not depend on the
batch it ran in (up to floating-point summation order).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from transformers import PreTrainedModel

MIN_SHARED_TOKENS = 16
"""Shorter shared starts are not worth a cache."""


def shared_start(prompts: Sequence[Sequence[int]]) -> int:
    """Return how many leading tokens all prompts share, leaving each at least one of its own."""
    if not prompts:
        return 0
    limit = min(len(p) for p in prompts) - 1
    first = prompts[0]
    count = 0
    while count < limit and all(p[count] == first[count] for p in prompts):
        count += 1
    return count


def final_token_states(
    model: PreTrainedModel,
    prompts: Sequence[Sequence[int]],
    pad_id: int,
    batch_size: int = 8,
    share_start: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Return the hidden state of each prompt's last token at every layer.

    Args:
        model: A causal language model (its decoder runs; the LM head does not).
        prompts: Token ids of each prompt.
        pad_id: The id that pads shorter prompts of a batch.
        batch_size: Prompts per forward pass.
        share_start: Compute the prompts' common start once and reuse its cache.
        progress: Called with (done, total) after each batch.

    Returns:
        A float32 array ``(prompts, layers + 1, hidden)``: the embeddings first, then each
        decoder layer's output as transformers returns them.
    """
    import torch

    decoder = model.base_model
    device = next(model.parameters()).device
    start = shared_start(prompts) if share_start else 0
    cache = None
    with torch.inference_mode():
        if start >= MIN_SHARED_TOKENS:
            head = torch.tensor([list(prompts[0][:start])], device=device)
            cache = decoder(input_ids=head, use_cache=True).past_key_values
        else:
            start = 0
        # Similar lengths together: less padding per batch.
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        states: list[np.ndarray | None] = [None] * len(prompts)
        for first in range(0, len(order), batch_size):
            chosen = order[first : first + batch_size]
            tails = [list(prompts[i][start:]) for i in chosen]
            batch = _forward(decoder, tails, pad_id, cache, device)
            for row, index in enumerate(chosen):
                states[index] = batch[row, :, len(tails[row]) - 1].float().cpu().numpy()
            if progress:
                progress(min(first + batch_size, len(order)), len(order))
    return np.stack(states).astype(np.float32)  # type: ignore[arg-type]


def _forward(decoder: Any, tails: list[list[int]], pad_id: int, cache: Any, device: Any) -> Any:
    """Run one right-padded batch; return ``(batch, layers + 1, length, hidden)``."""
    import torch

    width = max(len(t) for t in tails)
    ids = torch.tensor([t + [pad_id] * (width - len(t)) for t in tails], device=device)
    past = None
    if cache is not None:
        past = copy.deepcopy(cache)
        past.batch_repeat_interleave(len(tails))
    output = decoder(
        input_ids=ids, past_key_values=past, use_cache=past is not None, output_hidden_states=True
    )
    return torch.stack(output.hidden_states, dim=1)


def token_states(model: PreTrainedModel, prompt: Sequence[int], first: int = 0) -> np.ndarray:
    """Return every layer's hidden state at each token of one prompt from ``first`` on.

    Returns:
        A float32 array ``(tokens - first, layers + 1, hidden)``.
    """
    import torch

    device = next(model.parameters()).device
    with torch.inference_mode():
        batch = _forward(model.base_model, [list(prompt)], 0, None, device)
        return batch[0, :, first:].transpose(0, 1).float().cpu().numpy()
