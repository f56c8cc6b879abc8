import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import log_loss

from harness.stats import DEFAULT_BOOTSTRAP, bootstrap_draws, bootstrap_interval, percentile_interval
from harness.suites import calibration_metrics
from harness.suites.calibration_metrics import (
    confidence_gap,
    confidence_gap_replicates,
    coverage_accuracy_auc,
    coverage_accuracy_auc_replicates,
    debiased_calibration_error,
    debiased_calibration_error_replicates,
    expected_calibration_error,
    expected_calibration_error_replicates,
    fit_temperature,
    maximum_calibration_error,
    maximum_calibration_error_replicates,
    multiclass_brier_score,
    multiclass_brier_score_replicates,
    negative_log_likelihood,
    negative_log_likelihood_replicates,
    reliability_bins,
    selective_accuracy,
    softmax_rows,
)


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
    expected_brier = np.mean(
        [sum((p[k] - (k == t)) ** 2 for k in range(4)) for p, t in zip(probs, targets, strict=True)]
    )
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


# --- Bootstrap replicates in one pass: equal, bit for bit, to the scalar functions per resample ---

Items = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # conf, hits, probs, targets
Pair = tuple[Callable[[Items, np.ndarray], float], Callable[[Items, np.ndarray], np.ndarray]]


def _metric_pairs(n_bins: int = 10) -> dict[str, Pair]:
    """Per metric: (scalar of one resample's indices, replicates of a draws matrix)."""
    return {
        "ece": (
            lambda d, i: expected_calibration_error(d[0][i], d[1][i], n_bins),
            lambda d, m: expected_calibration_error_replicates(d[0], d[1], m, n_bins),
        ),
        "ece_equal_mass": (
            lambda d, i: expected_calibration_error(d[0][i], d[1][i], n_bins, equal_mass=True),
            lambda d, m: expected_calibration_error_replicates(d[0], d[1], m, n_bins, equal_mass=True),
        ),
        "ece_debiased": (
            lambda d, i: debiased_calibration_error(d[0][i], d[1][i], n_bins),
            lambda d, m: debiased_calibration_error_replicates(d[0], d[1], m, n_bins),
        ),
        "mce": (
            lambda d, i: maximum_calibration_error(d[0][i], d[1][i], n_bins),
            lambda d, m: maximum_calibration_error_replicates(d[0], d[1], m, n_bins),
        ),
        "brier": (
            lambda d, i: multiclass_brier_score(d[2][i], d[3][i]),
            lambda d, m: multiclass_brier_score_replicates(d[2], d[3], m),
        ),
        "nll": (
            lambda d, i: negative_log_likelihood(d[2][i], d[3][i]),
            lambda d, m: negative_log_likelihood_replicates(d[2], d[3], m),
        ),
        "confidence_gap": (
            lambda d, i: confidence_gap(d[0][i], d[1][i]),
            lambda d, m: confidence_gap_replicates(d[0], d[1], m),
        ),
        "coverage_accuracy_auc": (
            lambda d, i: coverage_accuracy_auc(d[0][i], d[1][i]),
            lambda d, m: coverage_accuracy_auc_replicates(d[0], d[1], m),
        ),
    }


def _assert_replicates_match(items: Items, draws: np.ndarray, n_bins: int = 10) -> None:
    for name, (scalar, replicates) in _metric_pairs(n_bins).items():
        expected = np.array([scalar(items, row) for row in draws], dtype=float)
        got = replicates(items, draws)
        assert got.shape == (len(draws),), name
        # the brief asks for 1e-12; the implementation gives the very same floats
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12, err_msg=name)
        np.testing.assert_array_equal(got, expected, err_msg=f"{name}: not bit-identical")


def _items_from_logits(logits: np.ndarray, targets: np.ndarray) -> Items:
    probs = softmax_rows(logits)
    return probs.max(axis=1), probs.argmax(axis=1) == targets, probs, targets


# Confidences that tie, sit exactly on the equal-width bin edges (as np.linspace makes them)
# or just beside them, and the ends 0 and 1.
_EDGES = [float(e) for e in np.linspace(0.0, 1.0, 11)]
_TIE_PRONE = sorted(set(_EDGES + [float(np.nextafter(e, 2.0)) for e in _EDGES[:-1]] + [0.25, 1 / 3, 0.55, 0.95]))
_confidence = st.one_of(st.sampled_from(_TIE_PRONE), st.floats(0.0, 1.0))
_weight = st.one_of(st.sampled_from([0.0, 0.0, 1.0, 2.0, 0.5]), st.floats(0.0, 10.0))


