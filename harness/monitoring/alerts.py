"""The policy's alert and rollback rules applied to one window; each alert says why, in numbers.

- ``accuracy_drop``: the window's realised accuracy is significantly below the baseline
  run's (Fisher's exact test, one-sided, at the policy's alpha) *and* a fall beyond
  ``max_drop`` lies within the fall's 95% interval. Significance keeps a 100-request
  window from alarming on noise; the interval clause keeps a significant but small fall
  (its whole interval below ``max_drop``, possible in large windows) from alarming. Every
  window whose observed fall exceeds ``max_drop`` and is significant alarms.
- ``mean_confidence``: mean confidence above ``max`` (the methodology's 0.95: overconfidence).
- ``drift``: any drift statistic of the feature above its simulated-null threshold.
- ``error_rate``, ``latency_p95``: the window's value above ``max``.
- ``complaints``: more than ``max`` complaints in the window.

A window with fewer requests (labelled requests, for accuracy) than the policy's minimum
is not judged on that rule: it says so instead of alarming on a handful.
"""

from __future__ import annotations

from harness.monitoring.policy import AlertRule
from harness.monitoring.results import AlertEvent, WindowResult


def pct(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}%}"


def interval(low: float | None, high: float | None, digits: int = 1) -> str:
    if low is None or high is None:
        return "interval: not enough data"
    return f"95% CI {pct(low, digits)} to {pct(high, digits)}"


def evaluate_rule(rule: AlertRule, window: WindowResult, min_requests: int, alpha: float) -> str | None:
    """The evidence of the alert ``rule`` raises in ``window``, or None when it does not fire."""
    if rule.kind == "accuracy_drop":
        return _accuracy_drop(rule, window, alpha)
    if rule.kind == "drift":
        return _drift(rule, window)
    if rule.kind == "complaints":
        assert rule.max is not None
        if window.complaints > rule.max:
            return f"{window.complaints} complaints in {window.requests} requests > {rule.max:g}"
        return None
    if window.requests < min_requests:
        return None
    assert rule.max is not None
    if rule.kind == "mean_confidence":
        mean = window.mean_confidence
        if mean.value is not None and mean.n >= min_requests and mean.value > rule.max:
            return (
                f"mean confidence {mean.value:.3f} (95% CI {_num(mean.low)} to {_num(mean.high)}, n = {mean.n}) "
                f"> {rule.max:g}: the model is more certain than the methodology allows"
            )
        return None
    if rule.kind == "error_rate":
        rate = window.error_rate
        if rate.value is not None and rate.value > rule.max:
            return (
                f"error rate {pct(rate.value)} ({rate.k} of {rate.n} requests failed; {interval(rate.low, rate.high)}) "
                f"> {pct(rule.max, 0)}"
            )
        return None
    p95 = window.latency_p95
    if p95.value is not None and p95.value > rule.max:
        bounds = (
            "interval: not enough data"
            if p95.low is None or p95.high is None
            else f"95% CI {p95.low:.0f} to {p95.high:.0f} ms"
        )
        return f"p95 latency {p95.value:.0f} ms ({bounds}, n = {p95.n}) > {rule.max:g} ms"
    return None


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _accuracy_drop(rule: AlertRule, window: WindowResult, alpha: float) -> str | None:
    test = window.accuracy
    assert rule.max_drop is not None
    if test is None or test.fall is None or test.p_value is None or test.fall_high is None:
        return None
    if not (test.significant and test.fall_high > rule.max_drop):
        return None
    observed = "exceeds" if test.fall > rule.max_drop else "is below, but its interval reaches beyond,"
    detectable = (
        f"; a window of {test.accuracy.n} labelled requests detects a fall of {pct(test.detectable_fall)} with 80% power"
        if test.detectable_fall is not None
        else ""
    )
    return (
        f"accuracy {pct(test.accuracy.value)} ({test.accuracy.k} of {test.accuracy.n} labelled; "
        f"{interval(test.accuracy.low, test.accuracy.high)}) against the baseline's {pct(test.baseline)} "
        f"(n = {test.baseline_n}): fall {pct(test.fall)} ({interval(test.fall_low, test.fall_high)}), "
        f"Fisher's exact test one-sided p = {test.p_value:.2g} < {alpha:g}; the fall {observed} the tolerated "
        f"{pct(rule.max_drop, 0)}{detectable}"
    )


def _drift(rule: AlertRule, window: WindowResult) -> str | None:
    for feature in window.drift:
        if feature.feature != rule.feature or not feature.drifted:
            continue
        parts = [
            f"{s.statistic.upper()} {s.value:.3f} > {s.threshold:.3f} (simulated p = {s.p_value:.2g})"
            for s in feature.statistics
            if s.exceeded
        ]
        return f"{rule.feature.replace('_', ' ')} of {feature.n} requests differs from the reference: " + "; ".join(
            parts
        )
    return None


def alert_event(rule: AlertRule, window: WindowResult, model: str, evidence: str) -> AlertEvent:
    return AlertEvent(
        rule_id=rule.id,
        kind=rule.kind,
        action=rule.action,
        severity=rule.severity,
        model=model,
        window=window.index,
        begins=window.begins,
        ends=window.ends,
        article=rule.article,
        owner=rule.owner,
        evidence=evidence,
    )
