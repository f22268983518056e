"""The one place that imports Inspect's private modules.

Everything else in ping_inspect uses Inspect's public API. When a private name is
needed (Inspect has no public equivalent), it is imported here and re-exported, so a
change in Inspect's internals breaks one module, not many.
"""

from inspect_ai._util.error import PrerequisiteError

__all__ = ["PrerequisiteError"]
