"""Few-shot safety examples, supplied by each benchmark from its validation split."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ping_inspect.defences.prompts import FEWSHOT_EXAMPLE, FEWSHOT_HEADER

if TYPE_CHECKING:
    from ping_inspect.agents import AgentSpec


@dataclass(frozen=True)
class FewshotExample:
    """An instruction and the response the agent should give to it."""

    instruction: str
    response: str
    harmful: bool


FewshotSource = Callable[["AgentSpec", int, int], list[FewshotExample]]
"""``(agent spec, n_benign, n_harmful) -> examples`` from the benchmark's validation split."""

_SOURCES: dict[str, FewshotSource] = {}


def register_fewshot(benchmark: str) -> Callable[[FewshotSource], FewshotSource]:
    """Register the few-shot example source of ``benchmark``."""

    def decorate(source: FewshotSource) -> FewshotSource:
        _SOURCES[benchmark] = source
        return source

    return decorate


def fewshot_block(spec: AgentSpec, n_benign: int, n_harmful: int) -> str:
    """Build the few-shot block for the benchmark that ``spec`` declares.

    Raises:
        ValueError: the task declares no benchmark, or its benchmark has no examples.
    """
    if spec.benchmark is None or spec.benchmark not in _SOURCES:
        known = ", ".join(sorted(_SOURCES)) or "none loaded"
        raise ValueError(
            f"The fewshot defence needs a benchmark task with a validation split "
            f"(benchmarks with examples: {known}); this task declares "
            f"'{spec.benchmark}'."
        )
    examples = _SOURCES[spec.benchmark](spec, n_benign, n_harmful)
    # Alternate benign and harmful so that neither kind sits only at the end.
    benign = [e for e in examples if not e.harmful]
    harmful = [e for e in examples if e.harmful]
    ordered = [e for pair in zip(harmful, benign, strict=False) for e in pair]
    ordered += harmful[len(benign) :] + benign[len(harmful) :]
    shown = [FEWSHOT_EXAMPLE.format(instruction=e.instruction, response=e.response)
             for e in ordered]
    return "\n\n".join([FEWSHOT_HEADER, *shown])
