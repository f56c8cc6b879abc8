"""The numbers of one window (or one A/B arm, or one canary phase), each with its n and 95% interval.

Proportions (accuracy, error rate) carry Wilson intervals (``harness.stats``); means
(confidence, satisfaction, latency) Student-t intervals; quantiles (p50, p95 latency)
distribution-free intervals from order statistics. A window's accuracy is tested
against the baseline run's with Fisher's exact test, one-sided, so that both samples'
noise counts.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
from pydantic import BaseModel, ConfigDict

from harness.stats import newcombe_difference_interval, wilson_interval

POWER = 0.8  # the power at which a window's detectable fall is stated


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Proportion(_Out):
    """``k`` of ``n``, as a share with its Wilson (1927) 95% interval; value None when n is 0."""

    k: int
    n: int
    value: float | None
    low: float | None
    high: float | None


class Mean(_Out):
    """A mean of ``n`` values with its Student-t 95% interval (None where n < 2)."""

    n: int
    value: float | None
    low: float | None
    high: float | None


class Quantile(_Out):
    """The ``q`` quantile of ``n`` values, with a distribution-free 95% interval from order statistics.

    A bound the sample is too small to give is None ("not enough data"): the interval of
    the 95th percentile needs its upper order statistic to exist.
    """

    q: float
    n: int
    value: float | None
    low: float | None
    high: float | None


class AccuracyTest(_Out):
    """A window's realised accuracy against the baseline run's: the fall, its interval, the exact test.

    ``fall`` = baseline accuracy - window accuracy; ``fall_low``/``fall_high`` its 95%
    interval (Newcombe 1998, method 10, from the two Wilson intervals); ``p_value``
    Fisher's exact test, one-sided (window below baseline); ``detectable_fall`` the fall
    this window detects with 80% power at the policy's alpha (normal approximation,
    baseline variance used for both samples).
    """

    accuracy: Proportion
    baseline: float
    baseline_n: int
    fall: float | None
    fall_low: float | None
    fall_high: float | None
    p_value: float | None
    significant: bool
    detectable_fall: float | None


def proportion(k: int, n: int) -> Proportion:
    if n <= 0:
        return Proportion(k=0, n=0, value=None, low=None, high=None)
    low, high = wilson_interval(k, n)
    return Proportion(k=int(k), n=int(n), value=k / n, low=low, high=high)


def mean_interval(values: np.ndarray) -> Mean:
    """Mean with the Student-t 95% interval, mean +- t_{0.975, n-1} s / sqrt(n)."""
    values = values[~np.isnan(values)] if values.dtype.kind == "f" else values
    n = int(values.size)
    if n == 0:
        return Mean(n=0, value=None, low=None, high=None)
    mean = float(values.mean())
    if n < 2:
        return Mean(n=n, value=mean, low=None, high=None)
    from scipy.stats import t

    half = float(t.ppf(0.975, n - 1)) * float(values.std(ddof=1)) / math.sqrt(n)
    return Mean(n=n, value=mean, low=mean - half, high=mean + half)


def quantile_interval(values: np.ndarray, q: float, confidence: float = 0.95) -> Quantile:
    """The ``q`` quantile and its distribution-free interval [x_(r), x_(s)].

    With x_(1) <= ... <= x_(n) and B the Binomial(n, q) distribution function,
    P(x_(r) <= xi_q <= x_(s)) = B(s - 1) - B(r - 1) for any continuous distribution
    (Conover 1999, *Practical Nonparametric Statistics*, 3rd ed., sec. 3.2; Hahn & Meeker
    1991, sec. 5.2). r is the largest rank with B(r - 1) <= (1 - confidence) / 2 and s the
    smallest with B(s - 1) >= (1 + confidence) / 2, so the coverage is at least
    ``confidence``; a rank outside 1..n leaves that bound None. The estimate is numpy's
    linear-interpolation percentile.
    """
    n = int(values.size)
    if n == 0:
        return Quantile(q=q, n=0, value=None, low=None, high=None)
    from scipy.stats import binom

    ordered = np.sort(values)
    tail = (1 - confidence) / 2
    r = int(binom.ppf(tail, n, q))  # the smallest x with B(x) >= tail, so B(r - 1) < tail
    s = int(binom.ppf(1 - tail, n, q)) + 1  # the smallest s with B(s - 1) >= 1 - tail
    low = float(ordered[r - 1]) if 1 <= r <= n else None
    high = float(ordered[s - 1]) if 1 <= s <= n else None
    return Quantile(q=q, n=n, value=float(np.percentile(ordered, q * 100)), low=low, high=high)


def fisher_less_p(k: int, n: int, base_k: int, base_n: int) -> float:
    """One-sided p of Fisher's exact test that the window's rate k/n lies below the baseline's.

    Fisher (1935): conditional on the margins, the window's successes follow the
    hypergeometric distribution of k + base_k successes among n + base_n trials, n drawn;
    p = P(X <= k). Equal to ``scipy.stats.fisher_exact([[k, n-k], [base_k, base_n-base_k]],
    alternative="less")`` (a test checks it).
    """
    from scipy.stats import hypergeom

    return float(min(1.0, hypergeom.cdf(k, n + base_n, k + base_k, n)))


def detectable_fall(n: int, baseline: float, base_n: int, alpha: float, power: float = POWER) -> float | None:
    """Smallest fall a one-sided level-``alpha`` test detects with ``power``: (z_{1-a} + z_{power}) sigma.

    sigma^2 = p0 (1 - p0) (1/n + 1/n0), the variance of the difference of two independent
    proportions at the baseline's accuracy p0 (normal approximation; Fleiss, Levin & Paik
    2003, ch. 4). None when n is 0.
    """
    if n <= 0 or base_n <= 0:
        return None
    z = NormalDist().inv_cdf(1 - alpha) + NormalDist().inv_cdf(power)
    return z * math.sqrt(max(baseline * (1 - baseline), 1e-12) * (1 / n + 1 / base_n))


def accuracy_test(k: int, n: int, baseline: float, base_n: int, alpha: float) -> AccuracyTest:
    """The window's k of n correct against the baseline's accuracy measured on ``base_n`` items."""
    accuracy = proportion(k, n)
    base_k = int(round(baseline * base_n))
    if n <= 0:
        return AccuracyTest(
            accuracy=accuracy,
            baseline=baseline,
            baseline_n=base_n,
            fall=None,
            fall_low=None,
            fall_high=None,
            p_value=None,
            significant=False,
            detectable_fall=None,
        )
    assert accuracy.value is not None and accuracy.low is not None and accuracy.high is not None
    base_low, base_high = wilson_interval(base_k, base_n)
    low, high = newcombe_difference_interval(
        (accuracy.value, accuracy.low, accuracy.high), (base_k / base_n, base_low, base_high)
    )
    p = fisher_less_p(k, n, base_k, base_n)
    return AccuracyTest(
        accuracy=accuracy,
        baseline=baseline,
        baseline_n=base_n,
        fall=baseline - accuracy.value,
        fall_low=low,
        fall_high=high,
        p_value=p,
        significant=p < alpha,
        detectable_fall=detectable_fall(n, baseline, base_n, alpha),
    )


def two_proportion_test(k1: int, n1: int, k2: int, n2: int) -> float | None:
    """Two-sided p of the pooled two-proportion z test (the score test; Pearson's chi-square, 1 df, no correction).

    z = (p2 - p1) / sqrt(p (1 - p) (1/n1 + 1/n2)) with p the pooled share (Agresti 2013,
    *Categorical Data Analysis*, sec. 3.1.4). Its size stays near alpha for these sample
    sizes, where Fisher's exact test is conservative and so loses power. None when an
    arm is empty; 1.0 when the pooled share is 0 or 1 (no variation, no evidence).
    """
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (k1 + k2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return 1.0
    z = (k2 / n2 - k1 / n1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return 2 * (1 - NormalDist().cdf(abs(z)))


def two_proportion_power(p1: float, effect: float, n1: int, n2: int, alpha: float) -> float | None:
    """Power of the two-sided pooled z test at level ``alpha`` to detect p2 = p1 + effect (normal approximation).

    Fleiss, Levin & Paik (2003), eq. 4.14 form: power = Phi((|d| - z_{1-a/2} s0) / s1) with
    s0 the standard error under the pooled null and s1 under the alternative.
    """
    if n1 <= 0 or n2 <= 0:
        return None
    p2 = min(max(p1 + effect, 0.0), 1.0)
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    s0 = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    s1 = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    if s1 == 0:
        return None
    z = NormalDist().inv_cdf(1 - alpha / 2)
    return NormalDist().cdf((abs(p2 - p1) - z * s0) / s1)


def difference_interval(first: Proportion, second: Proportion) -> tuple[float | None, float | None]:
    """Newcombe's 95% interval for ``second - first`` of two independent proportions."""
    if first.value is None or second.value is None:
        return (None, None)
    assert first.low is not None and first.high is not None and second.low is not None and second.high is not None
    return newcombe_difference_interval((first.value, first.low, first.high), (second.value, second.low, second.high))


def welch_difference(first: np.ndarray, second: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """Mean of ``second`` - mean of ``first``: Welch's 95% interval and two-sided p (Welch 1947)."""
    if first.size < 2 or second.size < 2 or (np.ptp(first) == 0 and np.ptp(second) == 0):
        return (None, None, None)  # no variation: the t statistic is undefined
    from scipy.stats import ttest_ind

    result = ttest_ind(second, first, equal_var=False)
    interval = result.confidence_interval(0.95)
    p = float(result.pvalue)
    return (float(interval.low), float(interval.high), None if math.isnan(p) else p)
