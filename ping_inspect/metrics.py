"""Rates with standard errors that leave unknown verdicts out instead of counting them."""

from __future__ import annotations

import math

from inspect_ai.scorer import Metric, SampleScore, grouped, metric


def _known(scores: list[SampleScore]) -> list[float]:
    values = [float(s.score.as_float()) for s in scores]
    return [v for v in values if math.isfinite(v)]


@metric
def rate() -> Metric:
    """Mean of 0/1 values over the samples with a known value (NaN is unknown)."""

    def compute(scores: list[SampleScore]) -> float:
        known = _known(scores)
        return sum(known) / len(known) if known else float("nan")

    return compute


@metric
def rate_stderr() -> Metric:
    """Standard error of ``rate`` (sample standard deviation over sqrt(n))."""

    def compute(scores: list[SampleScore]) -> float:
        known = _known(scores)
        n = len(known)
        if n < 2:
            return float("nan") if n == 0 else 0.0
        mean = sum(known) / n
        variance = sum((v - mean) ** 2 for v in known) / (n - 1)
        return math.sqrt(variance / n)

    return compute


@metric
def unknown_count() -> Metric:
    """How many samples have no known value (a judge gave no verdict)."""

    def compute(scores: list[SampleScore]) -> int:
        return len(scores) - len(_known(scores))

    return compute


def category_metrics() -> list[Metric]:
    """Rate and stderr per sample ``category`` (benign, harmful)."""
    return [grouped(rate(), "category", all=False), grouped(rate_stderr(), "category", all=False)]
