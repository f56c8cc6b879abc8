"""The agreement bootstrap is vectorised: no library call per resample, well under the 3 s target."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import krippendorff
import pytest
import sklearn.metrics
import statsmodels.stats.inter_rater

from harness.data.agreement import agreement_report

RATINGS = Path(__file__).resolve().parent.parent / "suites" / "data" / "emergency" / "ratings.csv"


def test_libraries_give_the_point_estimates_only_not_the_thousand_replicates(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"cohen": 0, "fleiss": 0, "krippendorff": 0}

    def counting(key: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[key] += 1
            return fn(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(sklearn.metrics, "cohen_kappa_score", counting("cohen", sklearn.metrics.cohen_kappa_score))
    monkeypatch.setattr(
        statsmodels.stats.inter_rater, "fleiss_kappa", counting("fleiss", statsmodels.stats.inter_rater.fleiss_kappa)
    )
    monkeypatch.setattr(krippendorff, "alpha", counting("krippendorff", krippendorff.alpha))
    report = agreement_report(RATINGS, n_boot=1000)
    # 3 pairs for the table and 3 for the mean kappa; Fleiss once; alpha nominal and ordinal
    assert calls == {"cohen": 6, "fleiss": 1, "krippendorff": 2}
    assert all(m.ci_low is not None and m.ci_low < m.value < m.ci_high for m in report.metrics)


def test_shipped_ratings_with_a_thousand_resamples_take_well_under_three_cpu_seconds() -> None:
    agreement_report(RATINGS, n_boot=10)  # imports the libraries: not what is timed
    start = time.process_time()
    agreement_report(RATINGS, n_boot=1000)
    assert time.process_time() - start < 3.0  # about 0.1-0.3 s vectorised; 12-16 s per resample via the libraries
