"""The 140 WebDojo tasks as Inspect samples.

Raw files: ``webdojo/tasks/tasks_benign_raw.json`` and ``tasks_harmful_raw.json`` in the
data directory (``ping_inspect.data.data_dir``). Each task has an ``id``, a ``goal``, a
``split`` (``test`` / ``validation``), a ``webpage`` (the site folder below
``websites/``), a ``category`` (``safe`` / ``unsafe``) and ``criteria``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Literal

from inspect_ai.dataset import MemoryDataset, Sample

from ping_inspect.data import DataError, data_dir

Split = Literal["benign", "harmful", "both"]
Subset = Literal["test", "validation", "all"]

CATEGORY = {"safe": "benign", "unsafe": "harmful"}
"""Raw ``category`` labels and the project's names for them."""
_FILES = {"benign": "tasks_benign_raw.json", "harmful": "tasks_harmful_raw.json"}


def webdojo_root(data_dir_arg: str | Path | None = None) -> Path:
    """Return the verified ``webdojo/`` folder (argument, ``$PING_INSPECT_DATA``, ...)."""
    return data_dir("webdojo", explicit=data_dir_arg) / "webdojo"


def load_tasks(root: Path) -> list[dict[str, Any]]:
    """Read the raw tasks of both files under a ``webdojo/`` folder, benign first."""
    return list(_load_tasks(root.resolve()))


@cache
def _load_tasks(root: Path) -> tuple[dict[str, Any], ...]:
    tasks: list[dict[str, Any]] = []
    for name in _FILES.values():
        path = root / "tasks" / name
        try:
            tasks.extend(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as err:
            raise DataError(f"Cannot read WebDojo tasks from {path}: {err}") from err
    return tuple(tasks)


def task_sample(task: dict[str, Any]) -> Sample:
    """One raw task as a sample: the goal is the input, the rest is metadata."""
    category = CATEGORY.get(task["category"])
    if category is None:
        raise DataError(f"WebDojo task {task['id']} has an unknown category {task['category']!r}")
    webpage = str(task["webpage"]).strip("/")
    return Sample(
        id=f"webdojo-{task['id']}",
        input=task["goal"],
        metadata={
            "benchmark": "webdojo",
            "category": category,
            "subset": task["split"],
            "website": webpage.split("/")[0],
            "webpage": webpage,
            "start_path": f"{webpage}/",
            "scenario_id": task["scenario_id"],
            "task_id": task["id"],
            "criteria": task["criteria"],
        },
    )


def webdojo_samples(root: Path, split: Split = "both", subset: Subset = "test") -> list[Sample]:
    """Select the samples of a split (benign, harmful, both) and subset (test, ...).

    Raises:
        ValueError: an unknown split or subset.
    """
    if split not in ("benign", "harmful", "both"):
        raise ValueError(f"Unknown split {split!r}: use benign, harmful or both.")
    if subset not in ("test", "validation", "all"):
        raise ValueError(f"Unknown subset {subset!r}: use test, validation or all.")
    samples = [task_sample(t) for t in load_tasks(root)]
    return [
        s
        for s in samples
        if (split == "both" or s.metadata["category"] == split)  # type: ignore[index]
        and (subset == "all" or s.metadata["subset"] == subset)  # type: ignore[index]
    ]


def webdojo_dataset(
    data_dir_arg: str | Path | None = None, split: Split = "both", subset: Subset = "test"
) -> MemoryDataset:
    """Build the WebDojo dataset for a task: benign and harmful samples alternate.

    The raw files list every benign task before the harmful ones; alternating them makes
    ``--limit N`` measure both categories (N // 2 of each, the extra one benign).
    """
    root = webdojo_root(data_dir_arg)
    samples = interleave_categories(webdojo_samples(root, split, subset))
    return MemoryDataset(samples, name=f"webdojo-{split}-{subset}", location=str(root))


def interleave_categories(samples: list[Sample]) -> list[Sample]:
    """Alternate benign and harmful samples, each category in its own order."""
    benign = [s for s in samples if (s.metadata or {}).get("category") == "benign"]
    other = [s for s in samples if (s.metadata or {}).get("category") != "benign"]
    mixed: list[Sample] = []
    for index in range(max(len(benign), len(other))):
        mixed += benign[index:index + 1] + other[index:index + 1]
    return mixed
