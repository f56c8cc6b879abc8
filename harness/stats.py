"""Interval estimates for the metrics the harness reports."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

Z_95 = 1.959963984540054  # two-sided 95% quantile of the standard normal


def wilson_interval(successes: float, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    Wilson, E. B. (1927), "Probable inference, the law of succession, and statistical
    inference", JASA 22(158). Preferred over the normal (Wald) interval because it stays
    inside [0, 1] and keeps its coverage for small n and proportions near 0 or 1
    (Brown, Cai & DasGupta 2001). Returns ``(nan, nan)`` when ``n == 0``.
    """
    if n <= 0:
        return (math.nan, math.nan)
    if not 0 <= successes <= n:
        raise ValueError(f"successes must lie in [0, n], got {successes} of {n}")
    p = successes / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def mcnemar_exact_p_value(only_first_correct: int, only_second_correct: int) -> float:
    """Two-sided exact McNemar test for paired correctness.

    McNemar (1947), Psychometrika 12(2); exact form: under H0 the discordant pairs
    split Binomial(b + c, 1/2), so p = min(1, 2 * P[X <= min(b, c)]). Returns 1.0 when
    there is no discordant pair (no evidence of any difference).
    """
    b, c = only_first_correct, only_second_correct
    if b < 0 or c < 0:
        raise ValueError("counts of discordant pairs must be non-negative")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2**n
    return float(min(1.0, 2 * tail))


DEFAULT_BOOTSTRAP = 1000


def bootstrap_draws(n: int, n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0) -> np.ndarray:
    """The (n_boot, n) matrix of item indices resampled with replacement, row r being the r-th resample.

    One ``default_rng(seed).integers(0, n, size=(n_boot, n))`` call: the same numbers, in
    the same order, as drawing one resample at a time. For n <= 0 the matrix has no columns.
    """
    if n_boot < 0:
        raise ValueError(f"n_boot must be >= 0, got {n_boot}")
    if n <= 0:
        return np.zeros((n_boot, 0), dtype=np.int64)
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def percentile_interval(replicates: np.ndarray | Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates (Efron & Tibshirani 1993, ch. 13).

    NaN replicates (e.g. an empty group in a resample) are dropped; ``(nan, nan)`` when
    none is left, else the (1 - confidence) / 2 and (1 + confidence) / 2 percentiles
    (numpy's default linear interpolation).
    """
    values = np.asarray(replicates, dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return (math.nan, math.nan)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return (float(low), float(high))


def bootstrap_interval(
    statistic: Callable[[np.ndarray], float],
    n: int,
    *,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(indices)`` over ``n`` resampled items.

    Efron & Tibshirani (1993), *An Introduction to the Bootstrap*, ch. 13. ``statistic``
    receives an array of item indices drawn with replacement and returns the statistic
    of that resample; passing indices (not data) keeps paired data paired. Statistics
    that can be computed for all resamples at once should use :func:`bootstrap_draws`
    and :func:`percentile_interval` directly (same draws, same interval).
    Returns ``(nan, nan)`` for n == 0.
    """
    if n <= 0:
        return (math.nan, math.nan)
    draws = bootstrap_draws(n, n_boot, seed)
    return percentile_interval(np.array([statistic(row) for row in draws], dtype=float), confidence)


def paired_difference_interval(
    reference: Sequence[bool],
    candidate: Sequence[bool],
    *,
    n_boot: int = 4000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Paired-bootstrap interval for ``mean(candidate) - mean(reference)`` on the same items.

    Resampling items with replacement only moves counts between the four cells of the
    2x2 table (both right, only reference right, only candidate right, both wrong), so the
    item bootstrap is drawn exactly, and cheaply, as a multinomial over those cells
    (Efron & Tibshirani 1993, ch. 6; the same table McNemar's test reads).
    """
    ref = np.asarray(reference, dtype=bool)
    cand = np.asarray(candidate, dtype=bool)
    if ref.shape != cand.shape:
        raise ValueError("paired samples must have the same length")
    n = ref.size
    if n == 0:
        return (math.nan, math.nan)
    only_ref = int((ref & ~cand).sum())
    only_cand = int((~ref & cand).sum())
    rng = np.random.default_rng(seed)
    cells = rng.multinomial(n, [only_ref / n, only_cand / n, (n - only_ref - only_cand) / n], size=n_boot)
    diffs = (cells[:, 1] - cells[:, 0]) / n
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail])
    return (float(low), float(high))
