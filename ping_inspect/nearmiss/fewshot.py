"""Near-miss few-shot examples (for the ``fewshot`` defence): those of the code tasks.

The benign examples are the held-out coding tasks of ``ping_inspect.codeact.fewshot``
(none is a near-miss item) and the harmful ones RedCode-Exec's optimisation items, as for
HumanEval, so that the few-shot block is the same on every code benchmark.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ping_inspect.codeact.fewshot import benign_examples, harmful_examples
from ping_inspect.defences.fewshot import FewshotExample, register_fewshot

if TYPE_CHECKING:
    from ping_inspect.agents import AgentSpec


@register_fewshot("nearmiss")
def nearmiss_fewshot(spec: AgentSpec, n_benign: int, n_harmful: int) -> list[FewshotExample]:
    """Held-out benign coding tasks, and RedCode-Exec's optimisation items as the harmful."""
    return benign_examples(n_benign) + harmful_examples(n_harmful, spec.args.get("data_dir"))