@st.composite
def _resampled_items(draw: Any, max_n: int = 40) -> tuple[Items, np.ndarray, int]:
    n = draw(st.integers(1, max_n))
    conf = np.array(draw(st.lists(_confidence, min_size=n, max_size=n)))
    hits = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    k = draw(st.integers(2, 10))
    weights = np.array(draw(st.lists(st.lists(_weight, min_size=k, max_size=k), min_size=n, max_size=n)))
    weights[weights.sum(axis=1) == 0] = 1.0
    probs = weights / weights.sum(axis=1, keepdims=True)  # ties and exact zeros (clipped in NLL)
    targets = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    n_boot = draw(st.integers(1, 8))
    draws = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).integers(0, n, size=(n_boot, n))
    n_bins = draw(st.sampled_from([10, 10, 10, 1, 3, 7, 15]))
    return (conf, hits, probs, targets), draws, n_bins


@settings(deadline=None, max_examples=150)
@given(_resampled_items())
def test_every_replicate_function_equals_its_scalar_twin_on_each_resample(case: tuple[Items, np.ndarray, int]) -> None:
    items, draws, n_bins = case
    _assert_replicates_match(items, draws, n_bins)


@pytest.mark.slow  # seconds: kept out of the fast lane
@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.data_too_large])
@given(_resampled_items(max_n=400))
def test_replicates_match_on_larger_resamples(case: tuple[Items, np.ndarray, int]) -> None:
    # long bins: numpy sums more than 8 (and more than 128) numbers pairwise, not one by one
    items, draws, _ = case
    _assert_replicates_match(items, draws[:3])


def test_replicates_match_with_many_ties_and_empty_bins() -> None:
    rng = np.random.default_rng(7)
    conf = rng.choice([0.3, 0.30000000000000004, 0.5, 0.9, 1.0], size=200)
    hits = rng.uniform(size=200) < 0.6
    logits = rng.normal(size=(200, 4)).round(1)  # rounding makes tied probabilities
    targets = rng.integers(0, 4, size=200)
    _, _, probs, _ = _items_from_logits(logits, targets)
    _assert_replicates_match((conf, hits, probs, targets), bootstrap_draws(200, n_boot=50, seed=3))


def test_replicates_match_for_confidences_outside_every_bin_and_fractional_outcomes() -> None:
    rng = np.random.default_rng(8)
    conf = np.concatenate([rng.uniform(0.2, 1.0, size=30), [-0.1, 1.5, np.nan]])
    hits = rng.uniform(size=33)  # outcomes need not be 0/1 for the scalar functions either
    probs = rng.dirichlet(np.ones(3), size=33)
    targets = rng.integers(0, 3, size=33)
    _assert_replicates_match((conf, hits, probs, targets), bootstrap_draws(33, n_boot=40))
    # a resample of items in no equal-width bin has no ECE or MCE, as for the scalar
    outside = (np.array([-0.5, 1.5, 2.0]), np.array([True, False, True]))
    draws = bootstrap_draws(3, n_boot=4)
    assert np.isnan(expected_calibration_error_replicates(*outside, draws)).all()
    assert np.isnan(maximum_calibration_error_replicates(*outside, draws)).all()
    assert math.isnan(expected_calibration_error(*outside))


def test_coverage_auc_replicates_rank_ties_in_resample_order() -> None:
    # two tied items, one right and one wrong: the AUC depends on which comes first in the resample
    conf, hits = np.array([0.7, 0.7]), np.array([True, False])
    draws = np.array([[0, 1], [1, 0], [0, 0], [1, 1]])
    np.testing.assert_array_equal(coverage_accuracy_auc_replicates(conf, hits, draws), [0.75, 0.25, 1.0, 0.0])
    assert [coverage_accuracy_auc(conf[row], hits[row]) for row in draws] == [0.75, 0.25, 1.0, 0.0]


