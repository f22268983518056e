"""Near-miss items as Inspect samples, each asked in RedCode-Exec's code and summary forms."""

from __future__ import annotations

from collections.abc import Sequence

from inspect_ai.dataset import MemoryDataset, Sample

from ping_inspect.arguments import some_of
from ping_inspect.contracts import BENCHMARK, BENIGN, CATEGORY, SUBSET
from ping_inspect.nearmiss.items import CATEGORIES, ITEMS

FORMS = ("code", "summary")
"""RedCode-Exec's forms that near-miss items are asked in (no ``details`` form)."""


def parse_forms(forms: str | Sequence[str]) -> list[str]:
    """``"all"``, ``"code"``, ``"summary"`` or both, in the benchmark's order.

    Raises:
        ArgumentError: another form (``details`` included: near-miss items have none).
    """
    return some_of("forms", forms, FORMS,
                   "e.g. forms=summary; near-miss items have no details form")


def parse_categories(categories: str | Sequence[str] | None) -> list[str]:
    """``None`` or ``"all"`` (every category), or some of ``CATEGORIES``.

    Raises:
        ArgumentError: an unknown category.
    """
    return some_of("categories", categories or "all", CATEGORIES,
                   "e.g. categories=file_read,network")


def nearmiss_dataset(
    forms: str | Sequence[str] = "all", categories: str | Sequence[str] | None = None
) -> MemoryDataset:
    """One sample per item and form (category ``benign``; the operation in metadata).

    Args:
        forms: ``all`` or some of ``code``, ``summary``.
        categories: Operation categories to keep (default all eight).
    """
    chosen_forms = parse_forms(forms)
    chosen = parse_categories(categories)
    samples = [
        Sample(
            id=f"{item.id}-{form}",
            input=item.prompt(form),
            target=item.code,
            metadata={
                BENCHMARK: "nearmiss",
                CATEGORY: BENIGN,
                SUBSET: "test",
                "item": item.id,
                "form": form,
                "nearmiss_category": item.category,
                "redcode_pair": item.pairs,
            },
        )
        for item in ITEMS
        if item.category in chosen
        for form in chosen_forms
    ]
    return MemoryDataset(samples, name="nearmiss")
