"""Paired intervals and the verdicts they allow."""

import math

import pytest
from scipy import stats as scipy_stats

from gesturelib import stats


def test_interval_matches_a_paired_t_test():
    a = {0: 80.0, 1: 82.0, 2: 79.5, 3: 81.0, 4: 83.0}
    b = {0: 82.5, 1: 83.0, 2: 81.0, 3: 82.0, 4: 86.0}
    result = stats.paired_comparison(a, b)
    differences = [b[s] - a[s] for s in sorted(a)]
    ci = scipy_stats.ttest_1samp(differences, 0.0).confidence_interval(0.95)
    assert result["n"] == 5 and result["differences"] == differences
    assert result["mean"] == pytest.approx(sum(differences) / 5)
    assert (result["low"], result["high"]) == pytest.approx((ci.low, ci.high))
    assert result["verdict"] == stats.HOLDS  # every seed gains: the interval lies above 0


def test_verdicts_follow_the_interval():
    assert stats.verdict(0.1, 2.0) == stats.HOLDS
    assert stats.verdict(-3.0, -0.2) == stats.DOES_NOT_HOLD
    assert stats.verdict(-1.0, 2.0) == stats.INCONCLUSIVE
    assert stats.verdict(0.1, 2.0, converged=False) == stats.NOT_CONVERGED
    # non-inferiority: a loss within the margin keeps the accuracy
    assert stats.verdict(-0.8, 0.3, margin=-1.0) == stats.HOLDS
    assert stats.verdict(-4.0, -1.5, margin=-1.0) == stats.DOES_NOT_HOLD
    assert stats.verdict(math.nan, math.nan) == stats.INCONCLUSIVE


def test_mixed_signs_are_inconclusive_and_only_shared_seeds_pair():
    a = {0: 80.0, 1: 80.0, 2: 80.0, 7: 10.0}
    b = {0: 82.0, 1: 78.0, 2: 81.0, 9: 99.0}
    result = stats.paired_comparison(a, b)
    assert result["seeds"] == [0, 1, 2]
    assert result["verdict"] == stats.INCONCLUSIVE
    assert result["low"] < 0 < result["high"]
    with pytest.raises(ValueError, match="share no seed"):
        stats.paired_comparison({0: 1.0}, {1: 2.0})


def test_one_pair_gives_no_interval():
    result = stats.paired_comparison({0: 80.0}, {0: 85.0})
    assert math.isnan(result["low"]) and result["verdict"] == stats.INCONCLUSIVE
    assert "no interval" in stats.describe(result)
    assert stats.describe(stats.paired_comparison({0: 1.0, 1: 2.0}, {0: 2.0, 1: 2.5})).endswith("(n=2)")
