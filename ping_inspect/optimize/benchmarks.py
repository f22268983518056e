"""What the prefix search evaluates a candidate on, benchmark by benchmark.

A benchmark's own folder says (its descriptor's ``search``, a ``BenchmarkSpec``) which
tasks (with which arguments) hold its optimisation split and its held-out pool, how a
sample's score becomes the paper's "performs" (benign) or "refuses" (harmful) value, and
what the generator is told about the agent. Everything in ``ping_inspect.optimize`` is
benchmark-agnostic, so a new benchmark (or a test's synthetic one) needs only a
``BenchmarkSpec``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from ping_inspect.benchmarks import (
    BENCHMARKS,
    BenchmarkError,
    BenchmarkSpec,
    Source,
    TaskRef,
    UnknownBenchmarkError,
    get_benchmark,
)
from ping_inspect.optimize.stats import CATEGORIES

__all__ = ["BenchmarkError", "BenchmarkSpec", "Source", "TaskRef", "benchmark_spec",
           "heldout_order", "heldout_refs", "selection_refs", "source_refs", "stage_order"]

# --- a benchmark's spec, from its descriptor -------------------------------------------


def benchmark_spec(name: str, data_dir: str | None = None) -> BenchmarkSpec:
    """Return the search's description of benchmark ``name`` (its ``Benchmark.search``).

    Raises:
        BenchmarkError: an unknown name, or a benchmark the search cannot use.
    """
    searchable = {n: b for n, b in BENCHMARKS.items() if b.search is not None}
    try:
        factory = get_benchmark(name, searchable, " for the prefix search").search_factory()
    except UnknownBenchmarkError as err:
        raise BenchmarkError(str(err)) from err
    assert factory is not None  # searchable
    return factory(data_dir=data_dir)  # type: ignore[no-any-return]


# --- listing tasks -----------------------------------------------------------------------


def create_source_task(spec: BenchmarkSpec, source: Source) -> Any:
    """Create the Inspect task of a source (the task spec resolved as ``inspect eval`` does)."""
    from ping_inspect.compare.grid import GridError, create_task

    try:
        return create_task(source.task, spec.task_args_of(source))
    except GridError as err:
        raise BenchmarkError(
            f"{spec.name}: cannot create the task of '{source.label}' ({source.task} with "
            f"{spec.task_args_of(source)}): {err}"
        ) from err


def source_refs(spec: BenchmarkSpec, source: Source) -> list[TaskRef]:
    """List a source's samples as task references, in the source's order.

    Raises:
        BenchmarkError: a sample with no known category, or ids that do not exist.
    """
    task = create_source_task(spec, source)
    refs: dict[str, TaskRef] = {}
    for sample in task.dataset:
        sample_id = str(sample.id)
        category = (sample.metadata or {}).get("category") or source.category
        if category not in CATEGORIES:
            raise BenchmarkError(
                f"{source.label}: sample {sample_id} has category {category!r}; the search "
                "needs 'benign' or 'harmful' in the sample metadata."
            )
        if source.category and category != source.category:
            continue
        if sample_id not in source.skip_ids:
            refs[sample_id] = TaskRef(source.label, sample_id, category)
    if source.ids is None:
        return list(refs.values())
    missing = [i for i in source.ids if i not in refs]
    if missing:
        raise BenchmarkError(f"{source.label}: no samples {missing[:5]} in {source.task}.")
    return [refs[i] for i in source.ids]


def selection_refs(spec: BenchmarkSpec) -> list[TaskRef]:
    """Return the optimisation split: every task the search selects on."""
    return [ref for source in spec.selection for ref in source_refs(spec, source)]


def heldout_order(spec: BenchmarkSpec, seed: int) -> dict[str, list[TaskRef]]:
    """Return the held-out pool per category, in a fixed order drawn from ``seed``.

    The search re-checks finalists on the first tasks of each list; a final report can
    take tasks after those, which the search never saw.
    """
    selected = {ref.key for ref in selection_refs(spec)}
    pool = [ref for source in spec.heldout for ref in source_refs(spec, source)
            if ref.key not in selected]
    order: dict[str, list[TaskRef]] = {}
    for category in CATEGORIES:
        refs = sorted((r for r in pool if r.category == category), key=lambda r: r.key)
        random.Random(f"{seed}:{category}").shuffle(refs)
        order[category] = refs
    return order


def heldout_refs(
    spec: BenchmarkSpec, per_category: int, seed: int, skip: int = 0
) -> list[TaskRef]:
    """``per_category`` held-out tasks of each category, after the first ``skip`` of each."""
    order = heldout_order(spec, seed)
    return [ref for category in CATEGORIES
            for ref in order[category][skip:skip + per_category]]


def stage_order(refs: Sequence[TaskRef], seed: int) -> dict[str, list[TaskRef]]:
    """Return the selection tasks per category, in the fixed order racing adds them."""
    order: dict[str, list[TaskRef]] = {}
    for category in CATEGORIES:
        chosen = [r for r in refs if r.category == category]
        random.Random(f"race:{seed}:{category}").shuffle(chosen)
        order[category] = chosen
    return order
