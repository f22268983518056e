"""One tool-rendering chat template shared by both local engines.

The embedded SmolLM2's own ChatML template shows no tools to the model. For such models
both ``transformers/`` and ``llamacpp/`` use ``templates/chatml_tools.jinja``: ChatML with
tool definitions, calls and results in the Hermes convention (``<tools>``,
``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``, ``<tool_response>``). A
conversation without tools renders exactly as SmolLM2's own template renders it, so
only tool-using requests differ from the model's template, and both engines read the
same prompt. ``extract_tool_calls`` reads the model's calls back from its text, for both
engines alike.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from inspect_ai.tool import ToolCall

TOOLS_TEMPLATE = Path(__file__).parent / "templates" / "chatml_tools.jinja"

_TOOL_CALL = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)


def needs_tools_template(template: str | None) -> bool:
    """Whether a model's template is ChatML that shows no tools (SmolLM2's is)."""
    return bool(template) and "<|im_start|>" in str(template) and "tools" not in str(template)


def tools_template() -> str:
    """The text of the shared ChatML-with-tools template."""
    return TOOLS_TEMPLATE.read_text()


def extract_tool_calls(continuation: str, prefix: str = "") -> tuple[str, list[ToolCall]]:
    """Split ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` blocks from a turn.

    This is the convention of the shared template and of the chat templates that render
    tools (Qwen, Hermes and others). ``continuation`` is what the model wrote after
    ``prefix``, the start of its turn that was prefilled (empty for none); a block may
    open in the prefix and close in the continuation. Blocks that lie wholly in the
    prefix were not written by the model and are not calls. A block that is not valid
    JSON becomes a tool call with a parse error.

    Returns:
        The continuation's own text outside the blocks (the continuation unchanged when
        there are none), and the calls.
    """
    text = prefix + continuation
    start = len(prefix)
    calls: list[ToolCall] = []
    own: list[str] = []
    last = 0
    for match in _TOOL_CALL.finditer(text):
        if match.end() <= start:
            continue
        calls.append(_tool_call(f"call_{len(calls)}", match.group(1)))
        own.append(text[max(last, start):match.start()])
        last = match.end()
    if not calls:
        return continuation, []
    own.append(text[max(last, start):])
    return "".join(own).strip(), calls


def _tool_call(call_id: str, block: str) -> ToolCall:
    try:
        data = json.loads(block)
        return ToolCall(
            id=call_id, function=str(data["name"]), arguments=dict(data.get("arguments") or {})
        )
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        return ToolCall(
            id=call_id,
            function="unknown",
            arguments={},
            parse_error=f"Malformed tool call {block!r}: {err}",
        )
