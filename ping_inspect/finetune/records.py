"""Training records: what a model was shown and what it answered, as chat-template dicts.

A record is one JSON line ``{"messages": [...]}`` (plus ``"tools"`` when the agent offered
tools). The messages are converted with the ``transformers/`` provider's own
``chat_dicts``, so a fine-tuned model is trained on exactly the dicts its chat template
renders when the same agent runs it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from inspect_ai.model import ChatMessage
from inspect_ai.tool import ToolInfo

Record = dict[str, Any]


def chat_dicts(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """Convert Inspect messages as the ``transformers/`` provider does before rendering."""
    from ping_inspect.models.transformers_api import chat_dicts as provider_chat_dicts

    return provider_chat_dicts(list(messages))


def tool_schemas(tools: Sequence[ToolInfo]) -> list[dict[str, Any]]:
    """Tool definitions as the ``transformers/`` provider passes them to a chat template."""
    from ping_inspect.models.transformers_api import tool_schemas as provider_tool_schemas

    return provider_tool_schemas(list(tools))


def training_record(
    messages: Sequence[ChatMessage], tools: Sequence[ToolInfo] = (), **extra: Any
) -> Record:
    """One training example: the conversation, ending with the assistant's answer.

    Args:
        messages: The model's input followed by its answer(s).
        tools: Tools the agent offered on that turn.
        **extra: Provenance kept beside the messages (e.g. ``source``, ``sample_id``);
            the trainer reads only ``messages`` and ``tools``.

    Raises:
        ValueError: the conversation does not end with an assistant message.
    """
    converted = chat_dicts(messages)
    if not converted or converted[-1]["role"] != "assistant":
        raise ValueError("A training record must end with the assistant's answer.")
    record: Record = {"messages": converted}
    if tools:
        record["tools"] = tool_schemas(tools)
    if extra:
        record["meta"] = extra
    return record


def write_jsonl(records: Iterable[Record], path: str | Path) -> int:
    """Write records as JSON lines (UTF-8); returns how many were written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def read_jsonl(path: str | Path) -> list[Record]:
    """Read training records, checking that each holds a conversation.

    Raises:
        ValueError: a line is not JSON or holds no ``messages`` list ending with the
            assistant's turn (the message names the file and line).
    """
    records: list[Record] = []
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{number}: not JSON ({err})") from err
            messages = record.get("messages") if isinstance(record, dict) else None
            if not isinstance(messages, list) or not messages:
                raise ValueError(f"{path}:{number}: no 'messages' list")
            if not any(m.get("role") == "assistant" for m in messages):
                raise ValueError(f"{path}:{number}: no assistant message to learn from")
            records.append(record)
    return records


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes (recorded in a fine-tuned model's card)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
