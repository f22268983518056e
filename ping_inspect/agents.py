"""Which agent loop serves a sample, and the one model turn every agent loop uses.

A benchmark's task declares its agent in ``Task(setup=use_agent(...))``. The setup is kept
when ``--solver`` replaces the task's solver, so a defence solver (``ping``, ``ptst``, ...)
configures the defence and then runs the same agent with ``run_agent``. A task that
declares no agent (any plain Inspect task) gets a single model turn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inspect_ai.log import transcript
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    GenerateConfig,
    get_model,
)
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.tool import Tool, ToolChoice, ToolDef, ToolInfo
from inspect_ai.util import StoreModel, store_as
from pydantic import Field

from ping_inspect.defences.settings import DefenceSettings
from ping_inspect.prefill import Turn, model_turn, prefill_capability

AgentFactory = Callable[..., Solver]
_AGENTS: dict[str, AgentFactory] = {}


def register_agent(name: str) -> Callable[[AgentFactory], AgentFactory]:
    """Register an agent-loop factory under ``name`` (used by ``use_agent``)."""

    def decorate(factory: AgentFactory) -> AgentFactory:
        _AGENTS[name] = factory
        return factory

    return decorate


class AgentSpec(StoreModel):
    """The agent loop declared by the task's setup."""

    name: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    benchmark: str | None = None


@solver
def use_agent(name: str, benchmark: str | None = None, **args: Any) -> Solver:
    """Declare the agent loop that serves each sample (put it in ``Task(setup=...)``).

    Args:
        name: A name registered with ``register_agent``.
        benchmark: The benchmark the sample belongs to (few-shot examples come from it).
        **args: Arguments for the agent factory.
    """
    if name not in _AGENTS:
        raise ValueError(f"Unknown agent '{name}'. Known agents: {', '.join(sorted(_AGENTS))}")

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        spec = store_as(AgentSpec)
        spec.name, spec.args, spec.benchmark = name, dict(args), benchmark
        return state

    return solve


async def run_agent(state: TaskState, generate: Generate) -> TaskState:
    """Run the sample's declared agent loop, or one model turn if it declares none."""
    spec = store_as(AgentSpec)
    if spec.name is None:
        return await single_turn(state)
    agent = _AGENTS[spec.name](**spec.args)
    return await agent(state, generate)


async def single_turn(state: TaskState) -> TaskState:
    """Answer the conversation with one defended model turn (for tasks with no agent)."""
    messages = with_system_addenda(state.messages)
    turn, message = await agent_turn(
        state, messages, tools=state.tools, tool_choice=state.tool_choice
    )
    state.messages.append(message)
    state.output = turn.output
    return state


def defended_system_prompt(base: str) -> str:
    """Return an agent's system prompt with the active defences' blocks appended."""
    addenda = store_as(DefenceSettings).system_addenda
    return "\n\n".join([base, *addenda]) if addenda else base


def with_system_addenda(messages: list[ChatMessage]) -> list[ChatMessage]:
    """Return ``messages`` with the defences' blocks added to the system message."""
    addenda = store_as(DefenceSettings).system_addenda
    if not addenda:
        return messages
    system = [i for i, m in enumerate(messages) if isinstance(m, ChatMessageSystem)]
    if not system:
        return [ChatMessageSystem(content="\n\n".join(addenda)), *messages]
    first = system[0]
    merged = ChatMessageSystem(content=defended_system_prompt(messages[first].text))
    return [*messages[:first], merged, *messages[first + 1 :]]


async def agent_turn(
    state: TaskState,
    messages: list[ChatMessage],
    tools: list[Tool | ToolDef | ToolInfo] | None = None,
    tool_choice: ToolChoice | None = None,
    config: GenerateConfig | None = None,
) -> tuple[Turn, ChatMessageAssistant]:
    """One model turn of an agent loop, with the sample's prefix re-applied.

    Every agent loop asks for its turns through this function, so the prefix reaches
    the model the same way in every benchmark, every turn is greedy unless the user
    chose a temperature, and the mode and temperature used are recorded in the sample's
    metadata (and, when they first appear or change, in the transcript).

    Args:
        state: The sample's state (its store holds the defence settings).
        messages: What the model should see, without the prefix.
        tools: Tools offered on this turn.
        tool_choice: Tool choice directive.
        config: Generation settings for this turn (leave its temperature unset: the
            user's wins, else the turn is greedy).

    Returns:
        The turn, and the assistant message that records it (prefix and continuation
        apart in its metadata). The caller decides where to append it.
    """
    settings = store_as(DefenceSettings)
    model = get_model()
    turn, message = await model_turn(
        model,
        messages,
        prefix=settings.prefix,
        mode=settings.prefix_mode,
        tools=tools,
        tool_choice=tool_choice,
        config=config,
    )
    if turn.mode is not None and settings.resolved_mode != str(turn.mode):
        settings.resolved_mode = str(turn.mode)
        state.metadata["prefill_mode"] = str(turn.mode)
        transcript().info(
            {
                "prefix": turn.prefix,
                "prefill_mode": str(turn.mode),
                "model": str(model),
                "why": prefill_capability(model).reason,
            },
            source="ping_inspect",
        )
    _record_decoding(state, turn)
    return turn, message


def _record_decoding(state: TaskState, turn: Turn) -> None:
    """Put the turn's temperature in the sample's metadata; log it when it changes."""
    if turn.decoding is None:
        return
    record = turn.decoding.record()
    if all(state.metadata.get(k) == v for k, v in record.items()):
        return
    state.metadata.update(record)
    transcript().info(record, source="ping_inspect")
