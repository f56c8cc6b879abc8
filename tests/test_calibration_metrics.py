from typing import Any

import numpy as np
import pytest
from harness.suites.calibration_metrics import (
    confidence_gap,
    coverage_accuracy_auc,
    expected_calibration_error,
    fit_temperature,
    maximum_calibration_error,
    multiclass_brier_score,
    negative_log_likelihood,
    reliability_bins,
    selective_accuracy,
    softmax_rows,
)
from hypothesis import given
from hypothesis import strategies as st
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


def _ece_from_the_formula(conf: np.ndarray, hits: np.ndarray, n_bins: int = 10) -> float:
    """ECE written out as in Guo et al. (2017), eq. 3, independently of the library code."""
    total = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        members = [i for i in range(len(conf)) if (lo < conf[i] <= hi) or (b == 0 and conf[i] == 0.0)]
        if members:
            acc = sum(hits[i] for i in members) / len(members)
            avg = sum(conf[i] for i in members) / len(members)
            total += len(members) / len(conf) * abs(acc - avg)
    return total


@pytest.mark.parametrize("seed", range(5))
def test_ece_equals_the_formula_on_random_inputs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    conf = rng.uniform(0.25, 1.0, size=500)
    hits = rng.uniform(size=500) < conf * 0.8
    assert expected_calibration_error(conf, hits) == pytest.approx(_ece_from_the_formula(conf, hits), abs=1e-9)


def test_multiclass_brier_equals_scikit_learn() -> None:
    from sklearn.metrics import brier_score_loss

    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(4), size=300)
    targets = rng.integers(0, 4, size=300)
    assert multiclass_brier_score(probs, targets) == pytest.approx(
        brier_score_loss(targets, probs, labels=[0, 1, 2, 3]), abs=1e-12
    )


def test_a_calibrated_sample_has_ece_near_zero() -> None:
    rng = np.random.default_rng(11)
    conf = rng.uniform(0.25, 1.0, size=40_000)
    hits = rng.uniform(size=conf.size) < conf  # right exactly as often as it is confident
    assert expected_calibration_error(conf, hits) < 0.01
    assert expected_calibration_error(conf, hits, equal_mass=True) < 0.015


@given(st.lists(st.tuples(st.floats(0.25, 1.0), st.booleans()), min_size=1, max_size=80), st.randoms())
def test_permuting_items_changes_no_calibration_metric(pairs: list, rnd: Any) -> None:
    shuffled = pairs[:]
    rnd.shuffle(shuffled)
    for fn in (expected_calibration_error, maximum_calibration_error, confidence_gap):
        a = fn([c for c, _ in pairs], [h for _, h in pairs])
        b = fn([c for c, _ in shuffled], [h for _, h in shuffled])
        assert a == pytest.approx(b, abs=1e-12)
    assert expected_calibration_error([c for c, _ in pairs], [h for _, h in pairs], equal_mass=True) >= 0


def test_selective_accuracy_and_coverage_curve() -> None:
    conf = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
    hits = [True, True, False, True, False, False, False, False, False, False]
    assert selective_accuracy(conf, hits, 0.1) == (1.0, 1)
    assert selective_accuracy(conf, hits, 0.3) == (pytest.approx(2 / 3), 3)
    # accuracy at k=1..10: 1, 1, 2/3, 3/4, 3/5, 3/6, 3/7, 3/8, 3/9, 3/10
    expected = np.mean([1, 1, 2 / 3, 3 / 4, 3 / 5, 3 / 6, 3 / 7, 3 / 8, 3 / 9, 3 / 10])
    assert coverage_accuracy_auc(conf, hits) == pytest.approx(expected)
    # the best ranking (right answers first) beats the worst one at the same accuracy
    assert coverage_accuracy_auc([0.9, 0.1], [True, False]) == 0.75
    assert coverage_accuracy_auc([0.1, 0.9], [True, False]) == 0.25


def test_temperature_scaling_cools_an_overconfident_model() -> None:
    rng = np.random.default_rng(5)
    targets = rng.integers(0, 4, size=2000)
    logits = rng.normal(size=(2000, 4))
    logits[np.arange(2000), targets] += 1.0  # informative but weak
    hot = logits * 4  # the same ranking, far too confident
    t = fit_temperature(hot, targets)
    assert t == pytest.approx(4.0, rel=0.15)
    before = softmax_rows(hot)
    after = softmax_rows(hot, t)
    hits = before.argmax(1) == targets
    assert expected_calibration_error(after.max(1), hits) < expected_calibration_error(before.max(1), hits) / 3
