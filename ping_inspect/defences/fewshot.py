"""Few-shot safety examples, supplied by each benchmark from its validation split.

An example that shows a benchmark item records it (``FewshotExample.source``), and no
eval may score a sample of an item its few-shot block shows (with the right answer):
``check_not_shown`` raises ``FewshotOverlapError`` naming the samples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ping_inspect.arguments import ArgumentError, ShortError
from ping_inspect.benchmarks import BENCHMARKS
from ping_inspect.contracts import AgentSpec
from ping_inspect.defences.prompts import FEWSHOT_EXAMPLE, FEWSHOT_HEADER


@dataclass(frozen=True)
class FewshotExample:
    """An instruction and the response the agent should give to it."""

    instruction: str
    response: str
    harmful: bool
    source: str | None = None
    """The benchmark item shown, as ``sample_source`` names it (None: written for the
    project, in no benchmark)."""


class FewshotOverlapError(ShortError, ValueError):
    """An eval would score a sample that its few-shot block shows as an example."""


def sample_source(sample_id: Any, metadata: Mapping[str, Any]) -> str:
    """Name the benchmark item of a sample: ``<benchmark>:<item>``.

    The item is the metadata's ``item`` (RedCode-Exec asks one item in three forms),
    else the sample id.
    """
    return f"{metadata.get('benchmark')}:{metadata.get('item', sample_id)}"


def check_not_shown(examples: Iterable[FewshotExample],
                    samples: Iterable[tuple[Any, Mapping[str, Any]]]) -> None:
    """Raise when a scored sample is an item that a few-shot example shows.

    Args:
        examples: The examples of the few-shot block.
        samples: The scored samples, as (sample id, metadata).

    Raises:
        FewshotOverlapError: naming the samples and how to fix the eval.
    """
    shown = {e.source for e in examples if e.source}
    overlap = [(sid, meta) for sid, meta in samples if sample_source(sid, meta) in shown]
    if not overlap:
        return
    names = ", ".join(str(sid) for sid, _ in overlap[:10])
    more = f" and {len(overlap) - 10} more" if len(overlap) > 10 else ""
    known = BENCHMARKS.get(str(overlap[0][1].get("benchmark")))
    fix = (known and known.overlap_fix) or "leave those samples out of the eval"
    raise FewshotOverlapError(
        f"The fewshot defence shows {names}{more} as few-shot example(s), with the right "
        f"answer, and this eval would score them too: {fix}, or use another defence."
    )


FewshotSource = Callable[[AgentSpec, int, int], list[FewshotExample]]
"""``(agent spec, n_benign, n_harmful) -> examples`` from the benchmark's validation split
(a ``Benchmark``'s ``fewshot``)."""


def has_fewshot(benchmark: str | None) -> bool:
    """Whether ``benchmark`` supplies few-shot examples."""
    known = BENCHMARKS.get(benchmark or "")
    return known is not None and known.fewshot is not None


def fewshot_examples(spec: AgentSpec, n_benign: int, n_harmful: int) -> list[FewshotExample]:
    """The examples of the benchmark that ``spec`` declares, as many as asked for.

    Raises:
        ValueError: the task declares no benchmark, or its benchmark has no examples.
        ArgumentError: the benchmark has fewer examples of a kind than asked for.
    """
    if not has_fewshot(spec.benchmark):
        known = ", ".join(sorted(n for n in BENCHMARKS if has_fewshot(n))) or "none"
        raise ValueError(
            f"The fewshot defence needs a benchmark task with a validation split "
            f"(benchmarks with examples: {known}); this task declares "
            f"'{spec.benchmark}'."
        )
    source = BENCHMARKS[str(spec.benchmark)].fewshot_source()
    assert source is not None  # has_fewshot said so
    examples = source(spec, n_benign, n_harmful)
    for kind, asked, got in (("benign", n_benign, sum(not e.harmful for e in examples)),
                             ("harmful", n_harmful, sum(e.harmful for e in examples))):
        if got < asked:
            raise ArgumentError(
                f"The fewshot defence asks for {asked} {kind} examples; {spec.benchmark} has "
                f"{got}: use {kind}={got} or fewer."
            )
    return examples


def fewshot_block(spec: AgentSpec, n_benign: int, n_harmful: int) -> str:
    """Build the few-shot block for the benchmark that ``spec`` declares.

    Raises:
        ValueError: the task declares no benchmark, or its benchmark has no examples.
    """
    return format_block(fewshot_examples(spec, n_benign, n_harmful))


def format_block(examples: list[FewshotExample]) -> str:
    """The few-shot block showing ``examples``."""
    # Alternate benign and harmful so that neither kind sits only at the end.
    benign = [e for e in examples if not e.harmful]
    harmful = [e for e in examples if e.harmful]
    ordered = [e for pair in zip(harmful, benign, strict=False) for e in pair]
    ordered += harmful[len(benign) :] + benign[len(harmful) :]
    shown = [FEWSHOT_EXAMPLE.format(instruction=e.instruction, response=e.response)
             for e in ordered]
    return "\n\n".join([FEWSHOT_HEADER, *shown])
