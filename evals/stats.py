"""The summary statistics every figure in the eval and the benchmarks goes through.

One definition so that a "p95" means the same thing in results.json, a latency report and a scale
run: linear interpolation between the two nearest ranks (numpy's default method), not nearest-rank.
The eval writes JSON, where a missing figure is null, hence None for no values; the benchmarks
format NaN as "-", hence the `_or_nan` forms.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0-100), interpolated linearly between ranks; None for no values."""
    data = sorted(values)
    if not data:
        return None
    pos = (len(data) - 1) * p / 100.0
    low, high = math.floor(pos), math.ceil(pos)
    return data[low] + (data[high] - data[low]) * (pos - low)


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None (a figure that does not apply is skipped); None if none."""
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def percentile_or_nan(values: Sequence[float], p: float) -> float:
    """`percentile`, with NaN instead of None for no values."""
    value = percentile(values, p)
    return math.nan if value is None else value


def mean_or_nan(values: Iterable[float | None]) -> float:
    """`mean`, with NaN instead of None for no values."""
    value = mean(values)
    return math.nan if value is None else value
