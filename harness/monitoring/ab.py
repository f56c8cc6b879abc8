"""Live A/B: two versions under a traffic split, compared on the requests of the span both served.

The primary comparison is accuracy (on requests with feedback): the difference with
Newcombe's 95% interval and the two-sided pooled two-proportion z test. A winner is named
only when that test is significant at the policy's alpha; otherwise the result is "no
significant difference", with the power the test had to detect the policy's minimum
effect, so a reader can tell "no difference" from "too little data". Error rate
(Newcombe, z test), mean latency and mean satisfaction (Welch's t) are reported as
secondary differences: not corrected for multiplicity and never used to name a winner.
"""

from __future__ import annotations

import numpy as np

from harness.monitoring.logs import Requests
from harness.monitoring.measures import (
    Mean,
    Proportion,
    difference_interval,
    mean_interval,
    proportion,
    quantile_interval,
    two_proportion_power,
    two_proportion_test,
    welch_difference,
)
from harness.monitoring.policy import MonitoringPolicy
from harness.monitoring.results import ABResult, ArmSummary, Difference
from harness.monitoring.windows import iso

Z_TEST = "two-proportion z test (pooled), two-sided"
WELCH = "Welch's t test, two-sided"


def arm_summary(requests: Requests, model: str) -> ArmSummary:
    known = requests.correct >= 0
    return ArmSummary(
        model=model,
        requests=len(requests),
        accuracy=proportion(int(requests.correct[known].sum()), int(known.sum())),
        error_rate=proportion(int(requests.error.sum()), len(requests)),
        latency_ms=mean_interval(requests.latency_ms),
        latency_p95=quantile_interval(requests.latency_ms, 0.95),
        satisfaction=mean_interval(requests.rating[requests.rating > 0].astype(np.float64)),
    )


def proportion_difference(metric: str, first: Proportion, second: Proportion, *, primary: bool) -> Difference:
    low, high = difference_interval(first, second)
    diff = None if first.value is None or second.value is None else second.value - first.value
    return Difference(
        metric=metric,
        incumbent=first.value,
        candidate=second.value,
        difference=diff,
        low=low,
        high=high,
        p_value=two_proportion_test(first.k, first.n, second.k, second.n),
        test=Z_TEST,
        primary=primary,
    )


def mean_difference(metric: str, first: np.ndarray, second: np.ndarray, a: Mean, b: Mean) -> Difference:
    low, high, p = welch_difference(first, second)
    diff = None if a.value is None or b.value is None else b.value - a.value
    return Difference(
        metric=metric,
        incumbent=a.value,
        candidate=b.value,
        difference=diff,
        low=low,
        high=high,
        p_value=p,
        test=WELCH,
        primary=False,
    )


def compare_versions(requests: Requests, incumbent: str, candidate: str, policy: MonitoringPolicy) -> ABResult | None:
    """The A/B comparison over the span both versions served; None when they never served together."""
    inc_mask = requests.model == requests.models.index(incumbent)
    cand_mask = requests.model == requests.models.index(candidate)
    start = max(int(requests.time_ms[inc_mask][0]), int(requests.time_ms[cand_mask][0]))
    stop = min(int(requests.time_ms[inc_mask][-1]), int(requests.time_ms[cand_mask][-1]))
    if start > stop:
        return None
    span = (requests.time_ms >= start) & (requests.time_ms <= stop)
    inc, cand = requests.take(span & inc_mask), requests.take(span & cand_mask)
    arms = [arm_summary(inc, incumbent), arm_summary(cand, candidate)]
    accuracy = proportion_difference("accuracy", arms[0].accuracy, arms[1].accuracy, primary=True)
    differences = [
        accuracy,
        proportion_difference("error rate", arms[0].error_rate, arms[1].error_rate, primary=False),
        mean_difference("latency (ms, mean)", inc.latency_ms, cand.latency_ms, arms[0].latency_ms, arms[1].latency_ms),
        mean_difference(
            "satisfaction (rating 1-5, mean)",
            inc.rating[inc.rating > 0].astype(np.float64),
            cand.rating[cand.rating > 0].astype(np.float64),
            arms[0].satisfaction,
            arms[1].satisfaction,
        ),
    ]
    settings = policy.ab
    power = None
    if arms[0].accuracy.value is not None:
        power = two_proportion_power(
            arms[0].accuracy.value, settings.minimum_effect, arms[0].accuracy.n, arms[1].accuracy.n, settings.alpha
        )
    winner = None
    if accuracy.p_value is not None and accuracy.difference is not None and accuracy.p_value < settings.alpha:
        winner = candidate if accuracy.difference > 0 else incumbent
    return ABResult(
        incumbent=incumbent,
        candidate=candidate,
        begins=iso(start),
        ends=iso(stop),
        candidate_share=len(cand) / max(1, len(cand) + len(inc)),
        arms=arms,
        differences=differences,
        alpha=settings.alpha,
        minimum_effect=settings.minimum_effect,
        power=power,
        winner=winner,
        conclusion=conclusion(accuracy, winner, power, settings.alpha, settings.minimum_effect),
    )


def conclusion(accuracy: Difference, winner: str | None, power: float | None, alpha: float, effect: float) -> str:
    """The A/B verdict in one sentence, with the evidence it rests on."""
    if accuracy.difference is None or accuracy.p_value is None:
        return "no comparison: an arm has no request with feedback"
    bounds = (
        f"95% CI {accuracy.low:+.1%} to {accuracy.high:+.1%}"
        if accuracy.low is not None and accuracy.high is not None
        else "no interval"
    )
    evidence = f"accuracy difference {signed_pct(accuracy.difference)} ({bounds}), p = {accuracy.p_value:.2g}"
    if winner is not None:
        return f"{winner} wins: {evidence} < alpha {alpha:g}"
    power_text = (
        f"; the test had {power_text_of(power)} power to detect a difference of {effect:.0%}"
        if power is not None
        else ""
    )
    return f"no significant difference: {evidence} >= alpha {alpha:g}{power_text}"


def power_text_of(power: float) -> str:
    """A power as a percentage that never rounds up to a certainty: 0.9997 reads "> 99.9%", not "100%"."""
    return "> 99.9%" if power > 0.999 else f"{power:.1%}"


def signed_pct(value: float) -> str:
    """A signed difference in percent without a negative zero: -0.0004 reads "0.0%", not "-0.0%"."""
    text = f"{value:+.1%}"
    return "0.0%" if text in ("+0.0%", "-0.0%") else text
