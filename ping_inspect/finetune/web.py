"""Benign WebDojo trajectories: new goals carried out by a scripted expert in Chromium.

The eval runs the package's WebDojo actions agent (its system prompt, its observation of
the simplified page with numbered elements, its history of previous actions) in the real
browser environment on the goals of ``web_goals``. The expert reads each observation as
a model would (the goal, how many actions it has taken, the element numbers on the page)
and answers with the next action; the agent carries it out and checks the goal's
criteria after every step. Each step's request and answer is one training example.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from inspect_ai import Task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessage, ChatMessageUser
from inspect_ai.tool import ToolInfo

import ping_inspect.webdojo.agent  # noqa: F401  (registers the WebDojo agents)
from ping_inspect.agents import use_agent
from ping_inspect.defences.catalog.none import no_defence
from ping_inspect.finetune.web_goals import WebGoal
from ping_inspect.webdojo.browser_tools import browser_environment
from ping_inspect.webdojo.dataset import webdojo_root
from ping_inspect.webdojo.scorer import webdojo_scorer

MAX_STEPS = 5
"""The paper's step limit; every goal here needs at most four actions."""


def web_samples(goals: Sequence[WebGoal]) -> list[Sample]:
    """One benign sample per goal, with the metadata the WebDojo agent and scorer read."""
    return [
        Sample(
            id=goal.id,
            input=goal.goal,
            metadata={
                "benchmark": "finetune_web",
                "category": "benign",
                "subset": "train",
                "website": goal.site,
                "webpage": goal.webpage,
                "start_path": f"{goal.webpage}/",
                "criteria": goal.criteria,
            },
        )
        for goal in goals
    ]


class WebExpert:
    """The scripted expert: the goal's next step, read off the observation."""

    def __init__(self, goals: Sequence[WebGoal]) -> None:
        """Index the goals by their text (what the observation shows)."""
        self.by_goal = {goal.goal: goal for goal in goals}

    def __call__(self, input: list[ChatMessage], tools: list[ToolInfo]) -> str:
        """The next action for the observation in ``input``."""
        observation = next(m.text for m in reversed(input) if isinstance(m, ChatMessageUser))
        goal_text = observation.split("\n", 1)[0].removeprefix("Task: ")
        goal = self.by_goal.get(goal_text)
        if goal is None:
            raise LookupError(f"the expert has no script for the goal {goal_text!r}")
        history = observation.split("Previous actions:\n", 1)[1].split("\nCurrent page:", 1)[0]
        step = len(re.findall(r"^\d+\. ", history, flags=re.MULTILINE))
        page = observation.split("\nCurrent page: ", 1)[1]
        if step >= len(goal.steps):
            return 'exit(message="Done.")'
        return goal.steps[step](page)


def web_trajectory_task(
    goals: Sequence[WebGoal], data_dir: str | None = None, observation_chars: int = 8000
) -> Task:
    """The eval that records the web trajectories (run it with ``WebExpert``).

    Args:
        goals: The training goals.
        data_dir: Directory holding ``webdojo/`` (default: ``$PING_INSPECT_DATA``, ...).
        observation_chars: Most characters of simplified HTML shown per step (the
            WebDojo task's default).
    """
    websites = str(Path(webdojo_root(data_dir)) / "websites")
    return Task(
        name="finetune_web_trajectories",
        dataset=MemoryDataset(web_samples(goals), name="finetune-web"),
        setup=[
            browser_environment(websites, MAX_STEPS, observation_chars),
            use_agent("webdojo", benchmark="webdojo", websites=websites, max_steps=MAX_STEPS,
                      observation_chars=observation_chars),
        ],
        solver=no_defence(),
        scorer=webdojo_scorer(),
    )
