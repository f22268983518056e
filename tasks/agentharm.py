"""AgentHarm (inspect_evals): harmful and benign tool-use behaviours, tools intact.

    inspect eval tasks/agentharm.py --model M --model-role grader=JUDGE                # no defence
    inspect eval tasks/agentharm.py --model M --model-role grader=JUDGE --solver ping  # PING
    inspect eval tasks/agentharm.py --model ping/M -M preset=web_glm --model-role grader=JUDGE

Needs ``pip install 'ping-inspect[agentharm]'``. The behaviours are downloaded by
inspect_evals at run time; offline, put AgentHarm's JSON files in
``$INSPECT_EVALS_CACHE_DIR/agentharm_dataset/AgentHarm/benchmark/``.

Scores: ``success`` (AgentHarm's score: harm score on harmful behaviours, benign score on
benign ones), ``refusal`` (AgentHarm's refusal judge on the model's own words only; no
verdict is an error or NaN, never "did not refuse") and ``agentharm_refusal``
(AgentHarm's own), per category.
"""

from inspect_ai import Task, task

from ping_inspect.agentharm.task import agentharm_task
from ping_inspect.cli_names import expose_defences, forward_to

expose_defences(globals())


@task
@forward_to(agentharm_task)
def agentharm() -> Task:
    """The arguments are those of ``ping_inspect.agentharm.task.agentharm_task``."""
