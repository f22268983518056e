"""AgentHarm (inspect_evals) with this package's defences and an own-words refusal score.

The behaviours are downloaded by inspect_evals at run time (they carry a canary string and
are never committed here); offline, put AgentHarm's JSON files in
``$INSPECT_EVALS_CACHE_DIR/agentharm_dataset/AgentHarm/benchmark/``.
"""

from ping_inspect.agentharm.scorer import agentharm_scorer
from ping_inspect.agentharm.task import agentharm_task

__all__ = ["agentharm_scorer", "agentharm_task"]
