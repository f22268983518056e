"""Which agent loop serves a sample, and the one model turn every agent loop uses.

A benchmark's task declares its agent in ``Task(setup=use_agent(...))``. The setup is kept
when ``--solver`` replaces the task's solver, so a defence solver (``ping``, ``ptst``, ...)
configures the defence and then runs the same agent with ``run_agent``.

A task that declares no agent (any other Inspect task) is an error for the defence
solvers: ``--solver`` has replaced that task's whole solver (its system prompt, tools and
loop), so running anything in its place would measure a different task. The error points
to ``--model ping/<model>``, which keeps the task's own solver and puts the prefix on
every model call. A task that wants one defended model turn on purpose declares it with
``use_agent("single_turn")``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from inspect_ai.log import transcript
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    GenerateConfig,
    ModelName,
    execute_tools,
    get_model,
)
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.tool import Tool, ToolChoice, ToolDef, ToolFunction, ToolInfo
from inspect_ai.util import store_as

from ping_inspect.contracts import PREFILL_MODE, AgentSpec, DefenceSettings, StopReason
from ping_inspect.defence_registry import DefenceSet
from ping_inspect.judges.patterns import Domain, find_refusal
from ping_inspect.prefill import (
    Turn,
    model_turn,
    own_words_message,
    prefill_capability,
    show_prefix,
    with_past_prefixes,
)

AgentFactory = Callable[..., Solver]
_AGENTS: dict[str, AgentFactory] = {}


def register_agent(name: str) -> Callable[[AgentFactory], AgentFactory]:
    """Register an agent-loop factory under ``name`` (used by ``use_agent``)."""

    def decorate(factory: AgentFactory) -> AgentFactory:
        _AGENTS[name] = factory
        return factory

    return decorate


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


class NoAgentError(RuntimeError):
    """A defence solver ran on a task that declares no agent of this package."""


async def run_agent(state: TaskState, generate: Generate) -> TaskState:
    """Run the sample's declared agent loop.

    Raises:
        NoAgentError: the task declares none (see the module's docstring).
    """
    spec = store_as(AgentSpec)
    if spec.name is None:
        raise NoAgentError(no_agent_message(DefenceSet(store_as(DefenceSettings).defences)))
    agent = _AGENTS[spec.name](**spec.args)
    return await agent(state, generate)


def no_agent_message(defences: DefenceSet) -> str:
    """Say why a defence solver cannot run on a task without an agent, and what to use."""
    solver_name = "+".join(defences) or "no_defence"
    model = str(get_model())
    text = (
        f"--solver {solver_name} replaced this task's whole solver (its system prompt, tools "
        "and agent loop), and the task declares no agent of ping-inspect to run under the "
        "defence: running it would answer with one model turn, without the task's tools, "
        "and measure another task. "
    )
    if ModelName(model).api == "ping":
        text += (
            f"The model {model} already puts the PING prefix on every call of the task's "
            "own solver: leave --solver out."
        )
    elif defences.uses_prefix:
        forced = defences.forced_mode
        mode = f" -M mode={forced}" if forced else ""
        text += (
            "To put the PING prefix on every model call of the task's own solver or agent, "
            "leave --solver out and wrap the model: inspect eval <task> "
            f"--model ping/{model} -M preset=web_glm{mode} (or -M prefix_file=PATH)."
        )
    else:
        from ping_inspect.defence_registry import solver_names, spoken_list

        text += (
            f"{spoken_list(solver_names(uses_prefix=False), 'and')} run the agents of this "
            "package's "
            "benchmarks (tasks/webdojo.py, redcode.py, humaneval.py, nearmiss.py, "
            "agentharm.py); run any "
            f"other task without --solver, or with --model ping/{model} -M preset=NAME "
            "for PING."
        )
    return text + (
        " A task written for this package that wants one defended model turn declares "
        "it: Task(setup=use_agent('single_turn'), ...)."
    )


@register_agent("single_turn")
def single_turn_agent() -> Solver:
    """One defended model turn, for tasks that declare it (``use_agent("single_turn")``)."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        return await single_turn(state)

    return solve


async def single_turn(state: TaskState) -> TaskState:
    """Answer the conversation with one defended model turn."""
    messages = with_system_addenda(state.messages)
    turn, message = await agent_turn(
        state, messages, tools=state.tools, tool_choice=state.tool_choice
    )
    state.messages.append(message)
    state.output = turn.output
    return state


async def defended_generate(
    state: TaskState,
    tool_calls: Literal["loop", "single", "none"] = "loop",
    **config: Any,
) -> TaskState:
    """Inspect's ``generate``, with every model turn asked through ``agent_turn``.

    Pass it as the ``generate`` of a solver chain written for Inspect (one that calls
    ``generate(state)``, as inspect_evals' AgentHarm agent does) to run that chain under
    the sample's defences: the system prompt gets the PTST and few-shot blocks, and each
    turn starts with the prefix. The conversation keeps the model's own words only (as a
    ``ping/`` model returns them, so the chain's own scorers read no prefix); the model
    sees its earlier turns as it wrote them, prefix included (``with_past_prefixes``).
    Tool calls are run as Inspect's ``generate`` runs them.

    Args:
        state: The sample's state.
        tool_calls: ``loop`` (run tool calls and ask again until none), ``single`` (run
            one set of tool calls) or ``none``.
        **config: Generation settings for the turns.
    """
    tool_choice = state.tool_choice
    generate_config = GenerateConfig(**config)
    while True:
        request = with_past_prefixes(with_system_addenda(state.messages))
        turn, message = await agent_turn(
            state, request, tools=state.tools, tool_choice=tool_choice, config=generate_config
        )
        message = own_words_message(message)
        state.output = _with_message(turn, message)
        state.messages.append(message)
        if state.completed:
            return state
        if tool_calls == "none" or not message.tool_calls:
            return state
        result = await execute_tools(
            state.messages, state.tools, generate_config.max_tool_output
        )
        state.messages.extend(result.messages)
        if result.output is not None:
            state.output = result.output
        if state.completed or tool_calls == "single":
            return state
        if isinstance(tool_choice, ToolFunction):  # a forced call is forced once
            tool_choice = "auto"


def _with_message(turn: Turn, message: ChatMessageAssistant) -> Any:
    """The turn's output, its first choice holding ``message``."""
    output = turn.output.model_copy(deep=False)
    first, *rest = output.choices
    output.choices = [first.model_copy(update={"message": message}), *rest]
    return output


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
    if turn.mode is not None and settings.resolved_mode != turn.mode:
        settings.resolved_mode = turn.mode
        state.metadata[PREFILL_MODE] = str(turn.mode)
        transcript().info(
            {
                "prefix": turn.prefix,
                "prefill_mode": str(turn.mode),
                "model": str(model),
                "why": prefill_capability(model).reason,
            },
            source="ping_inspect",
        )
        show_prefix(turn.prefix, turn.mode, settings.prefix_source)
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


Ask = Callable[[], Awaitable[tuple[Turn, ChatMessageAssistant]]]
"""A variant's turn: build the request, ask ``agent_turn``, append the reply; return both."""
Act = Callable[[Turn, ChatMessageAssistant], Awaitable[StopReason | None]]
"""A variant's step: act on the reply; return why the episode stops, or None to go on."""


async def run_episode(
    state: TaskState,
    ask: Ask,
    act: Act,
    *,
    first_response: bool = False,
    refusal_domain: Domain | None = None,
    max_turns: int | None = None,
    exhausted: StopReason = StopReason.MAX_STEPS,
) -> StopReason:
    """The episode every agent loop of this package runs, one variant's step at a time.

    Each turn: the variant asks for it (``ask``: its request, through ``agent_turn``, the
    reply appended where the variant keeps it), the turn becomes the sample's output;
    then the episode stops on a refusal in the model's own words (when a refusal domain
    is given: the paper's environments stop there, unacted), on the first response (in
    ``first_response`` mode nothing is carried out), or when the variant's step (``act``)
    says so.

    Args:
        state: The sample's state.
        ask: The variant's turn.
        act: The variant's step.
        first_response: Stop after the first turn, acting not.
        refusal_domain: ``web`` or ``code``: stop when the turn's own words match that
            domain's refusal patterns; None: no such check.
        max_turns: Most turns (None: until the step stops the episode).
        exhausted: Why the episode stops when ``max_turns`` are used up.

    Returns:
        Why the episode stopped.
    """
    turns = 0
    while max_turns is None or turns < max_turns:
        turns += 1
        turn, message = await ask()
        state.output = turn.output
        if refusal_domain is not None and find_refusal(turn.continuation, refusal_domain):
            return StopReason.REFUSAL
        if first_response:
            return StopReason.FIRST_RESPONSE
        stop = await act(turn, message)
        if stop is not None:
            return stop
    return exhausted
