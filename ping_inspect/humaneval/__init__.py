"""HumanEval as a benign code task for the same CodeAct agent (over-refusal and SR)."""

from ping_inspect.humaneval.scorer import humaneval_scorer
from ping_inspect.humaneval.task import humaneval_task

__all__ = ["humaneval_scorer", "humaneval_task"]
