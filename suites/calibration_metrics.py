"""Calibration of multiple-choice predictions: pure functions over confidences and outcomes.

Groundwork for the calibration suite: the same item records that give accuracy give
these numbers, with no extra model call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ReliabilityBin:
    lower: float
    upper: float
    count: int
    mean_confidence: float | None
    accuracy: float | None


def reliability_bins(confidences: Sequence[float], correct: Sequence[bool], n_bins: int = 10, *, equal_mass: bool = False) -> list[ReliabilityBin]:
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
            ReliabilityBin(float(conf[g].min()), float(conf[g].max()), int(g.size), float(conf[g].mean()), float(hits[g].mean()))
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
                float(lower), float(upper), count,
                float(conf[mask].mean()) if count else None,
                float(hits[mask].mean()) if count else None,
            )
        )
    return bins


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool], n_bins: int = 10, *, equal_mass: bool = False) -> float:
    """ECE = sum_b (|B_b| / n) * |acc(B_b) - conf(B_b)| (Naeini et al. 2015; Guo et al. 2017)."""
    bins = reliability_bins(confidences, correct, n_bins, equal_mass=equal_mass)
    n = sum(b.count for b in bins)
    if n == 0:
        return float("nan")
    return float(sum(b.count / n * abs(b.accuracy - b.mean_confidence) for b in bins if b.count))


def maximum_calibration_error(confidences: Sequence[float], correct: Sequence[bool], n_bins: int = 10) -> float:
    """MCE = max_b |acc(B_b) - conf(B_b)| over non-empty equal-width bins (Naeini et al. 2015)."""
    gaps = [abs(b.accuracy - b.mean_confidence) for b in reliability_bins(confidences, correct, n_bins) if b.count]
    return float(max(gaps)) if gaps else float("nan")


def multiclass_brier_score(probabilities: Sequence[Sequence[float]], targets: Sequence[int]) -> float:
    """Brier (1950) for K classes: mean over items of sum_k (p_k - y_k)^2."""
    probs = np.asarray(probabilities, dtype=float)
    onehot = np.zeros_like(probs)
    onehot[np.arange(len(targets)), np.asarray(targets)] = 1.0
    return float(((probs - onehot) ** 2).sum(axis=1).mean())


def negative_log_likelihood(probabilities: Sequence[Sequence[float]], targets: Sequence[int]) -> float:
    """Mean of -log p(target), the cross-entropy of the choice distribution."""
    probs = np.asarray(probabilities, dtype=float)
    picked = probs[np.arange(len(targets)), np.asarray(targets)]
    return float(-np.log(np.clip(picked, 1e-15, 1.0)).mean())


def confidence_gap(confidences: Sequence[float], correct: Sequence[bool]) -> float:
    """Mean confidence minus accuracy: > 0 overconfident, < 0 underconfident.

    The signed counterpart of ECE with a single bin (Guo et al. 2017, §2 "over-confidence").
    """
    conf = np.asarray(confidences, dtype=float)
    if conf.size == 0:
        return float("nan")
    return float(conf.mean() - np.asarray(correct, dtype=float).mean())


def _by_confidence(confidences: Sequence[float], correct: Sequence[bool]) -> np.ndarray:
    """Outcomes ordered from the most to the least confident item (stable for ties)."""
    conf = np.asarray(confidences, dtype=float)
    order = np.argsort(-conf, kind="stable")
    return np.asarray(correct, dtype=float)[order]


def selective_accuracy(confidences: Sequence[float], correct: Sequence[bool], coverage: float = 0.1) -> tuple[float, int]:
    """Accuracy on the ``coverage`` share of items the model is most confident about.

    Selective prediction (El-Yaniv & Wiener 2010; HELM reports it at 10% coverage).
    Returns the accuracy and the number of items it covers, ``ceil(coverage * n)``.
    """
    hits = _by_confidence(confidences, correct)
    if hits.size == 0:
        return float("nan"), 0
    k = max(1, int(np.ceil(coverage * hits.size - 1e-9)))
    return float(hits[:k].mean()), k


def coverage_accuracy_auc(confidences: Sequence[float], correct: Sequence[bool]) -> float:
    """Area under the coverage-accuracy curve: mean over k = 1..n of the accuracy of the k most confident items.

    Equals 1 - AURC, the area under the risk-coverage curve of Geifman & El-Yaniv (2017),
    "Selective Classification for Deep Neural Networks". Highest when confidence ranks every
    right answer above every wrong one; about the accuracy itself when it ranks at random.
    """
    hits = _by_confidence(confidences, correct)
    if hits.size == 0:
        return float("nan")
    return float((np.cumsum(hits) / np.arange(1, hits.size + 1)).mean())


def softmax_rows(logits: Sequence[Sequence[float]], temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``logits / temperature``."""
    z = np.asarray(logits, dtype=float) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_temperature(logits: Sequence[Sequence[float]], targets: Sequence[int]) -> float:
    """Temperature scaling (Guo et al. 2017, §4.2): the T > 0 minimising NLL of softmax(logits / T).

    One parameter, so it changes confidence but never the predicted choice. Searched
    over log T in [ln 0.05, ln 20] with scipy's bounded scalar minimiser.
    """
    from scipy.optimize import minimize_scalar

    z = np.asarray(logits, dtype=float)
    y = np.asarray(targets)
    if z.size == 0:
        return 1.0

    def nll(log_t: float) -> float:
        return negative_log_likelihood(softmax_rows(z, float(np.exp(log_t))), y)

    found = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded", options={"xatol": 1e-6})
    return float(np.exp(found.x))
