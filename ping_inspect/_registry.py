"""The ``inspect_ai`` entry point: registers solvers, scorers, model APIs and sandboxes.

Inspect imports this module at every eval start, so it must stay light: no torch,
transformers or playwright at import time (the heavy parts load inside factories).
"""

# ruff: noqa: F401
from ping_inspect.defences.solvers import defend, fewshot, guard, no_defence, ping, ptst, suffix
from ping_inspect.judges.scoring import refusal, success_judge
from ping_inspect.metrics import rate, rate_stderr, unknown_count
