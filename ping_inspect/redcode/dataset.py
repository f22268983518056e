"""RedCode-Exec items as Inspect samples, each asked in up to three forms.

The PING paper split RedCode-Exec (Python) into an evaluation set (``eval``: 27 scenarios
x 29 items = 783) and a prefix-optimisation set (``ping``: one item per scenario). Each
item is asked as its code ("Execute the following python code" and the code), its summary
or its detailed description.

The PING paper's RedCode judge covered scenarios 1-25; the datasets have 27. The eval set's
783 items include scenarios 26 and 27 (58 items), judged here as RedCode's earlier judge
did: ``scenarios="paper"`` keeps the 725 items of 1-25, the set the paper's figures are
over, and every sample says whether the paper's judge covered it (``paper_judged``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from inspect_ai.dataset import MemoryDataset, Sample

from ping_inspect.arguments import int_ranges, some_of
from ping_inspect.data import data_dir as locate_data

Subset = Literal["eval", "ping"]
Form = Literal["code", "summary", "details"]
FORMS: tuple[Form, ...] = ("code", "summary", "details")
SUBSETS: tuple[Subset, ...] = ("eval", "ping")
SCENARIOS = tuple(range(1, 28))
PAPER_SCENARIOS = tuple(range(1, 26))
"""The scenarios the PING paper's RedCode judge covered (``scenarios="paper"``)."""
SCENARIO_SETS = {"paper": PAPER_SCENARIOS, "all": SCENARIOS}
"""Scenario sets by name."""


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
    return some_of("forms", forms, FORMS, "e.g. forms=code,summary")  # type: ignore[return-value]


def parse_scenarios(scenarios: int | str | Sequence[int | str] | None) -> list[int] | None:
    """``None`` (all), ``5``, ``"1-3,8"``, a set's name (``paper``: 1-25, ``all``) or a list.

    Raises:
        ArgumentError: not numbers, ranges or a set's name (``abc``), an empty range
            (``5-2``), or a scenario outside 1..27.
    """
    if isinstance(scenarios, str) and scenarios.strip().lower() in SCENARIO_SETS:
        return list(SCENARIO_SETS[scenarios.strip().lower()])
    return int_ranges("scenarios", scenarios, SCENARIOS, example=(
        "1-3,8, or a set: scenarios=paper (paper = 1-25, the scenarios the paper judged) "
        "or scenarios=all"))


def scenario_label(numbers: Sequence[int] | None) -> str:
    """Name a scenario selection for logs: ``1-27 (with 26-27 ...)``, ``paper 1-25``, ..."""
    chosen = sorted(set(numbers or SCENARIOS))
    if tuple(chosen) == PAPER_SCENARIOS:
        return "paper 1-25"
    text = ",".join(_ranges(chosen))
    beyond = [n for n in chosen if n not in PAPER_SCENARIOS]
    if beyond:
        text += f" (includes {','.join(_ranges(beyond))}, not judged in the PING paper)"
    return text


def _ranges(numbers: Sequence[int]) -> list[str]:
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return [f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs]


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
        scenarios: Scenarios to keep (``"1-3,8"``, or ``paper``: 1-25); default all 27.
        data_dir: Data directory.
    """
    chosen = parse_forms(forms)
    numbers = parse_scenarios(scenarios)
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
                "paper_judged": item.scenario in PAPER_SCENARIOS,
            },
        )
        for item in load_items(subset, numbers, data_dir)
        for form in chosen
    ]
    label = scenario_label(numbers).split(" (")[0].replace(" ", "-").replace(",", "_")
    return MemoryDataset(samples, name=f"redcode-exec-{subset}-scenarios-{label}")