def test_replicates_do_not_depend_on_the_block_size(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(9)
    items = _items_from_logits(rng.normal(size=(120, 4)), rng.integers(0, 4, size=120))
    draws = bootstrap_draws(120, n_boot=37)
    whole = {name: rep(items, draws) for name, (_, rep) in _metric_pairs().items()}
    monkeypatch.setattr(calibration_metrics, "_CHUNK_ELEMENTS", 250)  # 2 rows a block
    for name, (_, rep) in _metric_pairs().items():
        np.testing.assert_array_equal(rep(items, draws), whole[name], err_msg=name)


def test_bootstrap_draws_are_the_resamples_bootstrap_interval_makes() -> None:
    assert bootstrap_draws.__defaults__ == (DEFAULT_BOOTSTRAP, 0)
    for n, n_boot, seed in [(1, 5, 0), (2, 17, 1), (7, 33, 2), (570, DEFAULT_BOOTSTRAP, 0), (1001, 20, 12345)]:
        seen: list[np.ndarray] = []
        bootstrap_interval(lambda i, seen=seen: seen.append(i.copy()) or 0.0, n, n_boot=n_boot, seed=seed)
        np.testing.assert_array_equal(bootstrap_draws(n, n_boot=n_boot, seed=seed), np.array(seen))
        rng = np.random.default_rng(seed)  # one resample at a time, as the bootstrap was first drawn
        one_by_one = np.array([rng.integers(0, n, size=n) for _ in range(n_boot)])
        np.testing.assert_array_equal(bootstrap_draws(n, n_boot=n_boot, seed=seed), one_by_one)
    assert bootstrap_draws(0, n_boot=4).shape == (4, 0)


def test_percentile_interval_drops_nan_like_bootstrap_interval() -> None:
    values = [0.5, np.nan, 0.1, 0.9, np.nan, 0.3, 0.35, 0.7]
    for confidence in (0.95, 0.9, 0.5):
        replayed = iter(values)  # bootstrap_interval's statistic returns these values in turn
        expected = bootstrap_interval(lambda i, r=replayed: next(r), 3, n_boot=len(values), confidence=confidence)
        assert percentile_interval(values, confidence) == expected
        assert percentile_interval(np.array(values), confidence) == expected
    assert percentile_interval([0.1, 0.9])[0] == pytest.approx(0.12)
    assert all(math.isnan(x) for x in percentile_interval([np.nan, np.nan]))
    assert all(math.isnan(x) for x in percentile_interval([]))


def _same_interval(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return all((x == y) or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(
    ("n", "n_boot", "seed", "confidence"), [(570, DEFAULT_BOOTSTRAP, 0, 0.95), (40, 300, 4, 0.9), (3, 200, 1, 0.95)]
)
def test_interval_from_replicates_equals_bootstrap_interval_exactly(
    n: int, n_boot: int, seed: int, confidence: float
) -> None:
    rng = np.random.default_rng(0)  # the benchmark's data: random logits over 4 choices
    items = _items_from_logits(rng.normal(size=(n, 4)), rng.integers(0, 4, size=n))
    draws = bootstrap_draws(n, n_boot=n_boot, seed=seed)
    for name, (scalar, replicates) in _metric_pairs().items():
        old = bootstrap_interval(lambda i, s=scalar: s(items, i), n, n_boot=n_boot, seed=seed, confidence=confidence)
        new = percentile_interval(replicates(items, draws), confidence)
        assert _same_interval(new, old), (name, new, old)


def test_no_items_give_nan_replicates_and_a_nan_interval() -> None:
    empty: Items = (np.zeros(0), np.zeros(0, dtype=bool), np.zeros((0, 4)), np.zeros(0, dtype=int))
    draws = bootstrap_draws(0, n_boot=5)
    for name, (scalar, replicates) in _metric_pairs().items():
        values = replicates(empty, draws)
        assert values.shape == (5,) and np.isnan(values).all(), name
        assert _same_interval(percentile_interval(values), bootstrap_interval(lambda i, s=scalar: s(empty, i), 0))


def test_replicates_reject_a_draws_matrix_of_the_wrong_shape_or_kind() -> None:
    conf, hits = np.array([0.6, 0.8]), np.array([True, False])
    with pytest.raises(ValueError, match="2-D"):
        expected_calibration_error_replicates(conf, hits, np.array([0, 1]))
    with pytest.raises(TypeError, match="integer"):
        confidence_gap_replicates(conf, hits, np.array([[0.0, 1.0]]))
    with pytest.raises(ValueError, match="same length"):
        coverage_accuracy_auc_replicates(conf, hits[:1], np.array([[0, 1]]))


@pytest.mark.parametrize("scale", [0.01, 0.3, 1.0, 3.0, 40.0])
def test_fitted_temperature_equals_scipys_bounded_minimiser(scale: float) -> None:
    from scipy.optimize import minimize_scalar

    rng = np.random.default_rng(int(scale * 100))
    logits = rng.normal(size=(300, 4)) * scale
    targets = np.where(rng.random(300) < 0.6, logits.argmax(axis=1), rng.integers(0, 4, size=300))

    def nll(log_t: float) -> float:
        from harness.suites.calibration_metrics import negative_log_likelihood

        return negative_log_likelihood(softmax_rows(logits, float(np.exp(log_t))), targets)

    found = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded", options={"xatol": 1e-9})
    ours = fit_temperature(logits, targets)
    assert ours == pytest.approx(float(np.exp(found.x)), rel=1e-5)
    assert nll(np.log(ours)) <= nll(found.x) + 1e-12


# --- Debiased calibration error (Kumar, Liang & Ma 2019) ----------------------------------------


def test_debiased_calibration_error_of_a_worked_example() -> None:
    # bin (0.2, 0.3]: confidences 0.25 x 4, 1 of 4 right: gap 0, variance term 0.25 * 0.75 / 3 = 0.0625
    # bin (0.9, 1.0]: confidences 0.95 x 4, 2 of 4 right: gap 0.45, 0.2025 - 0.5 * 0.5 / 3 = 0.119167
    # weighted sum 0.5 * (-0.0625) + 0.5 * 0.119167 = 0.028333; its square root 0.168325
    conf = [0.25] * 4 + [0.95] * 4
    hits = [True, False, False, False, True, True, False, False]
    assert debiased_calibration_error(conf, hits) == pytest.approx(math.sqrt(0.5 * -0.0625 + 0.5 * (0.2025 - 0.25 / 3)))
    # a bin of one item adds nothing; a sum below zero is floored at 0
    assert debiased_calibration_error([0.25, 0.25, 0.95], [True, False, True]) == 0.0
    assert math.isnan(debiased_calibration_error([], []))


def test_debiased_calibration_error_removes_the_binned_eces_upward_bias() -> None:
    """On perfectly calibrated samples (right with probability equal to the confidence), the
    debiased estimate's bootstrap interval contains 0 in most seeds; the binned ECE's never does."""
    n, seeds = 570, range(20)
    debiased_has_zero = binned_has_zero = 0
    for seed in seeds:
        rng = np.random.default_rng(seed)
        conf = rng.uniform(0.25, 1.0, size=n)
        hits = rng.uniform(size=n) < conf
        draws = bootstrap_draws(n)
        low, high = percentile_interval(debiased_calibration_error_replicates(conf, hits, draws))
        debiased_has_zero += low <= 0.0 <= high
        low, high = percentile_interval(expected_calibration_error_replicates(conf, hits, draws))
        binned_has_zero += low <= 0.0 <= high
    assert debiased_has_zero >= 15 and binned_has_zero == 0


def test_debiased_calibration_error_still_sees_real_miscalibration() -> None:
    rng = np.random.default_rng(3)
    conf = rng.uniform(0.6, 1.0, size=2000)
    hits = rng.uniform(size=2000) < conf - 0.2  # 20 points overconfident everywhere
    low, _ = percentile_interval(debiased_calibration_error_replicates(conf, hits, bootstrap_draws(2000)))
    assert debiased_calibration_error(conf, hits) == pytest.approx(0.2, abs=0.03) and low > 0.15


def test_the_calibration_suite_reports_the_debiased_error_beside_the_binned_ece() -> None:
    from harness.schema.results import ItemRecord
    from harness.suites.calibration import Calibration

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(200, 4))
    targets = rng.integers(0, 4, size=200)
    records = [
        ItemRecord(
            suite="mmlu",
            item_id=f"mmlu/x/{i}",
            prompt_hash=f"p{i}",
            loglikelihoods=[float(v) for v in logits[i]],
            prediction=int(logits[i].argmax()),
            target=int(targets[i]),
            correct=bool(logits[i].argmax() == targets[i]),
        )
        for i in range(200)
    ]
    scores = Calibration().score(records)
    metrics = {m.name: m for m in scores.metrics}
    debiased = metrics["calibration.ece_debiased"]
    assert debiased.direction == "lower" and "Kumar" in (debiased.definition or "") and debiased.n == 200
    assert debiased.ci_low is not None and debiased.ci_method == f"bootstrap-percentile-{DEFAULT_BOOTSTRAP}"
    names = [m.name for m in scores.metrics]
    assert names.index("calibration.ece_debiased") == names.index("calibration.ece") + 1
    assert any("ece_debiased" in w for w in scores.warnings)  # 200 items: the small-sample warning points to it
