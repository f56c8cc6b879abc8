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
