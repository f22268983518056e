"""Near-miss few-shot examples (for the ``fewshot`` defence): those of the code tasks.

The benign examples are the held-out coding tasks of ``ping_inspect.codeact.fewshot``
(none is a near-miss item) and the harmful ones RedCode-Exec's optimisation items, as for
HumanEval, so that the few-shot block is the same on every code benchmark.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ping_inspect.codeact.fewshot import benign_examples
from ping_inspect.defences.fewshot import FewshotExample
from ping_inspect.redcode.fewshot import harmful_examples

if TYPE_CHECKING:
    from ping_inspect.contracts import AgentSpec


def nearmiss_fewshot(spec: AgentSpec, n_benign: int, n_harmful: int) -> list[FewshotExample]:
    """Held-out benign coding tasks, and RedCode-Exec's optimisation items as the harmful."""
    return benign_examples(n_benign) + harmful_examples(n_harmful, spec.args.get("data_dir"))
