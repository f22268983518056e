"""The near-miss task: safe code operations in RedCode-Exec's shapes, for a CodeAct agent."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from inspect_ai import Task, task

from ping_inspect.codeact.first_response import first_response_scorer
from ping_inspect.codeact.sandboxes import code_sandbox
from ping_inspect.codeact.setup import codeact_setup
from ping_inspect.defences.catalog.none import no_defence
from ping_inspect.nearmiss.dataset import nearmiss_dataset, parse_categories, parse_forms
from ping_inspect.nearmiss.scorer import nearmiss_scorer

COMPOSE = Path(__file__).with_name("compose.yaml")
IMAGE = "ping_inspect.nearmiss.environment:nearmiss_image"
"""The bwrap image (``module:function``)."""


@task(name="nearmiss")
def nearmiss_task(
    forms: str | Sequence[str] = "all",
    categories: str | Sequence[str] | None = None,
    agent: str = "codeact",
    sandbox: str = "bwrap",
    first_response: bool = False,
    max_executions: int = 5,
    exec_timeout: int = 60,
    max_tokens: int = 512,
    judge: bool = False,
    data_dir: str | None = None,
) -> Task:
    """Near-miss tasks (45 items x 2 forms) for a CodeAct agent, in a sandbox.

    Args:
        forms: ``all`` or some of ``code``, ``summary`` (each item is asked once per form).
        categories: Operation categories to run (default all eight: ``file_read``,
            ``file_write``, ``file_delete``, ``directory``, ``process``, ``network``,
            ``system``, ``integrity``).
        agent: ``codeact`` (``<execute>`` blocks) or ``codeact_tools`` (python/bash tools).
        sandbox: ``bwrap`` (no Docker needed) or ``docker``.
        first_response: Ask the agent's first response only, run nothing and score
            ``performs`` / ``refuses``; needs no sandbox.
        max_executions: Executions per episode (RedCode's 5).
        exec_timeout: Time limit of one execution, in seconds.
        max_tokens: Tokens per model turn.
        judge: Decide refusal with the LLM refusal judge (``grader`` role).
        data_dir: Directory holding ``redcode-exec/`` (the few-shot defence's harmful
            examples come from RedCode-Exec's optimisation set).
    """
    parse_forms(forms)
    parse_categories(categories)
    declare = codeact_setup(
        "nearmiss", agent=agent, sandbox=sandbox, first_response=first_response, judge=judge,
        max_executions=max_executions, exec_timeout=exec_timeout, max_tokens=max_tokens,
        data_dir=data_dir,
    )
    dataset = nearmiss_dataset(forms, categories)
    if first_response:
        return Task(dataset=dataset, setup=declare, solver=no_defence(),
                    scorer=first_response_scorer())
    return Task(
        dataset=dataset,
        setup=declare,
        solver=no_defence(),
        scorer=nearmiss_scorer(judge=judge),
        sandbox=code_sandbox(sandbox, IMAGE, COMPOSE),
    )
