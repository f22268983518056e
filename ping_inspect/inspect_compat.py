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

__all__ = [
    "PrerequisiteError",
    "active_generate_config",
    "active_model",
    "load_task_spec",
    "registry_lookup",
]
