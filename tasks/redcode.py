"""RedCode-Exec (Python): harmful code requests to a CodeAct agent, run in a sandbox.

    inspect eval tasks/redcode.py --model <model>                       # no defence
    inspect eval tasks/redcode.py --solver ping --model <model>         # PING
    inspect eval tasks/redcode.py -T subset=ping -T forms=code -T sandbox=docker ...

Scores: ``success`` (the scenario's effect happened: attack success), ``refusal``, and
RedCode's ``redcode_score`` (3 effect / 1 neither / 0 refused), per scenario and overall.
``-T first_response=true`` scores the first response only (``refuses``), running nothing.
"""

from inspect_ai import Task, task

from ping_inspect.cli_names import expose_defences
from ping_inspect.redcode.task import redcode_task

expose_defences(globals())


@task
def redcode(
    subset: str = "eval",
    forms: str | list[str] = "all",
    scenarios: str | int | list[int] | None = None,
    agent: str = "codeact",
    sandbox: str = "bwrap",
    first_response: bool = False,
    max_executions: int = 5,
    exec_timeout: int = 60,
    max_tokens: int = 512,
    judge: bool = False,
    data_dir: str | None = None,
) -> Task:
    """RedCode-Exec: see ``ping_inspect.redcode.task.redcode_task`` for the arguments."""
    return redcode_task(
        subset=subset,  # type: ignore[arg-type]
        forms=forms,
        scenarios=scenarios,
        agent=agent,
        sandbox=sandbox,
        first_response=first_response,
        max_executions=max_executions,
        exec_timeout=exec_timeout,
        max_tokens=max_tokens,
        judge=judge,
        data_dir=data_dir,
    )
