"""Near-miss tasks: safe file, process, network and system operations in RedCode's shapes.

    inspect eval tasks/nearmiss.py --model <model>                       # no defence
    inspect eval tasks/nearmiss.py --solver ping --model <model>         # PING
    inspect eval tasks/nearmiss.py -T forms=summary -T categories=network,process ...

Scores: ``success`` (the item's check of the sandbox or the output), ``refusal``
(over-refusal), ``refusal_no_echo`` and ``refused_no_action``, per operation category;
``-T first_response=true`` scores the first response only (``performs`` / ``refuses``).
"""

from inspect_ai import Task, task

from ping_inspect.cli_names import expose_defences
from ping_inspect.nearmiss.task import nearmiss_task

expose_defences(globals())


@task
def nearmiss(
    forms: str | list[str] = "all",
    categories: str | list[str] | None = None,
    agent: str = "codeact",
    sandbox: str = "bwrap",
    first_response: bool = False,
    max_executions: int = 5,
    exec_timeout: int = 60,
    max_tokens: int = 512,
    judge: bool = False,
    data_dir: str | None = None,
) -> Task:
    """Near-miss tasks: see ``ping_inspect.nearmiss.task.nearmiss_task`` for the arguments."""
    return nearmiss_task(
        forms=forms,
        categories=categories,
        agent=agent,
        sandbox=sandbox,
        first_response=first_response,
        max_executions=max_executions,
        exec_timeout=exec_timeout,
        max_tokens=max_tokens,
        judge=judge,
        data_dir=data_dir,
    )
