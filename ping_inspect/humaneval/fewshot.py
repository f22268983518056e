"""HumanEval's few-shot examples (for the ``fewshot`` defence)."""

from __future__ import annotations

from ping_inspect.codeact.fewshot import benign_examples
from ping_inspect.contracts import AgentSpec
from ping_inspect.defences.fewshot import FewshotExample
from ping_inspect.redcode.fewshot import harmful_examples


def humaneval_fewshot(spec: AgentSpec, n_benign: int, n_harmful: int) -> list[FewshotExample]:
    """Held-out benign tasks, and RedCode-Exec's optimisation items as the harmful ones."""
    return benign_examples(n_benign) + harmful_examples(n_harmful, spec.args.get("data_dir"))
