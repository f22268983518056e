"""Registers the ``transformers/`` and ``llamacpp/`` model APIs, without importing them.

``--model transformers/smollm2`` (the embedded model), ``--model transformers//abs/folder``
or ``--model transformers/<cached-hub-id>``. The implementation, and with it torch and
transformers, loads only when such a model is created.
"""

from __future__ import annotations

from inspect_ai.model import ModelAPI, modelapi

LOCAL_INSTALL = "pip install 'ping-inspect[local]'"


@modelapi(name="transformers")
def transformers() -> type[ModelAPI]:
    """Return the local transformers model API (imported on first use)."""
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as err:
        raise ImportError(
            f"The transformers/ model API needs torch and transformers ({err}). Install them "
            f"with:\n    {LOCAL_INSTALL}\n(on a CPU-only machine install torch first from "
            "the CPU wheel index, so that pip does not pull a CUDA build)."
        ) from err
    from ping_inspect.models.transformers_api import TransformersAPI

    return TransformersAPI


@modelapi(name="llamacpp")
def llamacpp() -> type[ModelAPI]:
    """Return the llama.cpp server model API (imported on first use)."""
    from ping_inspect.models.llamacpp_api import LlamaCppAPI

    return LlamaCppAPI
