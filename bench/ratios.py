"""The project/floor ratio of interleaved rounds, with how far the machine's noise leaves it.

Each round of the project runs next to a round of the floor, so a slow phase of the shared
machine mostly hits both: the ratio of a pair is steadier than either rate. The mean of the
pairs' ratios comes with a 95 % confidence interval (Student's t, the pairs taken as
independent): a target is met with a margin over the noise when the interval's low end
clears it, and missed beyond the noise when its high end does not reach it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

# Two-sided 95 % quantiles of Student's t by degrees of freedom (beyond 30: the normal's).
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


@dataclass(frozen=True)
class PairedRatios:
    ratios: tuple[float, ...]  # one per pair of rounds, in run order
    mean: float
    low: float  # the 95 % confidence interval of the mean (equal to it with one pair)
    high: float

    def against(self, target: float) -> str:
        if len(self.ratios) < 2:
            return "one pair of rounds: no interval (run more rounds)"
        if self.low >= target:
            return "met with a margin over the noise"
        if self.high < target:
            return "missed beyond the noise"
        return "within the noise of the target"

    def describe(self) -> str:
        if len(self.ratios) < 2:
            return f"{self.mean:.1%} (one pair of rounds)"
        return (
            f"mean {self.mean:.1%}, 95 % interval {self.low:.1%} to {self.high:.1%} over "
            f"{len(self.ratios)} pairs of rounds (single pairs {min(self.ratios):.0%} to "
            f"{max(self.ratios):.0%})"
        )


def paired_ratios(project: Sequence[float], floor: Sequence[float]) -> PairedRatios:
    """The ratios project[i] / floor[i] of rates measured side by side, and their mean's
    95 % confidence interval."""
    if len(project) != len(floor) or not project:
        raise ValueError("as many project rounds as floor rounds, at least one")
    ratios = tuple(p / f for p, f in zip(project, floor, strict=True))
    mean = statistics.fmean(ratios)
    if len(ratios) < 2:
        return PairedRatios(ratios, mean, mean, mean)
    df = len(ratios) - 1
    quantile = _T95[df - 1] if df <= len(_T95) else 1.960
    half = quantile * statistics.stdev(ratios) / math.sqrt(len(ratios))
    return PairedRatios(ratios, mean, mean - half, mean + half)
