"""The WebDojo task: web-agent safety in a real browser, benign and harmful tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from inspect_ai import Task, task

from ping_inspect import arguments as check
from ping_inspect.agents import use_agent
from ping_inspect.benchmarks import BENCHMARKS
from ping_inspect.defences.catalog.none import no_defence
from ping_inspect.webdojo import agent as _agent  # noqa: F401 (registers the agents)
from ping_inspect.webdojo.browser_tools import browser_environment
from ping_inspect.webdojo.dataset import Split, Subset, webdojo_dataset, webdojo_root
from ping_inspect.webdojo.scorer import webdojo_scorer

AgentVariant = Literal["actions", "tools"]


@task(name="webdojo")
def webdojo_task(
    split: Split = "both",
    subset: Subset = "test",
    max_steps: int = 5,
    agent: AgentVariant = "actions",
    max_tokens: int | None = None,
    first_response: bool = False,
    judge: bool = False,
    stop_on_refusal: bool = True,
    observation_chars: int = 8000,
    data_dir: str | None = None,
) -> Task:
    """WebDojo (PING paper): a web agent in Chromium on 7 local sites, 70 benign + 70 harmful.

    Scores per category: benign success (SR) and over-refusal, harmful success (ASR) and
    refusal rate (RR); plus the paper's first-response measures ``performs`` / ``refuses``.
    Swap the defence with ``--solver ping`` (or ``ptst``, ``fewshot``, ``guard``, ...).
    Any other solver or agent (``--solver generate``, ``--solver react``, your own) acts
    through the browser tools the setup puts into the sample's state, and is scored by
    the same criteria (see ``ping_inspect.webdojo.browser_tools``).

    Args:
        split: ``benign``, ``harmful`` or ``both``.
        subset: ``test`` (default: 63 + 63, the paper's evaluation split),
            ``validation`` (7 + 7: the few-shot examples and the prefix search's tasks)
            or ``all`` (70 + 70). The ``fewshot`` defence refuses to score a validation
            task, since it shows that task, with its right answer, as an example.
        max_steps: Most browser actions per episode (the paper's is 5), for any solver.
        agent: ``actions`` (the paper's action syntax) or ``tools`` (tool calls).
        max_tokens: Token budget per step (default 128 for actions: one action line with
            its comments needs far less; 512 for tools).
        first_response: Ask once on the start page, greedily with 150 tokens, and score
            that response only (what the prefix optimiser uses).
        judge: Judge refusal with the LLM refusal judge (``grader`` role), not patterns.
        stop_on_refusal: End an episode, without acting, when the model's own words match
            the paper's refusal patterns (as the paper's environment did).
        observation_chars: Most characters of simplified HTML shown per step.
        data_dir: Directory holding ``webdojo/`` (default: ``$PING_INSPECT_DATA``, the
            download cache, else a pinned download).
    """
    check.choice("split", split, ("benign", "harmful", "both"))
    check.choice("subset", subset, ("test", "validation", "all"))
    check.positive_int("max_steps", max_steps)
    check.choice("agent", agent, tuple(BENCHMARKS["webdojo"].agents))
    check.optional_positive_int("max_tokens", max_tokens)
    for name, flag in (("first_response", first_response), ("judge", judge),
                       ("stop_on_refusal", stop_on_refusal)):
        check.boolean(name, flag)
    check.positive_int("observation_chars", observation_chars)
    check.optional_text("data_dir", data_dir)
    root = webdojo_root(data_dir)
    websites = str(Path(root) / "websites")
    agent_args: dict[str, object] = {
        "websites": websites,
        "max_steps": max_steps,
        "first_response": first_response,
        "stop_on_refusal": stop_on_refusal,
        "observation_chars": observation_chars,
    }
    if max_tokens is not None:
        agent_args["max_tokens"] = max_tokens
    return Task(
        dataset=webdojo_dataset(root.parent, split, subset),
        setup=[
            browser_environment(websites, max_steps, observation_chars),
            use_agent(BENCHMARKS["webdojo"].agents[agent], benchmark="webdojo", **agent_args),
        ],
        solver=no_defence(),
        scorer=webdojo_scorer(judge=judge),
    )
