"""WebDojo for any agent: the sample's browser, opened by the task's setup, as tools.

The task's setup (``browser_environment``) opens each sample's browser context on its start
page, puts the browser tools (``click``, ``type_text``, ``search``, ``scroll``, ``go_back``,
``finish``: the tools agent's, with its descriptions) into ``state.tools`` and gives the
sample the tools agent's system prompt and first message (the task and the current page).
Whatever solver runs next acts through that one session, whose requests the fences count:

- The package's agents (``actions``, ``tools``, behind every defence solver) take the
  session over (``sample_browser``) and run exactly as before; the tools are then closed.
- Any other solver or agent (``--solver generate``, ``--solver react``, a user's own
  scaffold) calls the tools. Each call is one step: it is carried out, the criteria are
  checked after it, and it is logged as the package's agents log theirs. The episode
  ends, as theirs does, when the criteria hold, on ``finish``, or after ``max_steps``
  steps; later calls are answered "not carried out". The scorer closes the session
  (``finish_foreign_episode``); a sample that errors first is closed at its end.

Inspect's ``react`` agent run as a solver sees only its own tools, never ``state.tools``:
``react_with_sample_tools`` (the task file's bare ``--solver react``) gives it the
sample's tools too.
"""

from __future__ import annotations

import asyncio
import functools
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from inspect_ai.agent import as_solver, react
from inspect_ai.hooks import Hooks, SampleEnd, hooks
from inspect_ai.model import ChatMessageSystem, ChatMessageUser
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.tool import ToolCall, ToolDef, ToolInfo, ToolParam, ToolParams
from inspect_ai.util import StoreModel, store_as

from ping_inspect.arguments import ArgumentError
from ping_inspect.contracts import StopReason
from ping_inspect.judges.scoring import refused_by_guard
from ping_inspect.webdojo import prompts
from ping_inspect.webdojo.actions import Action, ActionError
from ping_inspect.webdojo.environment import BrowserSession, current_environment
from ping_inspect.webdojo.episode import Episode
from ping_inspect.webdojo.page import PageSnapshot

SOLVER_AGENT = "solver"
"""``WebDojoEpisode.agent`` of an episode acted by any solver other than the package's
agents, through the browser tools."""


class BrowserHandle(StoreModel):
    """Which open browser is this sample's (the key of ``_OPEN``)."""

    key: str | None = None


@dataclass
class SampleBrowser:
    """A sample's browser opened by the setup, and its episode for tool-calling solvers."""

    episode: Episode
    max_steps: int
    observation_chars: int
    ended: StopReason | None = None
    """Why no more actions are carried out: ``success``, ``exit`` or ``max_steps``."""
    exit_message: str | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def session(self) -> BrowserSession:
        """The sample's browser session."""
        return self.episode.session

    async def step(self, call: ToolCall) -> str:
        """Carry out one browser tool call; returns what the agent is told."""
        async with self.lock:  # one action at a time, whatever the agent's scaffold does
            if self.ended is not None:
                return f"Not carried out: {self._ended_because()} No more browser actions " \
                    "are carried out."
            record = self.episode.record
            record.agent = record.agent or SOLVER_AGENT
            try:
                action = tool_call_action(call)
            except ActionError as err:
                self.episode.fail(f"{call.function}({call.arguments})", str(err))
                return self._result(f"Not carried out: {err}")
            if action.is_exit:
                self.ended, self.exit_message = StopReason.EXIT, action.message
                return "Stopped."
            outcome = await self.episode.act(action)
            if self.episode.success:
                self.ended = StopReason.SUCCESS
            return self._result(outcome)

    def _result(self, outcome: str) -> str:
        episode = self.episode
        if self.ended is None and len(episode.record.steps) >= self.max_steps:
            self.ended = StopReason.MAX_STEPS
            outcome += f" (the last browser action allowed: the limit is {self.max_steps})"
        return prompts.TOOL_RESULT.format(
            outcome=outcome, location=episode.location(),
            page=episode.page.render(self.observation_chars),
        )

    def _ended_because(self) -> str:
        if self.ended == StopReason.EXIT:
            return "you called finish."
        if self.ended == StopReason.MAX_STEPS:
            return f"the limit of browser actions ({self.max_steps}) is reached."
        return "the episode has ended."

    def stop_reason(self, state: TaskState) -> StopReason:
        """Why the episode ended, as ``WebDojoEpisode.stop_reason`` records it."""
        if self.ended is not None:
            return self.ended
        if self.episode.record.steps:
            return StopReason.AGENT_STOPPED
        return StopReason.GUARD_REFUSAL if refused_by_guard(state) else StopReason.NO_ACTION


_OPEN: dict[str, SampleBrowser] = {}
"""Browsers the setup opened and no one has taken over or closed, by sample (``uuid``)."""


def sample_seed(state: TaskState) -> int:
    """The seed of a sample's pages (``Math.random``): the same on every run."""
    return zlib.crc32(str(state.sample_id).encode())


