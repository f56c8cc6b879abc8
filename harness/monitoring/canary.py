"""The canary plan: which rollout phase the logs are in, whether its criteria hold, advance, hold or roll back.

The policy's phases (the methodology's: 5% of traffic for 24 h with error rate < 1% and
latency < 2 s; 50% for 7 days with satisfaction > 4/5; then 100%) are matched to the
logs by the new version's share of requests per time bucket (``canary.bucket``, 1 h):
each bucket takes the phase whose traffic share is nearest on a log scale ("not started"
while the new version serves nothing), a bucket with too few requests keeps the phase
before it, as does a bucket where the new version served nothing but its phase's share
would leave it without a request more often than 1 in 100, and the current phase is the
last run of buckets.

Each criterion of the current phase is judged on the new version's requests since the
phase began, by its 95% interval: it *holds* when the whole interval lies on the right
side of the bound, *fails* when the whole interval lies on the wrong side, and is *not
enough data yet* otherwise (error rate: Wilson; p95 latency: order-statistic interval;
satisfaction: Student-t on the ratings). The recommendation is *roll back* when a
criterion fails or a rollback rule fired for the new version; *advance* when the phase
has lasted its duration and every criterion holds; *hold* otherwise, saying what is
missing.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np

from harness.monitoring.logs import Requests
from harness.monitoring.measures import mean_interval, proportion, quantile_interval
from harness.monitoring.policy import CanarySettings, Criterion, MonitoringPolicy, Phase
from harness.monitoring.results import AlertEvent, CanaryResult, CriterionResult, PhaseSpan, Recommendation
from harness.monitoring.windows import iso, parse_duration, time_windows

NOT_STARTED = "not started"


def phase_of_share(share: float, phases: list[Phase]) -> str:
    """The phase whose traffic share is nearest ``share`` on a log scale; "not started" when the share is 0.

    Phases are multiplicative steps (5%, 50%, 100%), so nearness is the ratio: a bucket
    where a 5% canary happened to get 1.9% of the requests is still the canary, not
    "not started" (the linear distance would call it that).
    """
    if share <= 0 or not phases:
        return NOT_STARTED
    return min(phases, key=lambda p: abs(math.log(p.traffic / share))).name


def timeline(requests: Requests, candidate_code: int, settings: CanarySettings) -> list[PhaseSpan]:
    """The logs as consecutive phases, from the new version's share per bucket."""
    buckets = time_windows(requests.time_ms, parse_duration(settings.bucket, "canary.bucket"))
    spans: list[PhaseSpan] = []
    counts: list[tuple[int, int]] = []  # (requests, candidate requests) of each span
    previous: str | None = None
    for bucket in buckets:
        served = requests.model[bucket.start : bucket.stop]
        n, mine = int(served.size), int(np.count_nonzero(served == candidate_code))
        phase = phase_of_share(mine / n, settings.phases)
        if previous is not None and (
            n < settings.min_bucket_requests or (mine == 0 and _silence_is_chance(previous, n, settings.phases))
        ):
            phase = previous
        begins = iso(requests.time_ms[bucket.start])
        ends = iso(requests.time_ms[bucket.stop - 1])
        if spans and spans[-1].phase == phase:
            total, cand = counts[-1][0] + n, counts[-1][1] + mine
            counts[-1] = (total, cand)
            last = spans[-1]
            spans[-1] = last.model_copy(update={"ends": ends, "requests": total, "share": cand / total})
        else:
            spans.append(PhaseSpan(phase=phase, begins=begins, ends=ends, hours=0.0, share=mine / n, requests=n))
            counts.append((n, mine))
        previous = phase
    return [_with_hours(span) for span in spans]


def _silence_is_chance(phase: str, n: int, phases: list[Phase]) -> bool:
    """Whether ``phase``'s traffic share leaves the new version without one of ``n`` requests with probability > 0.01."""
    share = next((p.traffic for p in phases if p.name == phase), 0.0)
    return 0 < share < 1 and (1 - share) ** n > 0.01


