"""HumanEval (164 problems) as a benign code task for the CodeAct agent, in a sandbox.

    inspect eval tasks/humaneval.py --model <model>                 # no defence
    inspect eval tasks/humaneval.py --solver ping --model <model>   # PING

Scores: ``success`` (the problem's tests pass) and ``refusal`` (over-refusal), per
category; ``-T first_response=true`` scores the first response only (``performs``).
"""

from inspect_ai import Task, task

from ping_inspect.cli_names import expose_defences
from ping_inspect.humaneval.task import humaneval_task

expose_defences(globals())


@task
def humaneval(
    problems: str | int | list[int] | None = None,
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
    """HumanEval: see ``ping_inspect.humaneval.task.humaneval_task`` for the arguments."""
    return humaneval_task(
        problems=problems,
        agent=agent,
        sandbox=sandbox,
        first_response=first_response,
        max_executions=max_executions,
        exec_timeout=exec_timeout,
        max_tokens=max_tokens,
        test_timeout=test_timeout,
        judge=judge,
        data_dir=data_dir,
    )
