"""Refusal and success scorers for ``inspect score``.

For example, re-scoring a log with the LLM refusal judge::

    inspect score logs/x.eval --scorer scorers/refusal.py@refusal -S judge=true \
        --model-role grader=openai/gpt-4o --action append

The scorers are ``ping_inspect.judges.scoring``'s; this file only exposes them by path.
"""

from inspect_ai.scorer import Scorer, mean, scorer, stderr

from ping_inspect.judges import scoring


@scorer(metrics={"refusal": [mean(), stderr()]})
def refusal(domain: str = "web", judge: bool = False, on_unknown: str = "error") -> Scorer:
    """Refusal on the model's own words: the paper's patterns or the LLM judge."""
    return scoring.refusal(domain=domain, judge=judge, on_unknown=on_unknown)  # type: ignore[arg-type]


@scorer(metrics={"success": [mean(), stderr()]})
def success_judge(on_unknown: str = "error") -> Scorer:
    """Task success by the LLM success judge on the ``grader`` role."""
    return scoring.success_judge(on_unknown=on_unknown)  # type: ignore[arg-type]
