"""The one place that imports Inspect's private modules.

Everything else in ping_inspect uses Inspect's public API. When a private name is
needed (Inspect has no public equivalent), it is imported here and re-exported, so a
change in Inspect's internals breaks one module, not many.
"""

from inspect_ai._eval.loader import load_task_spec
from inspect_ai._util.error import PrerequisiteError
from inspect_ai._util.registry import registry_lookup
from inspect_ai.model._generate_config import active_generate_config
from inspect_ai.model._model import active_model

# The api_key Inspect passes when it creates a provider only to look up model information.
try:
    from inspect_ai.model._model_info import MODEL_INFO_LOOKUP_API_KEY
except ImportError:  # a later Inspect may move it; a real key never has this value
    MODEL_INFO_LOOKUP_API_KEY = "__model_info_lookup__"

# The running sample (its log location); None where Inspect no longer has it.
try:
    from inspect_ai.log._samples import sample_active
except ImportError:
    sample_active = None  # type: ignore[assignment]


def openai_compatible_api() -> type:
    """Inspect's OpenAI-compatible provider class (imported on use: it loads the openai SDK)."""
    from inspect_ai.model._providers.openai_compatible import OpenAICompatibleAPI

    return OpenAICompatibleAPI


__all__ = [
    "MODEL_INFO_LOOKUP_API_KEY",
    "PrerequisiteError",
    "active_generate_config",
    "active_model",
    "load_task_spec",
    "openai_compatible_api",
    "registry_lookup",
    "sample_active",
]
