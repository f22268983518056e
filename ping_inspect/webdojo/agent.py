"""The WebDojo agent loops: the paper's action format, and a tool-calling variant.

Both run one episode per sample in a fresh browser context. Each step the model sees the
task and the current page (simplified HTML with numbered elements), answers through
``ping_inspect.agents.agent_turn`` (so defences such as PING apply to every turn), and its
action is carried out in the browser. The episode ends when all the task's criteria hold
(success), when the agent stops (``exit`` / ``finish``), when its own words match the
paper's refusal patterns (as in the paper's environment, the action is then not carried
out), or after ``max_steps``. A malformed action is a failed step: the reason is logged
and shown to the model on its next turn.

In ``first_response`` mode the model is asked once, on the start page, greedily and with
at most 150 tokens, and nothing is carried out: what the prefix optimiser scores.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from inspect_ai.log import transcript
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageTool,
    ChatMessageUser,
    GenerateConfig,
)
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.tool import ToolCall, ToolInfo, ToolParam, ToolParams
from inspect_ai.util import store_as

from ping_inspect.agents import agent_turn, defended_system_prompt, register_agent
from ping_inspect.judges.patterns import find_refusal
from ping_inspect.webdojo import prompts
from ping_inspect.webdojo.actions import Action, ActionError, parse_action
from ping_inspect.webdojo.criteria import all_hold, check_criteria
from ping_inspect.webdojo.environment import BrowserSession, current_environment
from ping_inspect.webdojo.episode import WebDojoEpisode
from ping_inspect.webdojo.page import PageSnapshot

FIRST_RESPONSE_TOKENS = 150
"""Token budget of the single greedy turn in ``first_response`` mode (the paper's)."""


@solver
def browser_environment(websites: str) -> Solver:
    """Start the run's site server and browser (once per run; fails early if missing).

    Args:
        websites: The WebDojo ``websites/`` folder to serve.
    """

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        environment = current_environment()
        environment.server(Path(websites))
        await environment.browser()
        return state

    return solve


class Episode:
    """One sample's episode: carries out actions and keeps the record in the store."""

    def __init__(self, state: TaskState, session: BrowserSession, page: PageSnapshot) -> None:
        self.state = state
        self.session = session
        self.page = page
        self.criteria: list[list[Any]] = state.metadata["criteria"]
        self.record = store_as(WebDojoEpisode)
        self.history: list[str] = []
        self.note = ""

    @property
    def success(self) -> bool:
        """Whether the criteria held after the last step."""
        return self.record.success

    async def act(self, action: Action) -> str:
        """Carry out an action, observe the page, check the criteria; returns what happened.

        A browser-side failure (no such element, not a text field) is a failed step; the
        criteria are checked after it all the same (a timed-out click may have landed).
        """
        try:
            outcome = await self.session.execute(action)
        except ActionError as err:
            await self._observe_and_check()
            self.fail(action.describe(), str(err))
            return f"Not carried out: {err}"
        await self._observe_and_check()
        self._log(action.describe(), ok=True, outcome=outcome)
        self.history.append(f"{action.describe()}  -> {outcome}")
        self.note = ""
        return outcome

    async def _observe_and_check(self) -> None:
        self.page = await self.session.observe()
        checks = check_criteria(self.criteria, self.page)
        self.record.success = all_hold(checks)
        self.record.criteria = [
            {"criterion": list(c.criterion), "held": c.held, "detail": c.detail} for c in checks
        ]

    def fail(self, answer: str, reason: str) -> None:
        """Record a step whose answer could not be carried out."""
        self.record.failed_steps += 1
        self._log(answer, ok=False, outcome=reason)
        self.history.append(f"(not carried out: {reason})")
        self.note = prompts.FAILED_STEP_NOTE.format(reason=reason)

    def _log(self, action: str, ok: bool, outcome: str) -> None:
        entry = {"step": len(self.record.steps) + 1, "action": action, "ok": ok,
                 "outcome": outcome, "url": self.page.url, "success": self.record.success}
        self.record.steps.append(entry)
        transcript().info(entry, source="webdojo")

    def location(self) -> str:
        """Return the current page's path and title, as shown to the agent."""
        path = self.page.url.split("/websites/", 1)[-1]
        title = f" ({self.page.title})" if self.page.title else ""
        return f"/{path}{title}"

    def finish(self, reason: str, exit_message: str | None = None) -> None:
        """Write the episode's end into the store and the sample's metadata."""
        record = self.record
        record.stop_reason = reason
        record.exit_message = exit_message
        record.final_url = self.page.url
        record.blocked_requests = len(self.session.blocked)
        record.blocked_hosts = sorted({_host_or_scheme(u) for u in self.session.blocked})
        record.blocked_urls = sorted(set(self.session.blocked))
        record.dialogs = list(self.session.dialogs)
        self.state.metadata.update(
            blocked_requests=record.blocked_requests, stop_reason=reason, steps=len(record.steps)
        )


def _host_or_scheme(url: str) -> str:
    """``host:port`` of an HTTP or WebSocket URL; the scheme (``file:``) of any other."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc:
        return parts.netloc
    return f"{parts.scheme}:" if parts.scheme else url


def _sample_seed(state: TaskState) -> int:
    return zlib.crc32(str(state.sample_id).encode())


def _turn_config(max_tokens: int, first_response: bool) -> GenerateConfig:
    # No temperature: every turn is greedy unless the user chose one (agent_turn).
    return GenerateConfig(max_tokens=FIRST_RESPONSE_TOKENS if first_response else max_tokens)


@register_agent("webdojo")
def webdojo_agent(
    websites: str,
    max_steps: int = 5,
    max_tokens: int = 128,
    first_response: bool = False,
    stop_on_refusal: bool = True,
    observation_chars: int = 8000,
) -> Solver:
    """Run the paper's web agent: one action per turn in the Python-like syntax.

    Args:
        websites: The WebDojo ``websites/`` folder.
        max_steps: Most steps per episode (the paper's is 5).
        max_tokens: Token budget of each turn.
        first_response: Ask once on the start page (greedy, 150 tokens) and act not.
        stop_on_refusal: End the episode, without acting, when the model's own words match
            the paper's refusal patterns (the paper's environment did).
        observation_chars: Most characters of simplified HTML shown per step.
    """
    steps = 1 if first_response else max_steps
    config = _turn_config(max_tokens, first_response)

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        environment = current_environment()
        system = ChatMessageSystem(content=defended_system_prompt(prompts.SYSTEM_PROMPT))
        state.messages = [system]
        async with environment.session(Path(websites), seed=_sample_seed(state)) as session:
            episode = Episode(state, session, await session.open(state.metadata["start_path"]))
            reason, message = "max_steps", None
            for _ in range(steps):
                shown = _observation(state, episode, observation_chars)
                observation = ChatMessageUser(content=shown)
                turn, reply = await agent_turn(state, [system, observation], config=config)
                state.messages.extend([observation, reply])
                state.output = turn.output
                if stop_on_refusal and find_refusal(turn.continuation, "web"):
                    reason = "refusal"
                    break
                if first_response:
                    reason = "first_response"
                    break
                try:
                    action = parse_action(turn.text)
                except ActionError as err:
                    episode.fail(turn.continuation.strip()[:200], str(err))
                    continue
                if action.is_exit:
                    reason, message = "exit", action.message
                    break
                await episode.act(action)
                if episode.success:
                    reason = "success"
                    break
            episode.finish(reason, message)
        return state

    return solve


def _observation(state: TaskState, episode: Episode, max_chars: int) -> str:
    history = "\n".join(f"{i}. {h}" for i, h in enumerate(episode.history, start=1))
    return prompts.OBSERVATION.format(
        goal=state.input_text,
        history=history or prompts.NO_HISTORY,
        note=episode.note,
        location=episode.location(),
        page=episode.page.render(max_chars),
    )


def web_tools() -> list[ToolInfo]:
    """Describe the tools: click, type_text, search, scroll, go_back, finish."""
    element = ToolParam(type="integer", description=prompts.TOOL_PARAMETERS["element"])
    text = ToolParam(type="string", description=prompts.TOOL_PARAMETERS["text"])
    direction = ToolParam(
        type="string", enum=["up", "down"], description=prompts.TOOL_PARAMETERS["direction"]
    )
    message = ToolParam(type="string", description=prompts.TOOL_PARAMETERS["message"])
    signatures: dict[str, dict[str, ToolParam]] = {
        "click": {"element": element},
        "type_text": {"element": element, "text": text},
        "search": {"element": element, "text": text},
        "scroll": {"direction": direction},
        "go_back": {},
        "finish": {"message": message},
    }
    return [
        ToolInfo(
            name=name,
            description=prompts.TOOL_DESCRIPTIONS[name],
            parameters=ToolParams(properties=dict(params), required=list(params)),
        )
        for name, params in signatures.items()
    ]


def tool_call_action(call: ToolCall) -> Action:
    """Return the action a tool call asks for.

    Raises:
        ActionError: an unknown tool or missing or invalid arguments.
    """
    if call.parse_error:
        raise ActionError(
            f"the arguments of {call.function} could not be read: {call.parse_error}"
        )
    args = call.arguments or {}
    source = f"{call.function}({', '.join(f'{k}={v!r}' for k, v in args.items())})"
    try:
        if call.function == "click":
            return Action("do", name="Click", element=_element(args), source=source)
        if call.function in ("type_text", "search"):
            name = "Type" if call.function == "type_text" else "Search"
            return Action("do", name=name, argument=str(args["text"]), element=_element(args),
                          source=source)
        if call.function == "scroll":
            direction = str(args["direction"]).lower()
            if direction not in ("up", "down"):
                raise ActionError(f'scroll direction must be "up" or "down", not {direction!r}')
            return Action("do", name=f"Scroll {direction.title()}", source=source)
        if call.function == "go_back":
            return Action("go_backward", source=source)
        if call.function == "finish":
            return Action("exit", message=str(args.get("message", "")), source=source)
    except KeyError as err:
        raise ActionError(f"{call.function} needs the argument {err.args[0]!r}") from err
    raise ActionError(f"there is no tool {call.function!r}")


def _element(args: dict[str, Any]) -> int:
    value = args["element"]
    text = str(value).strip().strip("[]#").strip()
    if isinstance(value, bool) or not text.isdigit():
        raise ActionError(f"element must be the number of a page element, not {value!r}")
    return int(text)


@register_agent("webdojo_tools")
def webdojo_tools_agent(
    websites: str,
    max_steps: int = 5,
    max_tokens: int = 512,
    first_response: bool = False,
    stop_on_refusal: bool = True,
    observation_chars: int = 8000,
) -> Solver:
    """Run the same environment for models that act through tool calls.

    Tools: ``click``, ``type_text``, ``search``, ``scroll``, ``go_back``, ``finish``. A turn
    without a tool call ends the episode. Older pages are left out of the conversation.

    Args:
        websites: The WebDojo ``websites/`` folder.
        max_steps: Most steps per episode.
        max_tokens: Token budget of each turn.
        first_response: Ask once on the start page (greedy, 150 tokens) and act not.
        stop_on_refusal: End the episode, without acting, when the model's own words match
            the paper's refusal patterns.
        observation_chars: Most characters of simplified HTML shown per step.
    """
    steps = 1 if first_response else max_steps
    config = _turn_config(max_tokens, first_response)
    tools = web_tools()

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        environment = current_environment()
        system = ChatMessageSystem(content=defended_system_prompt(prompts.TOOLS_SYSTEM_PROMPT))
        async with environment.session(Path(websites), seed=_sample_seed(state)) as session:
            episode = Episode(state, session, await session.open(state.metadata["start_path"]))
            first = prompts.TOOLS_FIRST_MESSAGE.format(
                goal=state.input_text, location=episode.location(),
                page=episode.page.render(observation_chars),
            )
            conversation: list[ChatMessage] = [system, ChatMessageUser(content=first)]
            state.messages = list(conversation)
            reason, message = "max_steps", None
            for _ in range(steps):
                turn, reply = await agent_turn(state, conversation, tools=tools, config=config)
                conversation.append(reply)
                state.messages.append(reply)
                state.output = turn.output
                if stop_on_refusal and find_refusal(turn.continuation, "web"):
                    reason = "refusal"
                    break
                if first_response:
                    reason = "first_response"
                    break
                if not reply.tool_calls:
                    reason = "no_action"
                    break
                stop, message = await _run_tool_calls(episode, reply, conversation, state,
                                                      observation_chars)
                if stop:
                    reason = stop
                    break
            episode.finish(reason, message)
        return state

    return solve


async def _run_tool_calls(
    episode: Episode,
    reply: ChatMessageAssistant,
    conversation: list[ChatMessage],
    state: TaskState,
    observation_chars: int,
) -> tuple[str | None, str | None]:
    """Carry out the first tool call of a turn and answer every call.

    Returns:
        Why the episode stops (``exit``, ``success``) or None, and the exit message.
    """
    calls = reply.tool_calls or []
    first, rest = calls[0], calls[1:]
    stop: str | None = None
    exit_message: str | None = None
    try:
        action = tool_call_action(first)
    except ActionError as err:
        episode.fail(f"{first.function}({first.arguments})", str(err))
        outcome = f"Not carried out: {err}"
    else:
        if action.is_exit:
            return "exit", action.message
        outcome = await episode.act(action)
        stop = "success" if episode.success else None
    _forget_old_pages(conversation)
    results = [_tool_result(first, prompts.TOOL_RESULT.format(
        outcome=outcome, location=episode.location(), page=episode.page.render(observation_chars)
    ))]
    results += [_tool_result(c, "Not carried out: one action per turn.") for c in rest]
    conversation.extend(results)
    state.messages.extend(results)
    return stop, exit_message


def _tool_result(call: ToolCall, content: str) -> ChatMessageTool:
    return ChatMessageTool(content=content, tool_call_id=call.id, function=call.function)


def _forget_old_pages(conversation: list[ChatMessage]) -> None:
    """Replace the pages in earlier tool results with a short note (the model's copy only)."""
    for i, message in enumerate(conversation):
        if isinstance(message, ChatMessageTool) and "\nCurrent page: " in message.text:
            head = message.text.split("\nCurrent page: ", 1)[0]
            conversation[i] = message.model_copy(
                update={"content": f"{head}\n{prompts.TOOL_RESULT_OLD_PAGE}"}
            )