@solver
def browser_environment(websites: str, max_steps: int = 5, observation_chars: int = 8000
                        ) -> Solver:
    """Open the sample's browser on its start page and hand it to the solver as tools.

    Starts the run's site server and browser on first use (fails early if missing).
    Sets ``state.tools`` to the browser tools and ``state.messages`` to the tools agent's
    system prompt and first message (the task and the current page).

    Args:
        websites: The WebDojo ``websites/`` folder to serve.
        max_steps: Most browser actions a tool-calling solver may take.
        observation_chars: Most characters of simplified HTML shown per step.
    """

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        environment = current_environment()
        await close_sample_browser(state.uuid)  # a retried sample starts afresh
        session = await environment.open_session(Path(websites), seed=sample_seed(state))
        try:
            page = await session.open(state.metadata["start_path"])
        except BaseException:
            await session.close()
            raise
        _OPEN[state.uuid] = SampleBrowser(Episode(state, session, page), max_steps,
                                          observation_chars)
        store_as(BrowserHandle).key = state.uuid
        state.tools = [*state.tools, *browser_tools()]
        first = prompts.TOOLS_FIRST_MESSAGE.format(
            goal=state.input_text, location=_OPEN[state.uuid].episode.location(),
            page=page.render(observation_chars),
        )
        state.messages = [ChatMessageSystem(content=prompts.TOOLS_SYSTEM_PROMPT),
                          ChatMessageUser(content=first)]
        return state

    return solve


@asynccontextmanager
async def sample_browser(
    state: TaskState, websites: Path
) -> AsyncIterator[tuple[BrowserSession, PageSnapshot]]:
    """The sample's browser session and start page, for the package's own agents.

    Takes over the session the setup opened (the browser tools then act no more), or
    opens a fresh one where no setup did; either is closed when the block ends.
    """
    opened = _OPEN.pop(state.uuid, None)
    if opened is None:
        async with current_environment().session(websites, seed=sample_seed(state)) as session:
            yield session, await session.open(state.metadata["start_path"])
        return
    try:
        yield opened.session, opened.episode.page
    finally:
        await opened.session.close()


async def finish_foreign_episode(state: TaskState) -> bool:
    """End the episode a tool-calling solver acted in, and close its browser.

    Returns:
        Whether there was one (False: a package agent took the browser over, or the
        sample is re-scored from a log).
    """
    opened = _OPEN.pop(state.uuid, None)
    if opened is None:
        return False
    try:
        opened.episode.finish(opened.stop_reason(state), opened.exit_message)
    finally:
        await opened.session.close()
    return True


async def close_sample_browser(key: str) -> None:
    """Close a sample's browser, if the setup's is still open."""
    opened = _OPEN.pop(key, None)
    if opened is not None:
        await opened.session.close()


@hooks(
    name="webdojo_sample_browser",
    description="Closes a WebDojo sample's browser context when the sample ends.",
)
class CloseSampleBrowser(Hooks):
    """Closes a sample's browser that no scorer closed (the sample errored)."""

    async def on_sample_end(self, data: SampleEnd) -> None:
        """Close the browser of the sample that just ended, if still open."""
        await close_sample_browser(data.sample_id)


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


def browser_tools() -> list[ToolDef]:
    """The browser tools, acting in the current sample's browser.

    Give them to any agent (``react(tools=browser_tools())``) in the WebDojo task; the
    setup already puts them into ``state.tools``.
    """
    async def click(element: int) -> str:
        return await _call("click", element=element)

    async def type_text(element: int, text: str) -> str:
        return await _call("type_text", element=element, text=text)

    async def search(element: int, text: str) -> str:
        return await _call("search", element=element, text=text)

    async def scroll(direction: Literal["up", "down"]) -> str:
        return await _call("scroll", direction=direction)

    async def go_back() -> str:
        return await _call("go_back")

    async def finish(message: str) -> str:
        return await _call("finish", message=message)

    functions = {f.__name__: f for f in (click, type_text, search, scroll, go_back, finish)}
    return [
        ToolDef(functions[info.name], name=info.name, description=info.description,
                parameters=info.parameters)
        for info in web_tools()
    ]


async def _call(function: str, **arguments: Any) -> str:
    browser = _OPEN.get(store_as(BrowserHandle).key or "")
    if browser is None:
        raise RuntimeError(
            f"The WebDojo browser tool {function} has no browser: it works only in a "
            "WebDojo sample, whose setup opens the browser, and only until the sample "
            "is scored (or a package agent has taken the browser over)."
        )
    return await browser.step(ToolCall(id=function, function=function, arguments=arguments))


@solver
def react_with_sample_tools(**react_args: Any) -> Solver:
    """Inspect's ``react`` agent, given the sample's tools (``state.tools``) as well.

    Inspect runs an agent as a solver with its own tools only; this passes the tools
    the task's setup put into the sample (WebDojo: the browser tools). Other arguments
    are ``react``'s (``prompt``, ``attempts``, ``submit``, ...).

    Args:
        **react_args: Arguments for ``inspect_ai.agent.react`` (not ``tools``).
    """
    if "tools" in react_args:
        raise ArgumentError(
            "react_with_sample_tools: 'tools' is not an argument here: the sample's tools "
            "(state.tools) are passed; use inspect_ai.agent.react(tools=...) for others."
        )
    react(**react_args)  # a wrong argument fails here, before any sample runs

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        agent = react(tools=list(state.tools), **react_args)
        return await as_solver(agent)(state, generate)

    return solve


def expose_react(namespace: dict[str, Any]) -> None:
    """Register ``react_with_sample_tools`` as the bare solver name ``react``.

    A task file calls this so that ``--solver react`` gives Inspect's ``react`` the
    sample's tools (a bare name resolves only to solvers registered outside an installed
    package; a ``@solver`` is found before an ``@agent`` of the same name).

    Args:
        namespace: The calling module's ``globals()``.
    """

    def factory(**react_args: Any) -> Solver:
        return react_with_sample_tools(**react_args)

    functools.update_wrapper(factory, react_with_sample_tools)
    factory.__module__ = namespace["__name__"]
    namespace["react"] = solver(name="react")(factory)
