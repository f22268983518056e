"""The AgentHarm task: inspect_evals' AgentHarm, its tools intact under any defence."""

from __future__ import annotations

from typing import Any

from inspect_ai import Task, task
from inspect_ai.model import get_model

from ping_inspect.agentharm.agent import AGENT
from ping_inspect.agentharm.dataset import agentharm_dataset, categories, require_inspect_evals
from ping_inspect.agentharm.scorer import agentharm_scorer
from ping_inspect.agents import use_agent
from ping_inspect.defences.catalog.none import no_defence
from ping_inspect.judges.scoring import OnUnknown


@task(name="agentharm")
def agentharm_task(
    split: str = "both",
    subset: str = "test_public",
    behavior_ids: list[str] | str | None = None,
    detailed_behaviors: bool | None = None,
    hint_included: bool | None = None,
    agent: str = "default",
    agent_kwargs: dict[str, Any] | None = None,
    n_irrelevant_tools: int = 0,
    refusal_judge: str | None = None,
    semantic_judge: str | None = None,
    on_unknown: OnUnknown = "error",
    force_redownload: bool = False,
) -> Task:
    """AgentHarm (harmful and benign) with this package's defences or a ``ping/`` model.

    Args:
        split: ``harmful``, ``benign`` or ``both`` (one log, both categories).
        subset: AgentHarm's split: ``val``, ``test_public`` or ``test_private``.
        behavior_ids: Behaviours to run, by prefixed id (``harmful-1-2``).
        detailed_behaviors: Only detailed (True) or open-ended (False) behaviours.
        hint_included: Only behaviours with (True) or without (False) a hint.
        agent: AgentHarm's agent: ``default`` or ``refusal``.
        agent_kwargs: Arguments of AgentHarm's agent (``tool_choice``, ...).
        n_irrelevant_tools: Tools offered that the behaviour does not need.
        refusal_judge: Model that judges refusals (AgentHarm's prompt). Default: the
            model bound to the ``grader`` role, else AgentHarm's default judge (never the
            model under test).
        semantic_judge: Model that AgentHarm's grading functions ask. Same default.
        on_unknown: When the own-words refusal judge gives no verdict: ``error`` or
            ``unknown`` (NaN).
        force_redownload: Download the behaviours again.
    """
    require_inspect_evals()
    from inspect_evals.agentharm.agentharm import run_agent_benchmark

    dataset = agentharm_dataset(
        split, subset, behavior_ids, detailed_behaviors, hint_included, force_redownload
    )
    # AgentHarm's own task gives the run's settings (generation config, message limit);
    # its judges are not used (ours are resolved when scoring, when roles are bound).
    placeholder = get_model("none")
    reference = run_agent_benchmark(
        agent=agent,
        task_name=categories(split)[0],  # type: ignore[arg-type]
        split=subset,  # type: ignore[arg-type]
        refusal_judge=placeholder,
        semantic_judge=placeholder,
        agent_kwargs=agent_kwargs,
    )
    return Task(
        dataset=dataset,
        setup=use_agent(
            AGENT,
            benchmark="agentharm",
            agent=agent,
            agent_kwargs=agent_kwargs or {},
            n_irrelevant_tools=n_irrelevant_tools,
        ),
        solver=no_defence(),
        scorer=agentharm_scorer(refusal_judge, semantic_judge, on_unknown),
        config=reference.config,
        message_limit=reference.message_limit,
        metadata={**(reference.metadata or {}), "agentharm_version": reference.version},
    )
