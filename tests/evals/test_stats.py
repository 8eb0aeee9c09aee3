"""The one percentile and mean of the eval and the benchmarks: linear interpolation, like numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evals.stats import mean, mean_or_nan, percentile, percentile_or_nan


def test_percentile_interpolates_like_numpy():
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert percentile([], 50) is None


def test_percentile_interpolates_between_ranks():  # the figures bench_answer's own helper was held to
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0], 50) == 1.5
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)
    assert percentile([7.0], 95) == 7.0
    assert math.isnan(percentile_or_nan([], 50))


def test_percentile_or_nan_interpolates():  # the figures bench_serve's own helper was held to
    assert percentile_or_nan([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert math.isnan(percentile_or_nan([], 95))


@pytest.mark.parametrize("p", [0, 5, 50, 90, 95, 99, 100])
def test_percentile_matches_numpy_default(p):
    values = [0.31, 2.5, 0.07, 1.9, 4.4, 0.5, 3.3, 0.9, 1.1, 7.0, 0.02]
    assert percentile(values, p) == pytest.approx(float(np.percentile(values, p)))


def test_mean_skips_figures_that_do_not_apply():
    assert mean([1.0, None, 2.0]) == 1.5
    assert mean([None]) is None and mean([]) is None
    assert mean_or_nan([2, 4]) == 3.0
    assert math.isnan(mean_or_nan([]))
