"""What happened in one WebDojo sample, kept in its store so that the log shows it."""

from __future__ import annotations

from typing import Any

from inspect_ai.util import StoreModel
from pydantic import Field


class WebDojoEpisode(StoreModel):
    """The record of one sample's episode in the browser."""

    success: bool = False
    """All of the task's criteria held after some step."""

    stop_reason: str | None = None
    """Why the episode ended: ``success``, ``exit``, ``refusal``, ``max_steps``,
    ``no_action`` (tools: a turn without a tool call) or ``first_response``."""

    steps: list[dict[str, Any]] = Field(default_factory=list)
    """One entry per step: the action, whether it ran, what happened, the page after."""

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
