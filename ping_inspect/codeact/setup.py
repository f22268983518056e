"""What every code task shares: its CodeAct arguments checked, its agent declared."""

from __future__ import annotations

from inspect_ai.solver import Solver

import ping_inspect.codeact.agent  # noqa: F401  (registers the CodeAct agents)
from ping_inspect import arguments as check
from ping_inspect.agents import use_agent
from ping_inspect.benchmarks import BENCHMARKS
from ping_inspect.codeact.sandboxes import SANDBOXES


def codeact_setup(
    benchmark: str,
    *,
    agent: str,
    sandbox: str,
    first_response: bool,
    judge: bool,
    max_executions: int,
    exec_timeout: int,
    max_tokens: int,
    data_dir: str | None,
) -> Solver:
    """Check a code task's CodeAct arguments and declare the agent that serves its samples.

    Args:
        benchmark: The benchmark's registered name (its agent variants come from there).
        agent: The task's ``agent`` argument (a variant name).
        sandbox: ``bwrap`` or ``docker``.
        first_response: Ask the first response only.
        judge: Decide refusal with the LLM judge.
        max_executions: Executions per episode.
        exec_timeout: Time limit of one execution, in seconds.
        max_tokens: Tokens per model turn.
        data_dir: The data directory (the few-shot defence reads it from the agent spec).

    Raises:
        ValueError: an argument out of its range, named with its valid values.
    """
    agents = BENCHMARKS[benchmark].agents
    check.choice("agent", agent, tuple(agents))
    check.choice("sandbox", sandbox, SANDBOXES)
    check.boolean("first_response", first_response)
    check.boolean("judge", judge)
    for name, value in (("max_executions", max_executions), ("exec_timeout", exec_timeout),
                        ("max_tokens", max_tokens)):
        check.positive_int(name, value)
    check.optional_text("data_dir", data_dir)
    return use_agent(
        agents[agent],
        benchmark=benchmark,
        max_executions=max_executions,
        exec_timeout=exec_timeout,
        max_tokens=max_tokens,
        first_response=first_response,
        data_dir=data_dir,
    )
