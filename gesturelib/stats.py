"""Paired comparisons over seeds, their 95 % intervals, and the verdict each interval allows.

A claim such as "distillation helps the small student" compares two arms
trained in pairs: one seed fixes the initial weights, the batches and their
augmentations for both arms, so the arms of a pair differ only by what the
claim is about. The evidence is the per-seed difference of test accuracy,
``b - a``; its mean and a 95 % Student-t interval (``n - 1`` degrees of
freedom) say how large the effect is and how sure we can be of its sign.

The verdict follows from the interval and nothing else:

- **holds**: the whole interval lies above the claim's margin (0 for "B beats A");
- **does not hold**: the whole interval lies below it;
- **inconclusive**: the interval covers it;
- **not tested (not converged)**: a model of the comparison did not meet the
  convergence criterion (``train.plateaued``), so the runs measure the
  training budget, not the method.

A claim that B *keeps* A's accuracy (fp16, pruning) is a non-inferiority
claim: it holds when the interval lies above ``-margin`` (a loss smaller than
the margin), and does not hold when it lies entirely below.
"""

from __future__ import annotations

import math
import statistics
from typing import Sequence

from scipy import stats as scipy_stats

HOLDS, DOES_NOT_HOLD, INCONCLUSIVE, NOT_CONVERGED = (
    "holds", "does not hold", "inconclusive", "not tested (not converged)")
VERDICTS = (HOLDS, DOES_NOT_HOLD, INCONCLUSIVE, NOT_CONVERGED)
#: The confidence level of every interval in the project.
LEVEL = 0.95


def mean_interval(values: Sequence[float], level: float = LEVEL) -> tuple[float, float, float]:
    """``(mean, low, high)``: the Student-t interval of the mean of ``values``
    (``low`` and ``high`` NaN for one value: no spread can be estimated, see :func:`verdict`)."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("an interval needs at least one value")
    mean = statistics.fmean(values)
    if len(values) == 1:
        return mean, math.nan, math.nan
    half = scipy_stats.t.ppf(0.5 + level / 2, len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def verdict(low: float, high: float, margin: float = 0.0, converged: bool = True) -> str:
    """The verdict of an interval ``[low, high]`` against ``margin`` (see the module docstring)."""
    if not converged:
        return NOT_CONVERGED
    if math.isnan(low) or math.isnan(high):
        return INCONCLUSIVE
    if low > margin:
        return HOLDS
    if high < margin:
        return DOES_NOT_HOLD
    return INCONCLUSIVE


def paired_comparison(a: dict[int, float], b: dict[int, float], converged: bool = True,
                      margin: float = 0.0) -> dict:
    """Arm ``b`` minus arm ``a``, paired by seed (``{seed: accuracy}`` each; only shared seeds count).

    Returns a JSON-ready dict: ``seeds``, per-seed ``differences``, ``n``,
    ``mean`` and the 95 % interval ``low`` / ``high``, the ``margin``,
    ``converged`` and the ``verdict``.
    """
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise ValueError("the two arms share no seed: nothing to pair")
    differences = [b[s] - a[s] for s in seeds]
    mean, low, high = mean_interval(differences)
    return {"seeds": seeds, "differences": differences, "n": len(seeds), "mean": mean, "low": low,
            "high": high, "margin": margin, "converged": bool(converged),
            "verdict": verdict(low, high, margin, converged)}


def describe(comparison: dict | None, unit: str = "points") -> str:
    """``+1.2 points [-0.3, +2.7] (n=5)``: a comparison in one line."""
    if not comparison:
        return "n/a"
    if comparison["n"] < 2 or comparison["low"] is None or math.isnan(comparison["low"]):
        return f"{comparison['mean']:+.1f} {unit} (n={comparison['n']}, no interval)"
    return f"{comparison['mean']:+.1f} {unit} [{comparison['low']:+.1f}, {comparison['high']:+.1f}] (n={comparison['n']})"
