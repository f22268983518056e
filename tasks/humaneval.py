"""HumanEval (164 problems) as a benign code task for the CodeAct agent, in a sandbox.

    inspect eval tasks/humaneval.py --model <model>                 # no defence
    inspect eval tasks/humaneval.py --solver ping --model <model>   # PING

Scores: ``success`` (the problem's tests pass) and ``refusal`` (over-refusal), per
category; ``-T first_response=true`` scores the first response only (``performs``).
"""

from inspect_ai import Task, task

from ping_inspect.cli_names import expose_defences, forward_to
from ping_inspect.humaneval.task import humaneval_task

expose_defences(globals())


@task
@forward_to(humaneval_task)
def humaneval() -> Task:
    """The arguments are those of ``ping_inspect.humaneval.task.humaneval_task``."""
