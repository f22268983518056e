"""The PING prefix search as an Inspect task.

    inspect eval tasks/ping_optimize.py --model AGENT --model-role generator=PROPOSER \
        -T benchmark=webdojo [-T search=racing] [-T rounds=5 -T max_candidates=20]

The eval's model is the agent under test; the ``generator`` role proposes prefixes. Each
candidate is evaluated as its own inner eval (logs under the log directory's
``ping_optimize/`` folder); the winning prefix is written as a file that ``ping`` reads
(``--solver ping -S prefix_file=.../best.yaml``). Run the same command again to resume.
"""

from typing import Any

from inspect_ai import Task, task

from ping_inspect.arguments import short_errors
from ping_inspect.cli_names import expose_defences
from ping_inspect.optimize.task import ping_optimize as build_ping_optimize

expose_defences(globals())


@task
def ping_optimize(benchmark: str = "webdojo", search: str = "faithful", **options: Any) -> Task:
    """Search for a PING prefix; the options are those of ``ping_inspect.optimize.task``."""
    # Argument errors (ValueError) print as a short message, not a traceback.
    return short_errors(build_ping_optimize)(benchmark=benchmark, search=search, **options)
