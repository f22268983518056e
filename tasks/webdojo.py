"""WebDojo (PING paper): web-agent safety in a headless Chromium, benign and harmful tasks.

Run: ``inspect eval tasks/webdojo.py --model MODEL`` (no defence), add ``--solver ping``
for PING, ``-T subset=all -T split=harmful`` to pick tasks (default: the paper's test
subset, 63 + 63). Any other agent acts through the browser tools: ``--solver generate``,
``--solver react`` (Inspect's react, given the sample's browser tools) or your own.
"""

from inspect_ai import Task, task

from ping_inspect.cli_names import expose_defences, forward_to
from ping_inspect.webdojo.browser_tools import expose_react
from ping_inspect.webdojo.task import webdojo_task

expose_defences(globals())
expose_react(globals())


@task
@forward_to(webdojo_task)
def webdojo() -> Task:
    """The arguments are those of ``ping_inspect.webdojo.task.webdojo_task``."""