def _with_hours(span: PhaseSpan) -> PhaseSpan:
    seconds = (_parse(span.ends) - _parse(span.begins)).total_seconds()
    return span.model_copy(update={"hours": seconds / 3600})


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def judge_criterion(criterion: Criterion, phase: str, requests: Requests) -> CriterionResult:
    """One criterion on the new version's requests of the phase, judged by its 95% interval."""
    bound = criterion.max if criterion.max is not None else criterion.min
    assert bound is not None
    if criterion.metric in ("error_rate", "accuracy"):
        if criterion.metric == "error_rate":
            measured = proportion(int(requests.error.sum()), len(requests))
            what = f"{measured.k} of {measured.n} requests failed"
        else:
            known = requests.correct >= 0
            measured = proportion(int(requests.correct[known].sum()), int(known.sum()))
            what = f"{measured.k} of {measured.n} labelled requests correct"
        value, low, high, n = measured.value, measured.low, measured.high, measured.n
        shown = f"{'-' if value is None else f'{value:.2%}'} ({what}"
        fmt = "{:.2%}"
    elif criterion.metric == "latency_p95":
        q = quantile_interval(requests.latency_ms, 0.95)
        value, low, high, n = q.value, q.low, q.high, q.n
        shown = f"{'-' if value is None else f'{value:.0f} ms'} (n = {n}"
        fmt = "{:.0f} ms"
    else:
        ratings = requests.rating[requests.rating > 0].astype(np.float64)
        m = mean_interval(ratings)
        value, low, high, n = m.value, m.low, m.high, m.n
        shown = f"{'-' if value is None else f'{value:.2f}'} (mean of {n} ratings"
        fmt = "{:.2f}"
    status = _status(criterion, low, high)
    bounds = (
        "interval: not enough data"
        if low is None or high is None
        else f"95% CI {fmt.format(low)} to {fmt.format(high)}"
    )
    return CriterionResult(
        phase=phase,
        metric=criterion.metric,
        bound=criterion.describe(),
        value=value,
        low=low,
        high=high,
        n=n,
        status=status,
        evidence=f"{criterion.metric.replace('_', ' ')} {shown}; {bounds}): {status} against {criterion.describe()}",
    )


def _status(criterion: Criterion, low: float | None, high: float | None) -> str:
    if criterion.max is not None:
        if high is not None and high < criterion.max:
            return "holds"
        if low is not None and low > criterion.max:
            return "fails"
    elif criterion.min is not None:
        if low is not None and low > criterion.min:
            return "holds"
        if high is not None and high < criterion.min:
            return "fails"
    return "not enough data yet"


def judge_canary(
    requests: Requests,
    candidate: str,
    incumbent: str | None,
    policy: MonitoringPolicy,
    candidate_alerts: list[AlertEvent],
) -> CanaryResult:
    """Place the logs in the policy's rollout plan and recommend advance, hold or roll back."""
    settings = policy.canary
    assert settings is not None
    code = requests.models.index(candidate)
    spans = timeline(requests, code, settings)
    current = spans[-1]
    phases = {p.name: p for p in settings.phases}
    phase = phases.get(current.phase)
    index = settings.phases.index(phase) if phase is not None else -1
    next_phase = settings.phases[index + 1].name if index + 1 < len(settings.phases) else None
    began_ms = int(_parse(current.begins).timestamp() * 1000)
    since = requests.take((requests.time_ms >= began_ms) & (requests.model == code))
    elapsed = (int(requests.time_ms[-1]) - began_ms) / 3_600_000
    required = None if phase is None or phase.seconds is None else phase.seconds / 3600
    criteria = [judge_criterion(c, current.phase, since) for c in (phase.criteria if phase else [])]
    rollbacks = [a for a in candidate_alerts if a.action == "rollback"]
    failed = [c for c in criteria if c.status == "fails"]
    undecided = [c for c in criteria if c.status == "not enough data yet"]
    reasons: list[str] = []
    recommendation: Recommendation
    if rollbacks or failed:
        recommendation = "roll back"
        reasons += [f"rollback rule {a.rule_id} fired in window {a.window}: {a.evidence}" for a in rollbacks]
        reasons += [f"criterion failed: {c.evidence}" for c in failed]
    elif phase is None:
        recommendation = "hold"
        reasons.append(f"{candidate} serves almost none of the latest traffic ({current.share:.1%}): no phase to judge")
    elif next_phase is None:
        recommendation = "hold"
        reasons.append(f"{phase.name} is the plan's last phase: nothing to advance to; the rollback rules stay armed")
    else:
        if required is not None and elapsed < required:
            reasons.append(f"{phase.name} has run {elapsed:.1f} h of its {required:.0f} h")
        reasons += [f"not decided yet: {c.evidence}" for c in undecided]
        if reasons:
            recommendation = "hold"
        else:
            recommendation = "advance"
            reasons.append(
                f"every criterion of {phase.name} holds after {elapsed:.1f} h: advance to {next_phase} "
                f"({settings.phases[index + 1].traffic:.0%} of traffic)"
            )
    return CanaryResult(
        candidate=candidate,
        incumbent=incumbent,
        phase=current.phase,
        phase_traffic=phase.traffic if phase else 0.0,
        observed_share=current.share,
        began=current.begins,
        elapsed_hours=elapsed,
        required_hours=required,
        next_phase=next_phase,
        timeline=spans,
        criteria=criteria,
        recommendation=recommendation,
        reasons=reasons,
    )
