"""Metrics per sample group (category benign/harmful, RedCode scenario, ...), per score key.

Every benchmark scorer returns one dict-valued ``Score.value`` (``{"success": 1.0,
"refusal": 0.0, ...}``). Its metrics are given in Inspect's list form, which names each
result by the key the metric returns (``success_benign``, ``success_benign_se``,
``refusal_harmful``): short names with no package prefix, that fit Inspect's score table
at 80 columns and read the same in ``evals_df`` (``score_webdojo_scorer_success_benign``).
(Inspect's dict form would name them ``<metric registry name>_<key>``:
``ping_inspect/category_rate_benign``.)

Inspect leaves a sample whose whole score is NaN out of every metric (its
``unscored_samples``); a NaN under one key (an LLM judge with no verdict) is left out of
that key's rates here, so each rate is over known verdicts only.
"""

import math
from collections.abc import Sequence

from inspect_ai.scorer import Metric, SampleScore, Value, grouped, mean, metric, stderr


def key_scores(scores: list[SampleScore], key: str) -> list[SampleScore]:
    """The samples' finite values under ``key`` of their dict-valued scores, as scalars."""
    column = []
    for sample in scores:
        value = sample.score.value
        item = value.get(key) if isinstance(value, dict) else None
        if isinstance(item, bool | int | float) and math.isfinite(float(item)):
            score = sample.score.model_copy(update={"value": float(item)})
            column.append(sample.model_copy(update={"score": score}))
    return column


def _numeric_keys(scores: list[SampleScore]) -> list[str]:
    keys: dict[str, None] = {}
    for sample in scores:
        value = sample.score.value
        if isinstance(value, dict):
            keys.update({k: None for k, v in value.items() if isinstance(v, int | float)})
    return list(keys)


@metric
def category_rates(keys: Sequence[str] | None = None, group: str = "category") -> Metric:
    """Mean and standard error of each score key per sample group.

    Results are named ``<key>_<group value>`` and ``<key>_<group value>_se``
    (``success_benign``: the benign success rate, SR; ``success_harmful``: ASR;
    ``refusal_harmful``: RR).

    Args:
        keys: Score keys to rate (default: every numeric key of the scores).
        group: Sample metadata field to group by.
    """
    rate = grouped(mean(), group, all=False)
    error = grouped(stderr(), group, all=False)

    def compute(scores: list[SampleScore]) -> Value:
        results: dict[str, float] = {}
        for key in keys if keys is not None else _numeric_keys(scores):
            column = key_scores(scores, key)
            if not column:
                continue
            results.update({f"{key}_{g}": float(v) for g, v in _items(rate(column))})
            results.update({f"{key}_{g}_se": float(v) for g, v in _items(error(column))})
        return results

    return compute


@metric
def group_means(field: str, keys: Sequence[str], label: str | None = None) -> Metric:
    """Mean of each of ``keys`` per value of a sample metadata ``field``.

    Results are named ``<key>_<label>_<field value>`` (``success_scenario_4``).

    Args:
        field: Sample metadata field to group by (``scenario``, ``nearmiss_category``).
        keys: Score keys to average.
        label: The name's middle part (default: ``field``).
    """
    by_field = grouped(mean(), field, all=False)
    middle = label or field

    def compute(scores: list[SampleScore]) -> Value:
        results: dict[str, float] = {}
        for key in keys:
            column = key_scores(scores, key)
            if column:
                results.update({f"{key}_{middle}_{g}": float(v)
                                for g, v in _items(by_field(column))})
        return results

    return compute


def _items(value: Value) -> list[tuple[str, float]]:
    return sorted(value.items(), key=lambda kv: _natural(kv[0])) if isinstance(value, dict) \
        else []


def _natural(name: str) -> tuple[int, int | str]:
    return (0, int(name)) if name.isdigit() else (1, name)
