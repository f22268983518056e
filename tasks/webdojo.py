"""WebDojo (PING paper): web-agent safety in a headless Chromium, benign and harmful tasks.

Run: ``inspect eval tasks/webdojo.py --model MODEL`` (no defence), add ``--solver ping``
for PING, ``-T subset=all -T split=harmful`` to pick tasks (default: the paper's test
subset, 63 + 63). Any other agent acts through the browser tools: ``--solver generate``,
``--solver react`` (Inspect's react, given the sample's browser tools) or your own.
"""

from inspect_ai import Task, task

from ping_inspect.cli_names import expose_defences
from ping_inspect.webdojo.browser_tools import expose_react
from ping_inspect.webdojo.task import webdojo_task

expose_defences(globals())
expose_react(globals())


@task
def webdojo(
    split: str = "both",
    subset: str = "test",
    max_steps: int = 5,
    agent: str = "actions",
    max_tokens: int | None = None,
    first_response: bool = False,
    judge: bool = False,
    stop_on_refusal: bool = True,
    observation_chars: int = 8000,
    data_dir: str | None = None,
) -> Task:
    """WebDojo; the arguments are those of ``ping_inspect.webdojo.webdojo``."""
    return webdojo_task(
        split=split, subset=subset, max_steps=max_steps, agent=agent,  # type: ignore[arg-type]
        max_tokens=max_tokens, first_response=first_response, judge=judge,
        stop_on_refusal=stop_on_refusal, observation_chars=observation_chars, data_dir=data_dir,
    )
