import numpy as np
import pytest
from harness.suites.calibration_metrics import (
    expected_calibration_error,
    maximum_calibration_error,
    multiclass_brier_score,
    negative_log_likelihood,
    reliability_bins,
)
from sklearn.metrics import log_loss


def test_ece_of_a_worked_example() -> None:
    # Two bins hold items: (0.2, 0.3] with confidences 0.25, 0.25 (1 of 2 right) and
    # (0.9, 1.0] with 0.95, 0.95 (2 of 2 right): ECE = 0.5*|0.5-0.25| + 0.5*|1-0.95| = 0.15
    assert expected_calibration_error([0.25, 0.25, 0.95, 0.95], [True, False, True, True]) == pytest.approx(0.15)
    assert maximum_calibration_error([0.25, 0.25, 0.95, 0.95], [True, False, True, True]) == pytest.approx(0.25)


def test_perfectly_calibrated_predictions_have_zero_ece() -> None:
    conf = [0.75] * 4
    assert expected_calibration_error(conf, [True, True, True, False]) == pytest.approx(0.0)


def test_equal_mass_bins_hold_equal_counts() -> None:
    rng = np.random.default_rng(0)
    conf = rng.uniform(0.25, 1.0, size=1000)
    bins = reliability_bins(conf, rng.uniform(size=1000) < conf, equal_mass=True)
    assert [b.count for b in bins] == [100] * 10


def test_brier_and_nll_match_independent_definitions() -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(50, 4))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    targets = rng.integers(0, 4, size=50)
    assert negative_log_likelihood(probs, targets) == pytest.approx(log_loss(targets, probs, labels=[0, 1, 2, 3]))
    expected_brier = np.mean([sum((p[k] - (k == t)) ** 2 for k in range(4)) for p, t in zip(probs, targets, strict=True)])
    assert multiclass_brier_score(probs, targets) == pytest.approx(expected_brier)
