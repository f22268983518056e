"""Refusal and success judges: the paper's patterns, echo-free refusal, LLM judges.

``patterns`` holds the refusal patterns (web, code, the search's, RedCode's); ``scoring``
reads the model's own words from a sample (never the injected prefix) and gives the
scorers' verdicts; ``llm`` asks the model bound to the ``grader`` role.
"""

from ping_inspect.judges.llm import GRADER_ROLE, JudgeRoleError, grader_model, judge
from ping_inspect.judges.patterns import Domain, find_refusal, find_search_refusal
from ping_inspect.judges.scoring import (
    JudgeFailed,
    OnUnknown,
    judged_turns,
    own_responses,
    refusal,
    refusal_verdict,
    refused_by_guard,
    success_judge,
    without_prefix_echo,
)

__all__ = [
    "GRADER_ROLE",
    "Domain",
    "JudgeFailed",
    "JudgeRoleError",
    "OnUnknown",
    "find_refusal",
    "find_search_refusal",
    "grader_model",
    "judge",
    "judged_turns",
    "own_responses",
    "refusal",
    "refusal_verdict",
    "refused_by_guard",
    "success_judge",
    "without_prefix_echo",
]
