"""One tool-rendering chat template shared by both local engines.

The embedded SmolLM2's own ChatML template shows no tools to the model. For such models
both ``transformers/`` and ``llamacpp/`` use ``templates/chatml_tools.jinja``: ChatML with
tool definitions, calls and results in the Hermes convention (``<tools>``,
``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``, ``<tool_response>``). A
conversation without tools renders exactly as SmolLM2's own template renders it, so
only tool-using requests differ from the model's template, and both engines read the
same prompt.
"""

from __future__ import annotations

from pathlib import Path

TOOLS_TEMPLATE = Path(__file__).parent / "templates" / "chatml_tools.jinja"


def needs_tools_template(template: str | None) -> bool:
    """Whether a model's template is ChatML that shows no tools (SmolLM2's is)."""
    return bool(template) and "<|im_start|>" in str(template) and "tools" not in str(template)


def tools_template() -> str:
    """The text of the shared ChatML-with-tools template."""
    return TOOLS_TEMPLATE.read_text()
