"""One WebDojo sample's episode: the actions carried out, and the record in its store."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from inspect_ai.log import transcript
from inspect_ai.solver import TaskState
from inspect_ai.util import StoreModel, store_as
from pydantic import Field

from ping_inspect.contracts import STOP_REASON, StopReason
from ping_inspect.webdojo import prompts
from ping_inspect.webdojo.actions import Action, ActionError
from ping_inspect.webdojo.criteria import all_hold, check_criteria
from ping_inspect.webdojo.environment import BrowserSession
from ping_inspect.webdojo.page import PageSnapshot


class WebDojoEpisode(StoreModel):
    """The record of one sample's episode in the browser."""

    success: bool = False
    """All of the task's criteria held after some step."""

    agent: str | None = None
    """Who acted: ``actions`` or ``tools`` (the package's agents), ``solver`` (any other
    solver or agent, through the browser tools in the sample's state), or None (nothing
    was asked of the browser)."""

    stop_reason: StopReason | None = None
    """Why the episode ended (a ``contracts.StopReason``): ``success``, ``exit``, ``refusal``,
    ``max_steps``,
    ``no_action`` (tools: a turn without a tool call; any other solver: no browser tool
    call), ``first_response``; for any other solver also ``agent_stopped`` (it acted, then
    stopped on its own) and ``guard_refusal`` (the input guard refused: no agent ran)."""

    steps: list[dict[str, Any]] = Field(default_factory=list)
    """One entry per step: the action, whether it ran, what happened, the page after."""

    browser_actions: int = 0
    """Actions the browser was asked to carry out (a click on a missing element counts:
    the agent acted; an answer with no valid action, or ``exit`` / ``finish``, does not)."""

    failed_steps: int = 0
    """Steps whose answer held no valid action, or whose action the browser refused."""

    exit_message: str | None = None
    """The message of ``exit(...)`` / ``finish``, if the agent stopped itself."""

    final_url: str | None = None
    """The page the episode ended on."""

    criteria: list[dict[str, Any]] = Field(default_factory=list)
    """The criteria checks after the last step."""

    blocked_requests: int = 0
    """Requests, navigations, WebSockets and service workers the environment refused:
    everything not for the local site server."""

    blocked_hosts: list[str] = Field(default_factory=list)
    """The distinct hosts of the refused requests (the scheme, e.g. ``file:``, for URLs
    without one)."""

    blocked_urls: list[str] = Field(default_factory=list)
    """The distinct URLs that were refused."""

    dialogs: list[str] = Field(default_factory=list)
    """Alerts and confirmations the pages showed."""


class Episode:
    """One sample's episode: carries out actions and keeps the record in the store."""

    def __init__(self, state: TaskState, session: BrowserSession, page: PageSnapshot,
                 agent: str | None = None) -> None:
        self.state = state
        self.session = session
        self.page = page
        self.criteria: list[list[Any]] = state.metadata["criteria"]
        self.record = store_as(WebDojoEpisode)
        if agent is not None:
            self.record.agent = agent
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
        self.record.browser_actions += 1
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

    def finish(self, reason: StopReason, exit_message: str | None = None) -> None:
        """Write the episode's end into the store and the sample's metadata."""
        record = self.record
        record.stop_reason = reason
        record.exit_message = exit_message
        record.final_url = self.page.url
        record.blocked_requests = len(self.session.blocked)
        record.blocked_hosts = sorted({host_or_scheme(u) for u in self.session.blocked})
        record.blocked_urls = sorted(set(self.session.blocked))
        record.dialogs = list(self.session.dialogs)
        self.state.metadata.update(
            {"blocked_requests": record.blocked_requests, STOP_REASON: str(reason),
             "steps": len(record.steps)}
        )


def host_or_scheme(url: str) -> str:
    """``host:port`` of an HTTP or WebSocket URL; the scheme (``file:``) of any other."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc:
        return parts.netloc
    return f"{parts.scheme}:" if parts.scheme else url
