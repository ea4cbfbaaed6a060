"""The paired-ratio summary bench/submit_bench.py prints for issue 12's ≥ 45 % target."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from ratios import paired_ratios


def test_the_interval_is_the_students_t_interval_of_the_pairs() -> None:
    summary = paired_ratios([50, 45, 55, 50], [100, 100, 100, 100])

    assert summary.ratios == (0.5, 0.45, 0.55, 0.5)
    assert summary.mean == pytest.approx(0.5)
    # sample standard deviation 0.0408, t(3) = 3.182: half-width 0.0650
    assert summary.low == pytest.approx(0.5 - 3.182 * 0.040825 / 2, abs=1e-4)
    assert summary.high == pytest.approx(0.5 + 3.182 * 0.040825 / 2, abs=1e-4)


@pytest.mark.parametrize(
    ("project", "verdict"),
    [
        ([50, 51, 49, 50, 50, 51], "met with a margin over the noise"),
        ([44, 47, 45, 46, 43, 48], "within the noise of the target"),
        ([40, 41, 39, 40, 40, 41], "missed beyond the noise"),
    ],
)
def test_the_verdict_reads_the_interval_against_the_target(project, verdict) -> None:
    summary = paired_ratios(project, [100] * len(project))
    assert summary.against(0.45) == verdict


def test_one_pair_has_no_interval() -> None:
    summary = paired_ratios([47], [100])
    assert (summary.low, summary.high) == (summary.mean, summary.mean)
    assert "no interval" in summary.against(0.45)


def test_rounds_must_pair() -> None:
    with pytest.raises(ValueError):
        paired_ratios([1, 2], [1])
