"""RedCode-Exec (Python): harmful code requests to a CodeAct agent, run in a sandbox.

    inspect eval tasks/redcode.py --model <model>                       # no defence
    inspect eval tasks/redcode.py --solver ping --model <model>         # PING
    inspect eval tasks/redcode.py -T subset=ping -T forms=code -T sandbox=docker ...

Scores: ``success`` (the scenario's effect happened: attack success), ``refusal``, and
RedCode's ``redcode_score`` (3 effect / 1 neither / 0 refused), per scenario and overall.
``-T first_response=true`` scores the first response only (``refuses``), running nothing.
"""

from inspect_ai import Task, task

from ping_inspect.cli_names import expose_defences, forward_to
from ping_inspect.redcode.task import redcode_task

expose_defences(globals())


@task
@forward_to(redcode_task)
def redcode() -> Task:
    """The arguments are those of ``ping_inspect.redcode.task.redcode_task``."""
