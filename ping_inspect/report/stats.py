"""Rates and paired differences with 95% intervals.

- A rate of 0/1 outcomes gets the Wilson score interval (Wilson 1927), which stays inside
  [0, 1] and keeps its coverage at small n and at rates near 0 or 1, unlike the normal
  (Wald) interval.
- The difference between a defence and no defence is paired: both cells ran the same
  samples, so the difference is taken sample by sample (same id and epoch). For 0/1
  outcomes the interval is Newcombe's hybrid score interval for paired proportions
  (Newcombe 1998, Statistics in Medicine 17:2635, method 10): it combines the two Wilson
  intervals with the correlation between the paired outcomes (its ``phi``, with the
  published shrinkage of a positive ``ad - bc`` by n/2).
- Outcomes that are not 0/1 (a mean over epochs, a partial credit) fall back to normal
  intervals: mean +- z * s / sqrt(n), on the values or on the per-sample differences.

Unknown outcomes (NaN: a judge gave no verdict) never reach these functions: the callers
count them apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054
"""The standard normal quantile for a two-sided 95% interval."""

WILSON = "wilson"
NEWCOMBE_PAIRED = "newcombe-paired"
NORMAL = "normal"


@dataclass(frozen=True)
class Estimate:
    """A rate (or a difference of rates) with its 95% interval."""

    value: float
    low: float
    high: float
    n: int
    method: str


def is_binary(values: Sequence[float]) -> bool:
    """Whether every value is 0 or 1 (what the Wilson and Newcombe intervals assume)."""
    return all(v in (0.0, 1.0) for v in values)


def wilson_interval(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Return the Wilson score interval of ``successes`` out of ``n`` (NaN, NaN when n is 0)."""
    if n <= 0:
        return math.nan, math.nan
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # At 0 of n (or n of n) the bound is exactly 0 (1); rounding would leave it a hair
    # inside, above the estimate itself.
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return low, high


def rate(values: Sequence[float]) -> Estimate:
    """Return the mean of known outcomes with its 95% interval (Wilson for 0/1 outcomes)."""
    n = len(values)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0, WILSON)
    mean = sum(values) / n
    if is_binary(values):
        return Estimate(mean, *wilson_interval(sum(values), n), n, WILSON)
    return Estimate(mean, *_normal_interval(values), n, NORMAL)


def paired_difference(pairs: Sequence[tuple[float, float]]) -> Estimate:
    """Return the mean of ``treated - baseline`` over paired outcomes, with its 95% interval.

    Args:
        pairs: ``(treated, baseline)`` outcomes of the same samples.
    """
    n = len(pairs)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0, NEWCOMBE_PAIRED)
    if is_binary([v for pair in pairs for v in pair]):
        return _newcombe_paired(pairs)
    differences = [t - b for t, b in pairs]
    return Estimate(sum(differences) / n, *_normal_interval(differences), n, NORMAL)


def _newcombe_paired(pairs: Sequence[tuple[float, float]]) -> Estimate:
    both = sum(1 for t, b in pairs if t and b)
    treated_only = sum(1 for t, b in pairs if t and not b)
    baseline_only = sum(1 for t, b in pairs if b and not t)
    neither = len(pairs) - both - treated_only - baseline_only
    n = len(pairs)
    p1, p2 = (both + treated_only) / n, (both + baseline_only) / n
    l1, u1 = wilson_interval(both + treated_only, n)
    l2, u2 = wilson_interval(both + baseline_only, n)
    margins = ((both + treated_only) * (baseline_only + neither)
               * (both + baseline_only) * (treated_only + neither))
    phi = _newcombe_phi(both * neither - treated_only * baseline_only, margins, n)
    below = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    above = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    difference = p1 - p2
    return Estimate(difference, difference - below, difference + above, n, NEWCOMBE_PAIRED)


def _newcombe_phi(cross: float, margins: float, n: int) -> float:
    """Newcombe's estimate of the correlation of the paired outcomes (0: an empty margin).

    A positive cross-product difference ``ad - bc`` is shrunk by ``n / 2`` (to no less
    than 0), as in the published method.
    """
    if not margins:
        return 0.0
    if cross > n / 2:
        cross -= n / 2
    elif cross >= 0:
        cross = 0.0
    return cross / math.sqrt(margins)


def _normal_interval(values: Sequence[float]) -> tuple[float, float]:
    n = len(values)
    if n < 2:
        return math.nan, math.nan
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = Z95 * sd / math.sqrt(n)
    return mean - half, mean + half
