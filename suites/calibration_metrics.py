"""Calibration of multiple-choice predictions: pure functions over confidences and outcomes.

Groundwork for the calibration suite: the same item records that give accuracy give
these numbers, with no extra model call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class ReliabilityBin:
    lower: float
    upper: float
    count: int
    mean_confidence: float | None
    accuracy: float | None

    @property
    def gap(self) -> float:
        """|accuracy - mean confidence| of a non-empty bin (0 for an empty one)."""
        if self.accuracy is None or self.mean_confidence is None:
            return 0.0
        return abs(self.accuracy - self.mean_confidence)


def reliability_bins(
    confidences: ArrayLike, correct: ArrayLike, n_bins: int = 10, *, equal_mass: bool = False
) -> list[ReliabilityBin]:
    """Reliability-diagram data: per bin, count, mean confidence and accuracy.

    Equal-width bins split [0, 1] into ``n_bins`` intervals (lower edge open, as in
    Guo et al. 2017, "On Calibration of Modern Neural Networks"); equal-mass bins hold
    (nearly) the same number of items each, as HELM's ``ece_10_bin``.
    """
    conf = np.asarray(confidences, dtype=float)
    hits = np.asarray(correct, dtype=float)
    if conf.shape != hits.shape:
        raise ValueError("confidences and correct must have the same length")
    if equal_mass:
        order = np.argsort(conf, kind="stable")
        groups = [g for g in np.array_split(order, n_bins) if g.size]
        return [
            ReliabilityBin(
                float(conf[g].min()), float(conf[g].max()), int(g.size), float(conf[g].mean()), float(hits[g].mean())
            )
            for g in groups
        ]
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = []
    for i in range(n_bins):
        lower, upper = edges[i], edges[i + 1]
        mask = (conf > lower) & (conf <= upper) if i else (conf >= lower) & (conf <= upper)
        count = int(mask.sum())
        bins.append(
            ReliabilityBin(
                float(lower),
                float(upper),
                count,
                float(conf[mask].mean()) if count else None,
                float(hits[mask].mean()) if count else None,
            )
        )
    return bins


def expected_calibration_error(
    confidences: ArrayLike, correct: ArrayLike, n_bins: int = 10, *, equal_mass: bool = False
) -> float:
    """ECE = sum_b (|B_b| / n) * |acc(B_b) - conf(B_b)| (Naeini et al. 2015; Guo et al. 2017)."""
    bins = reliability_bins(confidences, correct, n_bins, equal_mass=equal_mass)
    n = sum(b.count for b in bins)
    if n == 0:
        return float("nan")
    return float(sum(b.count / n * b.gap for b in bins if b.count))


def maximum_calibration_error(confidences: ArrayLike, correct: ArrayLike, n_bins: int = 10) -> float:
    """MCE = max_b |acc(B_b) - conf(B_b)| over non-empty equal-width bins (Naeini et al. 2015)."""
    gaps = [b.gap for b in reliability_bins(confidences, correct, n_bins) if b.count]
    return float(max(gaps)) if gaps else float("nan")


def debiased_calibration_error(confidences: ArrayLike, correct: ArrayLike, n_bins: int = 10) -> float:
    """Debiased L2 calibration error over equal-width bins (Kumar, Liang & Ma 2019, "Verified
    Uncertainty Calibration", NeurIPS, sec. 5; their reference code's ``unbiased_l2_ce``):

        sqrt(max(0, sum_b (|B_b| / n) * [(acc_b - conf_b)^2 - acc_b (1 - acc_b) / (|B_b| - 1)]))

    A bin's squared gap overestimates its squared calibration error by the sampling variance
    of its accuracy, acc (1 - acc) / |B_b|; subtracting that variance's unbiased estimate,
    acc_b (1 - acc_b) / (|B_b| - 1), leaves an unbiased estimate of each bin's squared error.
    Bins of fewer than two items add nothing; the weighted sum is floored at 0 before the
    square root. So a perfectly calibrated model scores about 0, where the binned ECE stays
    above 0 by its noise alone. The estimand is the root-mean-square (L2) calibration error,
    which for the same bins is at least the (L1) ECE. Same bins as
    :func:`expected_calibration_error`; NaN when no item falls in a bin.
    """
    bins = reliability_bins(confidences, correct, n_bins)
    n = sum(b.count for b in bins)
    if n == 0:
        return float("nan")
    total = 0.0
    for b in bins:
        if b.count:
            total += b.count / n * _debiased_bin_term(b.count, b.mean_confidence, b.accuracy)
    return float(np.sqrt(np.maximum(total, 0.0)))


def _debiased_bin_term(count: int, mean_confidence: float | None, accuracy: float | None) -> float:
    """(acc - conf)^2 - acc (1 - acc) / (count - 1) for a bin of two or more items, else 0."""
    if count < 2 or mean_confidence is None or accuracy is None:
        return 0.0
    gap = accuracy - mean_confidence
    return gap * gap - accuracy * (1 - accuracy) / (count - 1)


def multiclass_brier_score(probabilities: ArrayLike, targets: ArrayLike) -> float:
    """Brier (1950) for K classes: mean over items of sum_k (p_k - y_k)^2."""
    probs = np.asarray(probabilities, dtype=float)
    y = np.asarray(targets)
    onehot = np.zeros_like(probs)
    onehot[np.arange(y.size), y] = 1.0
    return float(((probs - onehot) ** 2).sum(axis=1).mean())


def negative_log_likelihood(probabilities: ArrayLike, targets: ArrayLike) -> float:
    """Mean of -log p(target), the cross-entropy of the choice distribution."""
    probs = np.asarray(probabilities, dtype=float)
    y = np.asarray(targets)
    picked = probs[np.arange(y.size), y]
    return float(-np.log(np.clip(picked, 1e-15, 1.0)).mean())


def confidence_gap(confidences: ArrayLike, correct: ArrayLike) -> float:
    """Mean confidence minus accuracy: > 0 overconfident, < 0 underconfident.

    The signed counterpart of ECE with a single bin (Guo et al. 2017, §2 "over-confidence").
    """
    conf = np.asarray(confidences, dtype=float)
    if conf.size == 0:
        return float("nan")
    return float(conf.mean() - np.asarray(correct, dtype=float).mean())


def _by_confidence(confidences: ArrayLike, correct: ArrayLike) -> np.ndarray:
    """Outcomes ordered from the most to the least confident item (stable for ties)."""
    conf = np.asarray(confidences, dtype=float)
    order = np.argsort(-conf, kind="stable")
    return np.asarray(correct, dtype=float)[order]


def selective_accuracy(confidences: ArrayLike, correct: ArrayLike, coverage: float = 0.1) -> tuple[float, int]:
    """Accuracy on the ``coverage`` share of items the model is most confident about.

    Selective prediction (El-Yaniv & Wiener 2010; HELM reports it at 10% coverage).
    Returns the accuracy and the number of items it covers, ``ceil(coverage * n)``.
    """
    hits = _by_confidence(confidences, correct)
    if hits.size == 0:
        return float("nan"), 0
    k = max(1, int(np.ceil(coverage * hits.size - 1e-9)))
    return float(hits[:k].mean()), k


def coverage_accuracy_auc(confidences: ArrayLike, correct: ArrayLike) -> float:
    """Area under the coverage-accuracy curve: mean over k = 1..n of the accuracy of the k most confident items.

    Equals 1 - AURC, the area under the risk-coverage curve of Geifman & El-Yaniv (2017),
    "Selective Classification for Deep Neural Networks". Highest when confidence ranks every
    right answer above every wrong one; about the accuracy itself when it ranks at random.
    """
    hits = _by_confidence(confidences, correct)
    if hits.size == 0:
        return float("nan")
    return float((np.cumsum(hits) / np.arange(1, hits.size + 1)).mean())


def softmax_rows(logits: ArrayLike, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``logits / temperature``."""
    z = np.asarray(logits, dtype=float) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    probabilities: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return probabilities


TEMPERATURE_BOUNDS = (0.05, 20.0)


def fit_temperature(logits: ArrayLike, targets: ArrayLike, *, tolerance: float = 1e-12) -> float:
    """Temperature scaling (Guo et al. 2017, sec. 4.2): the T in [0.05, 20] minimising NLL of softmax(logits / T).

    One parameter, so it changes confidence but never the predicted choice. With
    beta = 1 / T the NLL is a log-sum-exp of functions linear in beta, hence convex: its
    derivative g(beta) = mean(E_p[z] - z_target) rises monotonically, with slope
    mean(Var_p[z]). The root of g is found by Newton steps safeguarded by bisection
    (Press et al., Numerical Recipes, "rtsafe"); when g has no root inside the bounds,
    the minimum is at the bound. Tests pin it to scipy's bounded minimiser.
    """
    z = np.asarray(logits, dtype=float)
    y = np.asarray(targets)
    if z.size == 0:
        return 1.0
    z_target = z[np.arange(y.size), y]

    def slope(beta: float) -> tuple[float, float]:
        p = softmax_rows(z, 1.0 / beta)
        expected = (p * z).sum(axis=1)
        return float((expected - z_target).mean()), float(((p * z * z).sum(axis=1) - expected**2).mean())

    low, high = 1.0 / TEMPERATURE_BOUNDS[1], 1.0 / TEMPERATURE_BOUNDS[0]
    if slope(low)[0] >= 0:
        return TEMPERATURE_BOUNDS[1]
    if slope(high)[0] <= 0:
        return TEMPERATURE_BOUNDS[0]
    beta = 1.0
    for _ in range(200):
        gradient, curvature = slope(beta)
        if gradient > 0:
            high = beta
        else:
            low = beta
        newton = beta - gradient / curvature if curvature > 0 else None
        beta_next = newton if newton is not None and low < newton < high else (low + high) / 2
        if abs(beta_next - beta) <= tolerance * beta:
            beta = beta_next
            break
        beta = beta_next
    return float(1.0 / beta)


# --- Bootstrap replicates in one numpy pass ------------------------------------------------
#
# Each ``*_replicates`` function below takes the per-item arrays of its scalar twin above and
# an index matrix ``draws`` of shape (n_boot, n), one bootstrap resample of item indices per
# row, and returns the n_boot values ``scalar(x[draws[r]], ...)`` for r = 0..n_boot-1. They
# are written so that every value equals its scalar twin's bit for bit (not only to rounding):
# each mean that the scalar takes with numpy's pairwise summation is taken here by the same
# numpy reduction over a row of the same length, holding the same numbers in the same order,
# and the sums over bins run bin by bin in the scalar's order. Percentile intervals computed
# from them are therefore those ``harness.stats.bootstrap_interval`` gives with the scalar
# function and the same draws (see ``bootstrap_draws``). Rows are processed in blocks of
# about ``_CHUNK_ELEMENTS`` resampled items, so memory stays bounded for large n.

_CHUNK_ELEMENTS = 1 << 21


def _check_draws(draws: ArrayLike) -> np.ndarray:
    idx = np.asarray(draws)
    if idx.ndim != 2:
        raise ValueError(f"draws must be a 2-D (n_boot, n) matrix of item indices, got shape {idx.shape}")
    if idx.size and not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"draws must hold integer item indices, got dtype {idx.dtype}")
    return idx.astype(np.intp, copy=False)


