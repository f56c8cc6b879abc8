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
    split Binomial(b + c, 1/2), so p = min(1, 2 * P[X <= min(b, c)]). Computed by
    ``scipy.stats.binomtest(b, b + c, 0.5)``, whose two-sided p for the symmetric null is
    that same sum (scipy evaluates it through the regularised incomplete beta function,
    so 23,000 discordant pairs cost microseconds where summing big-integer binomial
    coefficients took minutes). Returns 1.0 when there is no discordant pair (no
    evidence of any difference).
    """
    b, c = only_first_correct, only_second_correct
    if b < 0 or c < 0:
        raise ValueError("counts of discordant pairs must be non-negative")
    n = b + c
    if n == 0:
        return 1.0
    from scipy.stats import binomtest  # scipy costs about a second to import: only when a test runs

    return float(min(1.0, binomtest(min(b, c), n, 0.5).pvalue))


def holm_adjusted(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (Holm 1979, Scand. J. Statist. 6(2)).

    With the m p-values sorted ascending, p_(1) <= ... <= p_(m), the adjusted value of the
    i-th is max over j <= i of min(1, (m - j + 1) p_(j)); rejecting every hypothesis whose
    adjusted p is below alpha controls the family-wise error rate at alpha under any
    dependence between the tests. Returned in the order given; equal to statsmodels'
    ``multipletests(p, method="holm")[1]`` (a test checks it), without statsmodels'
    three-second import.
    """
    values = np.asarray(p_values, dtype=float)
    if values.ndim != 1:
        raise ValueError("p-values must be a flat sequence")
    if np.isnan(values).any() or ((values < 0) | (values > 1)).any():
        raise ValueError("p-values must lie in [0, 1]")
    m = values.size
    if m == 0:
        return []
    order = np.argsort(values, kind="stable")
    stepped = np.minimum(1.0, (m - np.arange(m)) * values[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(stepped)
    return [float(x) for x in adjusted]


def newcombe_difference_interval(
    first: tuple[float, float, float], second: tuple[float, float, float]
) -> tuple[float, float]:
    """95% interval for ``second - first`` of two independent proportions, from their own intervals.

    Newcombe (1998), "Interval estimation for the difference between independent
    proportions", Statistics in Medicine 17(8), method 10: with each proportion given as
    (estimate, low, high) of its Wilson interval, the difference d = p2 - p1 has
    L = d - sqrt((p2 - l2)^2 + (u1 - p1)^2) and U = d + sqrt((u2 - p2)^2 + (p1 - l1)^2).
    Used when two runs cannot be paired item by item; for runs of the same items it is
    wider than the paired interval (it ignores their positive correlation), so a
    non-inferiority claim resting on it is conservative.
    """
    p1, l1, u1 = first
    p2, l2, u2 = second
    d = p2 - p1
    return (d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2), d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2))


def paired_proportions_interval(only_first: int, only_second: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """95% interval for ``p_second - p_first`` of two proportions measured on the same n items.

    Agresti & Min (2005), "Simple improved confidence intervals for comparing matched
    proportions", Statistics in Medicine 24(5): add 0.5 to each cell of the 2x2 table (so
    n + 2 items), then take the Wald interval, d +- z sqrt((p12 + p21 - d^2) / (n + 2)) with
    p12 = (b + 0.5) / (n + 2), p21 = (c + 0.5) / (n + 2), d = p21 - p12. Unlike a bootstrap
    over the items, which can never resample a loss it did not observe, it stays honest when
    a discordant cell is empty: on 57 items with no discordant pair it still cannot rule
    out a change of three points. Clipped to [-1, 1]; ``(nan, nan)`` for n == 0.
    """
    if n <= 0:
        return (math.nan, math.nan)
    if only_first < 0 or only_second < 0 or only_first + only_second > n:
        raise ValueError(f"discordant counts {only_first} and {only_second} do not fit {n} items")
    total = n + 2
    p12, p21 = (only_first + 0.5) / total, (only_second + 0.5) / total
    d = p21 - p12
    half = z * math.sqrt((p12 + p21 - d * d) / total)
    return (max(-1.0, d - half), min(1.0, d + half))


def non_inferiority_sample_size(
    variance: float, margin: float, *, confidence: float = 0.95, power: float = 0.8
) -> int | None:
    """Items needed for a two-sided ``confidence`` interval of a change to exclude ``-margin`` with ``power``.

    Normal approximation with the true change taken as zero: n = (z_{1-a/2} + z_{power})^2
    * variance / margin^2, where ``variance`` is the variance of one item's contribution to
    the change. For paired proportions it is the discordance rate psi = (b + c) / n, the
    variance of an item's difference (-1, 0 or 1) when the two models are equally good
    (Connor 1987, Biometrics 43(1), "Sample size for testing differences in proportions
    for the paired-sample design"; Nam 1997, Biometrics 53(4), for the non-inferiority
    form); for two independent proportions it is p1 (1 - p1) + p2 (1 - p2) (items per
    run). None when the margin is 0 (only an improvement can exclude a zero margin) or
    nothing varies.
    """
    if margin <= 0 or variance <= 0:
        return None
    from statistics import NormalDist

    z = NormalDist().inv_cdf((1 + confidence) / 2) + NormalDist().inv_cdf(power)
    return math.ceil(z * z * variance / (margin * margin))


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
