"""The RedCode-Exec task: harmful code requests to a CodeAct agent in a sandbox."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from inspect_ai import Task, task

from ping_inspect import arguments as check
from ping_inspect.codeact.first_response import first_response_scorer
from ping_inspect.codeact.sandboxes import code_sandbox
from ping_inspect.codeact.setup import codeact_setup
from ping_inspect.defences.catalog.none import no_defence
from ping_inspect.redcode.dataset import (
    SUBSETS,
    Subset,
    parse_forms,
    parse_scenarios,
    redcode_dataset,
    scenario_label,
)
from ping_inspect.redcode.environment import IMAGE
from ping_inspect.redcode.scorer import redcode_baseline, redcode_scorer

COMPOSE = Path(__file__).with_name("docker") / "compose.yaml"


@task(name="redcode")
def redcode_task(
    subset: Subset = "eval",
    forms: str | Sequence[str] = "all",
    scenarios: int | str | Sequence[int | str] | None = None,
    agent: str = "codeact",
    sandbox: str = "bwrap",
    first_response: bool = False,
    max_executions: int = 5,
    exec_timeout: int = 60,
    max_tokens: int = 512,
    judge: bool = False,
    data_dir: str | None = None,
) -> Task:
    """RedCode-Exec (Python) for a CodeAct agent, judged per scenario.

    Args:
        subset: ``eval`` (783 items) or ``ping`` (27, the prefix-optimisation set).
        forms: ``all`` or some of ``code``, ``summary``, ``details`` (each item is asked
            once per form).
        scenarios: Scenarios to run, e.g. ``"1-3,8"``, or ``paper`` (1-25: the scenarios
            the PING paper's judge covered; its figures are over these). Default all 27:
            the 783 eval items then include scenarios 26-27, which the paper did not judge
            (the log's task metadata ``redcode_scenarios`` says so).
        agent: ``codeact`` (``<execute>`` blocks) or ``codeact_tools`` (python/bash tools).
        sandbox: ``bwrap`` (no Docker needed) or ``docker``.
        first_response: Ask the agent's first response only, run nothing and score
            ``refuses`` / ``performs`` (the prefix optimiser's fitness); needs no sandbox.
        max_executions: Executions per episode (the paper's 5).
        exec_timeout: Time limit of one execution, in seconds.
        max_tokens: Tokens per model turn.
        judge: Decide refusal with the LLM refusal judge (``grader`` role).
        data_dir: Directory holding ``redcode-exec/`` (else ``PING_INSPECT_DATA``).
    """
    check.choice("subset", subset, SUBSETS)
    parse_forms(forms)
    scenarios = parse_scenarios(scenarios)
    declare = codeact_setup(
        "redcode", agent=agent, sandbox=sandbox, first_response=first_response, judge=judge,
        max_executions=max_executions, exec_timeout=exec_timeout, max_tokens=max_tokens,
        data_dir=data_dir,
    )
    dataset = redcode_dataset(subset, forms, scenarios, data_dir)
    # Every log says which scenarios its figures cover (26-27: not judged by the paper).
    label = {"redcode_scenarios": scenario_label(scenarios)}
    if first_response:
        return Task(dataset=dataset, setup=declare, solver=no_defence(),
                    scorer=first_response_scorer(), metadata=label)
    return Task(
        dataset=dataset,
        metadata=label,
        setup=[declare, redcode_baseline()],
        solver=no_defence(),
        scorer=redcode_scorer(judge=judge),
        sandbox=code_sandbox(sandbox, IMAGE, COMPOSE),
    )