def _per_row_block(draws: np.ndarray, block: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``block`` applied to consecutive row blocks of ``draws``; NaN for resamples of no item."""
    n_boot, n = draws.shape
    if n == 0 or n_boot == 0:
        return np.full(n_boot, np.nan)
    step = max(1, _CHUNK_ELEMENTS // n)
    return np.concatenate([block(draws[start : start + step]) for start in range(0, n_boot, step)])


def _conf_and_hits(confidences: ArrayLike, correct: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    conf = np.asarray(confidences, dtype=float)
    hits = np.asarray(correct, dtype=float)
    if conf.ndim != 1 or conf.shape != hits.shape:
        raise ValueError("confidences and correct must be 1-D and of the same length")
    return conf, hits


def _sort_keys(values: np.ndarray) -> np.ndarray:
    """Small integer keys that sort (stably) exactly as ``values`` do under np.argsort.

    Equal values share a key (so ties keep their resample order) and NaN sorts last, as in
    numpy's sort; -0.0 and 0.0 are equal. Integers up to int16 use numpy's radix sort, far
    cheaper than a stable sort of floats.
    """
    _, keys = np.unique(values, return_inverse=True)  # NaNs collapse into one last key
    keys = keys.reshape(values.shape)
    dtype = np.int16 if keys.size == 0 or keys.max() <= np.iinfo(np.int16).max else np.int64
    return keys.astype(dtype)


def _equal_width_bin_of(conf: np.ndarray, n_bins: int) -> np.ndarray:
    """Index of the equal-width bin each item falls in, as ``reliability_bins`` assigns them;
    ``n_bins`` for an item in no bin (confidence outside [0, 1] or NaN)."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bin_of = np.full(conf.shape, n_bins, dtype=np.int16 if n_bins < np.iinfo(np.int16).max else np.int64)
    for i in range(n_bins):
        lower, upper = edges[i], edges[i + 1]
        mask = (conf > lower) & (conf <= upper) if i else (conf >= lower) & (conf <= upper)
        bin_of[mask] = i
    return bin_of


def _segment_means(flat: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``flat[s:s + L].mean()`` for each segment, bit for bit: segments of equal length are
    stacked as the rows of one matrix and averaged with numpy's row reduction (the same
    pairwise summation a 1-D mean uses). NaN for empty segments."""
    means = np.full(lengths.shape, np.nan)
    order = np.argsort(lengths, kind="stable")
    sorted_lengths = lengths[order]
    cuts = np.flatnonzero(np.diff(sorted_lengths)) + 1
    for group in np.split(order, cuts):
        length = int(lengths[group[0]]) if group.size else 0
        if length:
            segments = flat[starts[group, None] + np.arange(length)]  # one segment a row
            means[group] = np.add.reduce(segments, axis=1) / length
    return means


def _is_binary(values: np.ndarray) -> bool:
    return bool(np.all((values == 0.0) | (values == 1.0)))


def _equal_width_bin_stats(
    conf: np.ndarray, hits: np.ndarray, bin_of: np.ndarray, n_bins: int, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per resample (row) and equal-width bin: count, mean confidence and accuracy (NaN if empty)."""
    n_rows, n = rows.shape
    bins = bin_of[rows]
    width = n_bins + 1  # the last slot gathers items in no bin
    keys = (np.arange(n_rows)[:, None] * width + bins).ravel()
    counts = np.bincount(keys, minlength=n_rows * width).reshape(n_rows, width)
    starts = (np.cumsum(counts, axis=1) - counts + np.arange(n_rows)[:, None] * n)[:, :n_bins].ravel()
    counts = counts[:, :n_bins]
    lengths = counts.ravel()
    # each bin's items together, in resample order, so that each bin mean adds the scalar's numbers in its order
    by_bin = np.take_along_axis(rows, np.argsort(bins, axis=1, kind="stable"), axis=1).ravel()
    mean_conf = _segment_means(conf[by_bin], starts, lengths).reshape(n_rows, n_bins)
    if _is_binary(hits):  # sums of 0s and 1s are exact in any order
        hit_sums = np.bincount(keys, weights=hits[rows].ravel(), minlength=n_rows * width).reshape(n_rows, width)
        with np.errstate(invalid="ignore", divide="ignore"):
            accuracy = hit_sums[:, :n_bins] / counts
    else:
        accuracy = _segment_means(hits[by_bin], starts, lengths).reshape(n_rows, n_bins)
    return counts, mean_conf, accuracy


def _weighted_gap_sum(counts: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """sum_b (|B_b| / n) * gap_b over non-empty bins, added bin by bin in the scalar's order."""
    total_count = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        weights = counts / total_count[:, None]
    ece = np.zeros(counts.shape[0])
    for b in range(counts.shape[1]):
        ece = np.where(counts[:, b] > 0, ece + weights[:, b] * gaps[:, b], ece)
    return np.where(total_count > 0, ece, np.nan)


def expected_calibration_error_replicates(
    confidences: ArrayLike,
    correct: ArrayLike,
    draws: ArrayLike,
    n_bins: int = 10,
    *,
    equal_mass: bool = False,
) -> np.ndarray:
    """ECE = sum_b (|B_b| / n) * |acc(B_b) - conf(B_b)| (Naeini et al. 2015; Guo et al. 2017)
    of every bootstrap resample ``draws[r]``, as ``expected_calibration_error`` with the same bins.

    Equal-width bins: the first closed [0, 1/n_bins], the others (lower, upper]; items with a
    confidence outside [0, 1] count in no bin. Equal-mass bins: the resample's items in stable
    ascending order of confidence, cut by ``np.array_split`` into ``n_bins`` groups (HELM's
    ``ece_10_bin``). Returns an array of ``len(draws)`` values (NaN for a resample with no
    binned item).
    """
    conf, hits = _conf_and_hits(confidences, correct)
    idx = _check_draws(draws)
    if equal_mass:
        keys = _sort_keys(conf)

        def equal_mass_block(rows: np.ndarray) -> np.ndarray:
            n = rows.shape[1]
            ranked = np.take_along_axis(rows, np.argsort(keys[rows], axis=1, kind="stable"), axis=1)
            conf_sorted, hits_sorted = conf[ranked], hits[ranked]
            ece = np.zeros(rows.shape[0])
            start = 0
            for size in (len(g) for g in np.array_split(np.arange(n), n_bins)):
                if size:
                    stop = start + size
                    gap = np.abs(hits_sorted[:, start:stop].mean(axis=1) - conf_sorted[:, start:stop].mean(axis=1))
                    ece = ece + size / n * gap
                    start = stop
            return ece

        return _per_row_block(idx, equal_mass_block)

    bin_of = _equal_width_bin_of(conf, n_bins)

    def block(rows: np.ndarray) -> np.ndarray:
        counts, mean_conf, accuracy = _equal_width_bin_stats(conf, hits, bin_of, n_bins, rows)
        return _weighted_gap_sum(counts, np.abs(accuracy - mean_conf))

    return _per_row_block(idx, block)


def debiased_calibration_error_replicates(
    confidences: ArrayLike, correct: ArrayLike, draws: ArrayLike, n_bins: int = 10
) -> np.ndarray:
    """The debiased L2 calibration error of Kumar, Liang & Ma (2019),
    sqrt(max(0, sum_b (|B_b| / n) * [(acc_b - conf_b)^2 - acc_b (1 - acc_b) / (|B_b| - 1)])),
    of every bootstrap resample ``draws[r]``, as ``debiased_calibration_error`` (same bins as
    ``expected_calibration_error_replicates``; bins of fewer than two items add nothing). NaN
    for a resample with no binned item.
    """
    conf, hits = _conf_and_hits(confidences, correct)
    idx = _check_draws(draws)
    bin_of = _equal_width_bin_of(conf, n_bins)

    def block(rows: np.ndarray) -> np.ndarray:
        counts, mean_conf, accuracy = _equal_width_bin_stats(conf, hits, bin_of, n_bins, rows)
        gap = accuracy - mean_conf
        with np.errstate(invalid="ignore", divide="ignore"):
            terms = np.where(counts >= 2, gap * gap - accuracy * (1 - accuracy) / (counts - 1), 0.0)
        root: np.ndarray = np.sqrt(np.maximum(_weighted_gap_sum(counts, terms), 0.0))
        return root

    return _per_row_block(idx, block)


def maximum_calibration_error_replicates(
    confidences: ArrayLike, correct: ArrayLike, draws: ArrayLike, n_bins: int = 10
) -> np.ndarray:
    """MCE = max_b |acc(B_b) - conf(B_b)| over non-empty equal-width bins (Naeini et al. 2015)
    of every bootstrap resample ``draws[r]``, as ``maximum_calibration_error`` (same bins as
    ``expected_calibration_error_replicates``). NaN for a resample with no binned item.
    """
    conf, hits = _conf_and_hits(confidences, correct)
    idx = _check_draws(draws)
    bin_of = _equal_width_bin_of(conf, n_bins)

    def block(rows: np.ndarray) -> np.ndarray:
        counts, mean_conf, accuracy = _equal_width_bin_stats(conf, hits, bin_of, n_bins, rows)
        gaps = np.where(counts > 0, np.abs(accuracy - mean_conf), -np.inf)
        mce = gaps.max(axis=1)
        return np.where((counts > 0).any(axis=1), mce, np.nan)

    return _per_row_block(idx, block)


def multiclass_brier_score_replicates(probabilities: ArrayLike, targets: ArrayLike, draws: ArrayLike) -> np.ndarray:
    """Brier (1950) for K classes: mean over items of sum_k (p_k - y_k)^2, of every bootstrap
    resample ``draws[r]`` of the items, as ``multiclass_brier_score``."""
    probs, target = np.asarray(probabilities, dtype=float), np.asarray(targets)
    onehot = np.zeros_like(probs)
    onehot[np.arange(len(target)), target] = 1.0
    per_item = ((probs - onehot) ** 2).sum(axis=1)
    return _per_row_block(_check_draws(draws), lambda rows: per_item[rows].mean(axis=1))


def negative_log_likelihood_replicates(probabilities: ArrayLike, targets: ArrayLike, draws: ArrayLike) -> np.ndarray:
    """Mean of -log p(target), the cross-entropy of the choice distribution, of every bootstrap
    resample ``draws[r]`` of the items, as ``negative_log_likelihood`` (p clipped to [1e-15, 1])."""
    probs, target = np.asarray(probabilities, dtype=float), np.asarray(targets)
    picked = probs[np.arange(len(target)), target]
    log_p = np.log(np.clip(picked, 1e-15, 1.0))
    return _per_row_block(_check_draws(draws), lambda rows: -log_p[rows].mean(axis=1))


def confidence_gap_replicates(confidences: ArrayLike, correct: ArrayLike, draws: ArrayLike) -> np.ndarray:
    """Mean confidence minus accuracy (> 0 overconfident), the signed counterpart of ECE with a
    single bin (Guo et al. 2017, §2), of every bootstrap resample ``draws[r]``, as ``confidence_gap``."""
    conf, hits = _conf_and_hits(confidences, correct)
    return _per_row_block(_check_draws(draws), lambda rows: conf[rows].mean(axis=1) - hits[rows].mean(axis=1))


def coverage_accuracy_auc_replicates(confidences: ArrayLike, correct: ArrayLike, draws: ArrayLike) -> np.ndarray:
    """Area under the coverage-accuracy curve, mean over k = 1..n of the accuracy of the k most
    confident items (1 - AURC of Geifman & El-Yaniv 2017), of every bootstrap resample
    ``draws[r]``, as ``coverage_accuracy_auc``.

    Items are ranked per resample as ``np.argsort(-conf, kind="stable")`` ranks them: by
    descending confidence, tied items (including repeats of one item) in resample order.
    """
    conf, hits = _conf_and_hits(confidences, correct)
    keys = _sort_keys(-conf)

    def block(rows: np.ndarray) -> np.ndarray:
        ranked = hits[np.take_along_axis(rows, np.argsort(keys[rows], axis=1, kind="stable"), axis=1)]
        means: np.ndarray = (np.cumsum(ranked, axis=1) / np.arange(1, rows.shape[1] + 1)).mean(axis=1)
        return means

    return _per_row_block(_check_draws(draws), block)
