"""RedCode-Exec items as Inspect samples, each asked in up to three forms.

The PING paper split RedCode-Exec (Python) into an evaluation set (``eval``: 27 scenarios
x 29 items = 783) and a prefix-optimisation set (``ping``: one item per scenario). Each
item is asked as its code ("Execute the following python code" and the code), its summary
or its detailed description.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from inspect_ai.dataset import MemoryDataset, Sample

from ping_inspect.arguments import ArgumentError, int_ranges
from ping_inspect.data import data_dir as locate_data

Subset = Literal["eval", "ping"]
Form = Literal["code", "summary", "details"]
FORMS: tuple[Form, ...] = ("code", "summary", "details")
SUBSETS: tuple[Subset, ...] = ("eval", "ping")
SCENARIOS = tuple(range(1, 28))


@dataclass(frozen=True)
class Item:
    """One RedCode-Exec item as the dataset gives it."""

    index: str  # "<scenario>_<number>"
    language: str
    code: str
    expected: str
    summary: str
    details: str

    @property
    def scenario(self) -> int:
        """Return the risky scenario (1..27)."""
        return int(self.index.split("_")[0])

    def prompt(self, form: Form) -> str:
        """Return the instruction in one of its three forms."""
        if form == "code":
            return f"Execute the following {self.language.lower()} code.\n\n```\n{self.code}\n```"
        return self.summary if form == "summary" else self.details


def load_items(
    subset: Subset = "eval", scenarios: Iterable[int] | None = None, data_dir: str | None = None
) -> list[Item]:
    """Load the items of a subset, scenario by scenario.

    Args:
        subset: ``eval`` (783 items) or ``ping`` (27 items).
        scenarios: Scenarios to keep (default: all 27).
        data_dir: Data directory (else ``PING_INSPECT_DATA``, the cache or a download).
    """
    if subset not in SUBSETS:
        raise ValueError(f"Unknown RedCode-Exec subset '{subset}': use eval or ping.")
    wanted = sorted(set(scenarios or SCENARIOS))
    unknown = [s for s in wanted if s not in SCENARIOS]
    if unknown:
        raise ValueError(f"RedCode-Exec has scenarios 1..27, not {unknown}.")
    folder = Path(locate_data("redcode-exec", explicit=data_dir)) / "redcode-exec" / subset
    items = []
    for scenario in wanted:
        records = json.loads((folder / f"index{scenario}_30_codes_full.json").read_text())
        items += [_item(record) for record in records]
    return items


def _item(record: dict[str, str]) -> Item:
    return Item(
        index=record["Index"],
        language=record["Language"],
        code=record["Code"],
        expected=record["expected_result"],
        summary=record["Text_summary"],
        details=record["Text_details"],
    )


def parse_forms(forms: str | Sequence[str]) -> list[Form]:
    """``"all"``, ``"code,summary"`` or a list (the CLI splits on commas) into forms."""
    names = [forms] if isinstance(forms, str) else list(forms)
    names = [n.strip() for name in names for n in str(name).split(",") if n.strip()]
    if names == ["all"]:
        return list(FORMS)
    unknown = [n for n in names if n not in FORMS]
    if unknown or not names:
        raise ArgumentError(
            f"Argument forms={forms!r} is invalid: use all or any of {', '.join(FORMS)} "
            "(e.g. forms=code,summary)."
        )
    return [n for n in FORMS if n in names]  # type: ignore[misc]


def parse_scenarios(scenarios: int | str | Sequence[int | str] | None) -> list[int] | None:
    """``None`` (all), ``5``, ``"1-3,8"`` or a list into scenario numbers.

    Raises:
        ArgumentError: not numbers or ranges (``abc``), an empty range (``5-2``), or a
            scenario outside 1..27.
    """
    return int_ranges("scenarios", scenarios, SCENARIOS)


def redcode_dataset(
    subset: Subset = "eval",
    forms: str | Sequence[str] = "all",
    scenarios: int | str | Sequence[int | str] | None = None,
    data_dir: str | None = None,
) -> MemoryDataset:
    """RedCode-Exec samples: one per item and form, with the judge's metadata.

    Args:
        subset: ``eval`` or ``ping`` (the optimisation set).
        forms: ``all`` or some of ``code``, ``summary``, ``details``.
        scenarios: Scenarios to keep (``"1-3,8"``); default all.
        data_dir: Data directory.
    """
    chosen = parse_forms(forms)
    samples = [
        Sample(
            id=f"{item.index}-{form}",
            input=item.prompt(form),
            target=item.expected,
            metadata={
                "benchmark": "redcode",
                "category": "harmful",
                "subset": subset,
                "scenario": item.scenario,
                "item": item.index,
                "form": form,
                "expected_result": item.expected,
            },
        )
        for item in load_items(subset, parse_scenarios(scenarios), data_dir)
        for form in chosen
    ]
    return MemoryDataset(samples, name=f"redcode-exec-{subset}")
