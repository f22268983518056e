"""A compact, JSON-safe record of hidden states, as the provider puts them in output metadata.

The ``transformers/`` provider with ``-M hidden_states=true`` stores, for each request,
the hidden state of the final prompt token at every layer (the embeddings first, then
each decoder layer's output), which is what a linear probe on "the model's state just
before it answers" needs. The values are bfloat16 bit patterns in base64: about a third of
the size of a float list in JSON, and exact for bf16 models.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

HIDDEN_STATES_KEY = "hidden_states"
"""Key of the record in ``ModelOutput.metadata``."""


def encode_hidden_states(states: torch.Tensor) -> dict[str, Any]:
    """Encode a ``[layers, dim]`` tensor as a JSON-serialisable record.

    Args:
        states: One token's hidden state at every layer.

    Returns:
        A dict with ``layers``, ``dim``, ``dtype`` (``bfloat16``), ``encoding`` and ``data``.
    """
    import torch

    bits = states.detach().to("cpu", torch.bfloat16).contiguous().view(torch.int16).numpy()
    return {
        "layers": int(states.shape[0]),
        "dim": int(states.shape[1]),
        "token": "last_prompt_token",
        "dtype": "bfloat16",
        "encoding": "base64",
        "data": base64.b64encode(bits.tobytes()).decode("ascii"),
    }


def decode_hidden_states(record: dict[str, Any]) -> np.ndarray:
    """Decode a record made by ``encode_hidden_states`` into a float32 ``[layers, dim]`` array.

    Args:
        record: The record, e.g. ``output.metadata["hidden_states"]`` or the same dict read
            back from a log.

    Raises:
        ValueError: a record in an unknown format.
    """
    if record.get("dtype") != "bfloat16" or record.get("encoding") != "base64":
        raise ValueError(f"Unknown hidden-state record format: {record.get('dtype')!r}.")
    bits = np.frombuffer(base64.b64decode(record["data"]), dtype=np.uint16)
    # A bfloat16 value is the upper half of the float32 with the same bits.
    values = (bits.astype(np.uint32) << 16).view(np.float32)
    return values.reshape(int(record["layers"]), int(record["dim"]))
