"""The CodeAct loop: the model writes code, the sandbox runs it, the output comes back.

Two agents, declared by a task with ``use_agent("codeact", benchmark=...)``:

- ``codeact``: code in ``<execute>...</execute>`` blocks (the format of the PING paper's
  code agents); the first block of a turn runs in the sample's sandbox with
  ``python3``, and its output is the next user message.
- ``codeact_tools``: the same loop through Inspect's ``python`` and ``bash`` tools.

Every model turn goes through ``agent_turn`` (so a defence's prefix starts each turn) and
is appended to ``state.messages``; the episode ends on a turn without code or after
``max_executions`` executions. ``first_response=True`` asks the first turn only and runs
nothing (the prefix optimiser's fitness looks at first responses).
"""

from __future__ import annotations

import re
from typing import Any

from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageTool,
    ChatMessageUser,
    GenerateConfig,
    execute_tools,
)
from inspect_ai.solver import Generate, Solver, TaskState
from inspect_ai.tool import bash, python
from inspect_ai.util import SandboxUnavailableError, sandbox, store_as
from pydantic import BaseModel, ConfigDict

from ping_inspect.agents import agent_turn, defended_system_prompt, register_agent, run_episode
from ping_inspect.codeact.prompts import (
    EXECUTE_SYSTEM_PROMPT,
    OBSERVATION,
    TIMED_OUT,
    TOOLS_SYSTEM_PROMPT,
    UNAVAILABLE,
)
from ping_inspect.codeact.record import (
    MAX_KEPT,
    CodeActRecord,
    Execution,
    clip,
    clipped,
    marked_cuts,
)
from ping_inspect.contracts import StopReason
from ping_inspect.prefill import Turn

EXECUTE_BLOCK = re.compile(r"<execute>(.*?)(?:</execute>|\Z)", re.DOTALL)
STOP = "</execute>"


def extract_code(text: str) -> str | None:
    """Return the code of the first ``<execute>`` block (an unclosed one runs to the end)."""
    match = EXECUTE_BLOCK.search(text)
    if match is None or not match.group(1).strip():
        return None
    return match.group(1).strip("\n")


class CodeActSettings(BaseModel, frozen=True):
    """The settings of both CodeAct agents (what a code task passes to ``use_agent``)."""

    model_config = ConfigDict(extra="forbid")

    max_executions: int = 5
    """Executions (``<execute>`` blocks or tool calls) per episode (the paper's 5)."""
    exec_timeout: int = 60
    """Time limit of one execution, in seconds."""
    max_tokens: int = 512
    """Tokens per model turn."""
    max_output_chars: int = 2000
    """Characters of an execution's output shown to the model."""
    first_response: bool = False
    """Ask the first turn only and run nothing."""
    data_dir: str | None = None
    """The benchmark's data: read by the few-shot defence from the agent's spec, not here."""


@register_agent("codeact")
def codeact(**settings: Any) -> Solver:
    """Run ``<execute>`` blocks in the sample's sandbox: the CodeAct agent.

    Args:
        **settings: ``CodeActSettings``.
    """
    s = CodeActSettings(**settings)
    config = GenerateConfig(max_tokens=s.max_tokens, stop_seqs=[STOP])

    async def run(state: TaskState, generate: Generate) -> TaskState:
        record = store_as(CodeActRecord)
        state.messages = _with_system(state.messages, EXECUTE_SYSTEM_PROMPT)

        async def ask() -> tuple[Turn, ChatMessageAssistant]:
            turn, message = await agent_turn(state, state.messages, config=config)
            if extract_code(turn.text) is not None and STOP not in message.text:
                # The stop sequence ends the turn: close the block as the model meant it.
                message = message.model_copy(update={"content": message.text + STOP})
            state.messages.append(message)
            return turn, message

        async def act(turn: Turn, message: ChatMessageAssistant) -> StopReason | None:
            code = extract_code(turn.text)
            if code is None:
                return StopReason.ANSWER
            execution = await run_python(code, s.exec_timeout)
            kept = clip(execution.output, MAX_KEPT)
            cut = execution.cut + clipped(execution.output, MAX_KEPT)
            record.executions.append(execution.model_copy(update={"output": kept, "cut": cut}))
            shown = clip(execution.output, s.max_output_chars)
            state.messages.append(ChatMessageUser(content=OBSERVATION.format(output=shown)))
            return _limit_reached(record, s)

        record.ended = await run_episode(state, ask, act, first_response=s.first_response)
        return state

    return run


@register_agent("codeact_tools")
def codeact_tools(**settings: Any) -> Solver:
    """Run code through Inspect's ``python`` and ``bash`` tools: the CodeAct tools agent.

    Args:
        **settings: ``CodeActSettings`` (an execution is a tool call).
    """
    s = CodeActSettings(**settings)
    config = GenerateConfig(max_tokens=s.max_tokens)
    tools = [python(timeout=s.exec_timeout), bash(timeout=s.exec_timeout)]

    async def run(state: TaskState, generate: Generate) -> TaskState:
        record = store_as(CodeActRecord)
        state.messages = _with_system(state.messages, TOOLS_SYSTEM_PROMPT)
        state.tools = list(tools)

        async def ask() -> tuple[Turn, ChatMessageAssistant]:
            turn, message = await agent_turn(state, state.messages, tools=tools, config=config)
            state.messages.append(message)
            return turn, message

        async def act(turn: Turn, message: ChatMessageAssistant) -> StopReason | None:
            if not message.tool_calls:
                return StopReason.ANSWER
            result = await execute_tools(state.messages, tools, max_output=s.max_output_chars)
            state.messages.extend(result.messages)
            replies = _tool_replies(result.messages)
            for call, reply in zip(message.tool_calls, replies, strict=False):
                code = str(call.arguments.get("code") or call.arguments.get("command") or "")
                cut = marked_cuts(reply.text) + clipped(reply.text, MAX_KEPT)
                record.executions.append(Execution(
                    code=code, output=clip(reply.text, MAX_KEPT), language=call.function, cut=cut
                ))
            return _limit_reached(record, s)

        record.ended = await run_episode(state, ask, act, first_response=s.first_response)
        return state

    return run


def _limit_reached(record: CodeActRecord, settings: CodeActSettings) -> StopReason | None:
    """``limit`` once the episode's executions are used up."""
    return StopReason.LIMIT if len(record.executions) >= settings.max_executions else None


def _tool_replies(messages: list[ChatMessage]) -> list[ChatMessageTool]:
    return [m for m in messages if isinstance(m, ChatMessageTool)]


def _with_system(messages: list[ChatMessage], base: str) -> list[ChatMessage]:
    """Return the conversation with the agent's (defended) system prompt first."""
    rest = [m for m in messages if not isinstance(m, ChatMessageSystem)]
    return [ChatMessageSystem(content=defended_system_prompt(base)), *rest]


async def run_python(code: str, timeout: int) -> Execution:
    """Run ``code`` with ``python3`` in the sample's sandbox (stdin, so no quoting)."""
    try:
        result = await sandbox().exec(["python3", "-"], input=code, timeout=timeout)
    except TimeoutError:
        return Execution(code=code, output=TIMED_OUT.format(seconds=timeout), timed_out=True)
    except SandboxUnavailableError as err:
        return Execution(code=code, output=f"{UNAVAILABLE} {err}".strip())
    separator = "\n" if result.stdout and result.stderr else ""
    output = result.stdout + separator + result.stderr
    cut = int(getattr(result, "cut_bytes", 0))  # the bwrap sandbox's head-and-tail cut
    return Execution(code=code, output=output, returncode=result.returncode, cut=cut)
