"""The HumanEval task: benign coding problems for a CodeAct agent in a sandbox."""

from __future__ import annotations

from pathlib import Path

from inspect_ai import Task, task

from ping_inspect import arguments as check
from ping_inspect.codeact.first_response import first_response_scorer
from ping_inspect.codeact.sandboxes import code_sandbox
from ping_inspect.codeact.setup import codeact_setup
from ping_inspect.defences.catalog.none import no_defence
from ping_inspect.humaneval.dataset import humaneval_dataset, parse_problems
from ping_inspect.humaneval.scorer import humaneval_scorer

COMPOSE = Path(__file__).with_name("compose.yaml")


@task(name="humaneval")
def humaneval_task(
    problems: int | str | list[int | str] | None = None,
    agent: str = "codeact",
    sandbox: str = "bwrap",
    first_response: bool = False,
    max_executions: int = 5,
    exec_timeout: int = 30,
    max_tokens: int = 512,
    test_timeout: int = 30,
    judge: bool = False,
    data_dir: str | None = None,
) -> Task:
    """HumanEval (164 problems) for a CodeAct agent; the tests run in the sandbox.

    Args:
        problems: Problems to run, by number (``"0-9"``); default all 164.
        agent: ``codeact`` (``<execute>`` blocks) or ``codeact_tools`` (python/bash tools).
        sandbox: ``bwrap`` (no Docker needed) or ``docker``.
        first_response: Ask the agent's first response only, run nothing and score
            ``performs`` / ``refuses``; needs no sandbox.
        max_executions: Executions per episode.
        exec_timeout: Time limit of one execution, in seconds.
        max_tokens: Tokens per model turn.
        test_timeout: Time limit of the test run, in seconds.
        judge: Decide refusal with the LLM refusal judge (``grader`` role).
        data_dir: Directory holding ``redcode-exec/`` (the few-shot defence's harmful
            examples come from RedCode-Exec's optimisation set).
    """
    parse_problems(problems)
    check.positive_int("test_timeout", test_timeout)
    declare = codeact_setup(
        "humaneval", agent=agent, sandbox=sandbox, first_response=first_response, judge=judge,
        max_executions=max_executions, exec_timeout=exec_timeout, max_tokens=max_tokens,
        data_dir=data_dir,
    )
    if first_response:
        return Task(dataset=humaneval_dataset(problems), setup=declare, solver=no_defence(),
                    scorer=first_response_scorer())
    return Task(
        dataset=humaneval_dataset(problems),
        setup=declare,
        solver=no_defence(),
        scorer=humaneval_scorer(test_timeout=test_timeout, judge=judge),
        sandbox=code_sandbox(sandbox, "base", COMPOSE),
    )
