"""Interval estimates for the metrics the harness reports."""

from __future__ import annotations

import math

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
    return min(1.0, 2 * tail)
