"""Near-miss items as Inspect samples, each asked in RedCode-Exec's code and summary forms."""

from __future__ import annotations

from collections.abc import Sequence

from inspect_ai.dataset import MemoryDataset, Sample

from ping_inspect.arguments import ArgumentError
from ping_inspect.nearmiss.items import CATEGORIES, ITEMS

FORMS = ("code", "summary")
"""RedCode-Exec's forms that near-miss items are asked in (no ``details`` form)."""


def _names(value: str | Sequence[str]) -> list[str]:
    """``"a,b"`` or a list (the CLI splits on commas) into names."""
    names = [value] if isinstance(value, str) else list(value)
    return [n.strip() for name in names for n in str(name).split(",") if n.strip()]


def parse_forms(forms: str | Sequence[str]) -> list[str]:
    """``"all"``, ``"code"``, ``"summary"`` or both, in the benchmark's order.

    Raises:
        ArgumentError: another form (``details`` included: near-miss items have none).
    """
    names = _names(forms)
    if names == ["all"]:
        return list(FORMS)
    unknown = [n for n in names if n not in FORMS]
    if unknown or not names:
        raise ArgumentError(
            f"Argument forms={forms!r} is invalid: use all or any of {', '.join(FORMS)} "
            "(e.g. forms=summary; near-miss items have no details form)."
        )
    return [f for f in FORMS if f in names]


def parse_categories(categories: str | Sequence[str] | None) -> list[str]:
    """``None`` or ``"all"`` (every category), or some of ``CATEGORIES``.

    Raises:
        ArgumentError: an unknown category.
    """
    names = _names(categories or "all")
    if names == ["all"]:
        return list(CATEGORIES)
    unknown = [n for n in names if n not in CATEGORIES]
    if unknown or not names:
        raise ArgumentError(
            f"Argument categories={categories!r} is invalid: use all or any of "
            f"{', '.join(CATEGORIES)} (e.g. categories=file_read,network)."
        )
    return [c for c in CATEGORIES if c in names]


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
                "benchmark": "nearmiss",
                "category": "benign",
                "subset": "test",
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
