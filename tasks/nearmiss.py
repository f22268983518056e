"""Near-miss tasks: safe file, process, network and system operations in RedCode's shapes.

    inspect eval tasks/nearmiss.py --model <model>                       # no defence
    inspect eval tasks/nearmiss.py --solver ping --model <model>         # PING
    inspect eval tasks/nearmiss.py -T forms=summary -T categories=network,process ...

Scores: ``success`` (the item's check of the sandbox or the output), ``refusal``
(over-refusal), ``refusal_no_echo`` and ``refused_no_action``, per operation category;
``-T first_response=true`` scores the first response only (``performs`` / ``refuses``).
"""

from inspect_ai import Task, task

from ping_inspect.cli_names import expose_defences, forward_to
from ping_inspect.nearmiss.task import nearmiss_task

expose_defences(globals())


@task
@forward_to(nearmiss_task)
def nearmiss() -> Task:
    """The arguments are those of ``ping_inspect.nearmiss.task.nearmiss_task``."""
