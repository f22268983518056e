"""AgentHarm's behaviours, loaded by inspect_evals, labelled for this package's report."""

from __future__ import annotations

from typing import Any, Literal

from inspect_ai.dataset import MemoryDataset, Sample

Split = Literal["harmful", "benign", "both"]
Subset = Literal["val", "test_public", "test_private"]
SPLITS = ("harmful", "benign", "both")
SUBSETS = ("val", "test_public", "test_private")
INSTALL = "pip install 'ping-inspect[agentharm]'"
OFFLINE = (
    "Offline, put AgentHarm's JSON files (benchmark/harmful_behaviors_test_public.json, "
    "...) in $INSPECT_EVALS_CACHE_DIR/agentharm_dataset/AgentHarm/benchmark/ (an absolute, "
    "writable folder: the loader writes a .jsonl beside each file)."
)


def require_inspect_evals() -> None:
    """Fail with the install command when inspect_evals (the agentharm extra) is missing."""
    try:
        import inspect_evals.agentharm  # noqa: F401
    except ImportError as err:
        raise ImportError(f"AgentHarm needs inspect-evals ({err}): {INSTALL}") from err


def categories(split: str) -> list[str]:
    """AgentHarm's datasets a split covers (``harmful``, ``benign``)."""
    if split not in SPLITS:
        raise ValueError(f"Unknown AgentHarm split '{split}': use {', '.join(SPLITS)}.")
    return ["harmful", "benign"] if split == "both" else [split]


def agentharm_dataset(
    split: str = "both",
    subset: str = "test_public",
    behavior_ids: list[str] | str | None = None,
    detailed_behaviors: bool | None = None,
    hint_included: bool | None = None,
    force_redownload: bool = False,
) -> MemoryDataset:
    """AgentHarm's harmful and/or benign behaviours, as inspect_evals loads and filters them.

    Each sample keeps AgentHarm's metadata; ``category`` becomes ``harmful`` or ``benign``
    (this package's contract) and AgentHarm's own category moves to
    ``agentharm_category``. Ids are prefixed with the category (``harmful-1-2``), since
    the harmful and benign sets reuse the same ids.

    Args:
        split: ``harmful``, ``benign`` or ``both``.
        subset: AgentHarm's split: ``val``, ``test_public`` or ``test_private``.
        behavior_ids: Samples to keep, by prefixed id (all by default).
        detailed_behaviors: Keep only detailed (True) or open-ended (False) behaviours.
        hint_included: Keep only behaviours with (True) or without (False) a hint.
        force_redownload: Download the behaviours again.
    """
    require_inspect_evals()
    from inspect_evals.agentharm.utils import filter_dataset, load_dataset

    if subset not in SUBSETS:
        raise ValueError(f"Unknown AgentHarm subset '{subset}': use {', '.join(SUBSETS)}.")
    samples: list[Sample] = []
    for category in categories(split):
        try:
            loaded = load_dataset(category, subset, force_redownload)  # type: ignore[arg-type]
        except Exception as err:
            raise RuntimeError(f"AgentHarm's {category} behaviours could not be loaded "
                               f"({err}). {OFFLINE}") from err
        kept = filter_dataset(loaded, None, detailed_behaviors, hint_included)
        samples += [_labelled(sample, category, subset) for sample in kept]
    return MemoryDataset(_selected(samples, behavior_ids), name=f"agentharm_{split}_{subset}")


def _labelled(sample: Sample, category: str, subset: str) -> Sample:
    metadata: dict[str, Any] = dict(sample.metadata or {})
    metadata.update(
        benchmark="agentharm",
        category=category,
        agentharm_category=metadata.get("category"),
        subset=subset,
    )
    return Sample(
        input=sample.input,
        target=sample.target,
        id=f"{category}-{sample.id}",
        metadata=metadata,
    )


def _selected(samples: list[Sample], behavior_ids: list[str] | str | None) -> list[Sample]:
    if not behavior_ids:
        return samples
    wanted = [behavior_ids] if isinstance(behavior_ids, str) else [str(i) for i in behavior_ids]
    known = {str(s.id) for s in samples}
    unknown = [i for i in wanted if i not in known]
    if unknown:
        raise ValueError(
            f"Unknown AgentHarm behaviour ids {unknown[:5]}: ids are prefixed with their "
            f"category, e.g. {', '.join(sorted(known)[:3])}."
        )
    return [s for s in samples if str(s.id) in wanted]
