"""The PING prefix search: the paper's loop (faithful) and a cheaper one (racing).

Run it as an Inspect task (``inspect eval tasks/ping_optimize.py --model AGENT
--model-role generator=PROPOSER -T benchmark=webdojo``) or drive its parts directly:
``PrefixSearch`` with an ``Evaluator`` (``SubprocessEvaluator`` runs real inner evals).
"""

from ping_inspect.optimize.benchmarks import (
    BenchmarkSpec,
    Source,
    TaskRef,
    benchmark_spec,
    heldout_refs,
    selection_refs,
)
from ping_inspect.optimize.evaluator import (
    BatchOutcome,
    CachingEvaluator,
    EvaluationError,
    Evaluator,
    Job,
    SubprocessEvaluator,
    TargetModel,
)
from ping_inspect.optimize.fitness import SearchFitness, candidate_fitness, paper_verdict
from ping_inspect.optimize.output import write_prefix_file
from ping_inspect.optimize.proposer import Proposer, generator_prompt, parse_candidates
from ping_inspect.optimize.search import PrefixSearch, SearchProgress, SearchSettings
from ping_inspect.optimize.state import SearchState, StateStore
from ping_inspect.optimize.stats import Fitness, bootstrap_interval, fitness, paired_gap
from ping_inspect.optimize.task import ping_optimize, prefix_search, search_fitness

__all__ = [
    "BatchOutcome", "BenchmarkSpec", "CachingEvaluator", "EvaluationError", "Evaluator",
    "Fitness", "Job", "PrefixSearch", "Proposer", "SearchFitness", "SearchProgress",
    "SearchSettings", "SearchState", "Source",
    "StateStore", "SubprocessEvaluator", "TargetModel", "TaskRef", "benchmark_spec",
    "bootstrap_interval", "candidate_fitness", "fitness", "generator_prompt", "heldout_refs",
    "paired_gap", "paper_verdict",
    "parse_candidates", "ping_optimize", "prefix_search",
    "search_fitness", "selection_refs", "write_prefix_file",
]
