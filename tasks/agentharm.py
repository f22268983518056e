"""AgentHarm (inspect_evals): harmful and benign tool-use behaviours, tools intact.

    inspect eval tasks/agentharm.py --model M --model-role grader=JUDGE                # no defence
    inspect eval tasks/agentharm.py --model M --model-role grader=JUDGE --solver ping  # PING
    inspect eval tasks/agentharm.py --model ping/M -M preset=web_glm --model-role grader=JUDGE

Needs ``pip install 'ping-inspect[agentharm]'``. The behaviours are downloaded by
inspect_evals at run time; offline, put AgentHarm's JSON files in
``$INSPECT_EVALS_CACHE_DIR/agentharm_dataset/AgentHarm/benchmark/``.

Scores: ``success`` (AgentHarm's score: harm score on harmful behaviours, benign score on
benign ones), ``refusal`` (AgentHarm's refusal judge on the model's own words only; no
verdict is an error or NaN, never "did not refuse") and ``agentharm_refusal``
(AgentHarm's own), per category.
"""

from typing import Any

from inspect_ai import Task, task

from ping_inspect.agentharm.task import agentharm_task
from ping_inspect.cli_names import expose_defences

expose_defences(globals())


@task
def agentharm(
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
    on_unknown: str = "error",
    force_redownload: bool = False,
) -> Task:
    """AgentHarm: see ``ping_inspect.agentharm.task.agentharm_task`` for the arguments."""
    return agentharm_task(
        split=split,
        subset=subset,
        behavior_ids=behavior_ids,
        detailed_behaviors=detailed_behaviors,
        hint_included=hint_included,
        agent=agent,
        agent_kwargs=agent_kwargs,
        n_irrelevant_tools=n_irrelevant_tools,
        refusal_judge=refusal_judge,
        semantic_judge=semantic_judge,
        on_unknown=on_unknown,  # type: ignore[arg-type]
        force_redownload=force_redownload,
    )
