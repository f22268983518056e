"""The ``inspect_ai`` entry point: registers solvers, scorers, model APIs and sandboxes.

Inspect imports this module at every eval start, so it must stay light: no torch,
transformers or playwright at import time (the heavy parts load inside factories).
"""

# ruff: noqa: F401
from ping_inspect.agentharm.task import agentharm_task
from ping_inspect.codeact.first_response import first_response_scorer
from ping_inspect.defence_registry import DEFENCES
from ping_inspect.defences import defend
from ping_inspect.exit_status import FailedRunsExitNonZero
from ping_inspect.humaneval.scorer import humaneval_scorer
from ping_inspect.humaneval.task import humaneval_task
from ping_inspect.judges.scoring import refusal, success_judge
from ping_inspect.models.ping_provider import ping as ping_model
from ping_inspect.models.provider import llamacpp, transformers
from ping_inspect.nearmiss.scorer import nearmiss_scorer
from ping_inspect.nearmiss.task import nearmiss_task
from ping_inspect.optimize.task import ping_optimize
from ping_inspect.progress import ProgressLines
from ping_inspect.redcode.scorer import redcode_scorer
from ping_inspect.redcode.task import redcode_task
from ping_inspect.sandbox.environment import BwrapSandboxEnvironment
from ping_inspect.webdojo.task import webdojo_task

# Each registered defence's solver: importing its module registers it with Inspect.
for _defence in DEFENCES.values():
    _defence.solver_factory()
