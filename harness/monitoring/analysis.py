"""One monitoring analysis: logs, a baseline run and a policy in; a ``MonitoringReport`` out.

Each model version in the logs is a stream of its own, windowed and judged alone (an
A/B split or a canary mixes two). With two versions, the A/B comparison and the canary
plan are judged too. The exit code is 1 when a rollback rule fired or the canary plan
says roll back, else 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from harness import __version__
from harness.errors import InputError
from harness.files.hashing import sha256_file
from harness.monitoring.ab import compare_versions
from harness.monitoring.alerts import alert_event, evaluate_rule
from harness.monitoring.canary import judge_canary
from harness.monitoring.drift import (
    NullCache,
    Reference,
    applicable,
    category_reference,
    grid_size,
    local_codes,
    numeric_reference,
    observe,
    per_statistic_level,
    simulated_p_value,
    size_grid,
)
from harness.monitoring.logs import Requests
from harness.monitoring.measures import accuracy_test, mean_interval, proportion, quantile_interval
from harness.monitoring.plan import monitoring_plan
from harness.monitoring.policy import FEATURES, Feature, MonitoringPolicy
from harness.monitoring.results import (
    AlertEvent,
    BaselineRef,
    DriftMethod,
    DriftStatistic,
    FeatureDrift,
    LogFile,
    MonitoringReport,
    PolicyRef,
    Rollback,
    StreamResult,
    WindowResult,
    WindowSpec,
)
from harness.monitoring.windows import Window, count_windows, describe_duration, iso, time_windows
from harness.schema.results import RunResult

NULL_CAP = 1000  # windows larger than this use the null of this size (conservative: see drift.size_grid)


@dataclass(frozen=True)
class Baseline:
    """The baseline run's accuracy: the value every window is compared with, and the n it rests on."""

    run_id: str
    metric: str
    value: float
    n: int
    ci_low: float | None
    ci_high: float | None
    fingerprint: str
    model: str


def baseline_of(run: RunResult, metric: str) -> Baseline:
    """The baseline metric of a stored run; a metric the run lacks (or never measured) is an InputError."""
    found = run.metric(metric)
    if found is None:
        available = ", ".join(m.name for m in run.summary_metrics() if m.unit == "proportion") or "none"
        raise InputError(
            f"baseline run {run.run_id} has no metric {metric} (its proportions: {available}); "
            "name another with --baseline-metric or evaluate that suite"
        )
    if found.value is None or found.n <= 0:
        raise InputError(f"baseline run {run.run_id}: {metric} was not measured (n = {found.n})")
    if not 0 <= found.value <= 1:
        raise InputError(f"baseline run {run.run_id}: {metric} = {found.value} is not an accuracy in [0, 1]")
    return Baseline(
        run_id=run.run_id,
        metric=metric,
        value=found.value,
        n=found.n,
        ci_low=found.ci_low,
        ci_high=found.ci_high,
        fingerprint=run.model.fingerprint,
        model=run.model.base + (f" + {run.model.adapter}" if run.model.adapter else ""),
    )


def measure_window(requests: Requests, window: Window, baseline: Baseline, policy: MonitoringPolicy) -> WindowResult:
    """A window's numbers: accuracy against the baseline, confidence, errors, latency, complaints, satisfaction."""
    part = requests.take(slice(window.start, window.stop))
    known = part.correct >= 0
    labelled = int(known.sum())
    accuracy = None
    if labelled >= policy.window.min_requests:
        accuracy = accuracy_test(int(part.correct[known].sum()), labelled, baseline.value, baseline.n, policy.alpha)
    confidence = mean_interval(part.confidence)
    gap = None
    if accuracy is not None and accuracy.accuracy.value is not None and confidence.value is not None:
        gap = confidence.value - accuracy.accuracy.value
    ratings = part.rating[part.rating > 0].astype(np.float64)
    return WindowResult(
        index=window.index,
        begins=window.begins,
        ends=window.ends,
        requests=window.size,
        labelled=labelled,
        reference=False,
        accuracy=accuracy,
        mean_confidence=confidence,
        calibration_gap=gap,
        error_rate=proportion(int(part.error.sum()), window.size),
        latency_p50=quantile_interval(part.latency_ms, 0.5),
        latency_p95=quantile_interval(part.latency_ms, 0.95),
        complaints=int(part.complaint.sum()),
        satisfaction=mean_interval(ratings),
    )


def feature_values(requests: Requests, feature: Feature) -> np.ndarray:
    """A feature's values: confidence where logged, input length in characters, output category codes."""
    if feature == "confidence":
        return np.asarray(requests.confidence[~np.isnan(requests.confidence)])
    if feature == "input_length":
        return requests.input_chars.astype(np.float64)
    return requests.category.astype(np.int64)


def drift_features(policy: MonitoringPolicy) -> list[Feature]:
    """The features some drift rule of the policy watches, in the canonical order."""
    watched = {rule.feature for rule in policy.rules_of("drift")}
    return [f for f in FEATURES if f in watched]


def tests_per_window(policy: MonitoringPolicy) -> int:
    return sum(len(applicable(f, policy.drift.statistics)) for f in drift_features(policy))


def judge_drift(
    requests: Requests, windows: list[Window], results: list[WindowResult], policy: MonitoringPolicy, grid: list[int]
) -> list[int]:
    """Fill each later window's drift against the stream's first windows; returns the reference windows' indices."""
    settings = policy.drift
    reference_windows = list(windows[: settings.reference_windows])
    for result in results[: len(reference_windows)]:
        result.reference = True
    features = drift_features(policy)
    if not features or not reference_windows:
        return [w.index for w in reference_windows]
    ref_part = requests.take(slice(reference_windows[0].start, reference_windows[-1].stop))
    level = per_statistic_level(settings.false_alarm_rate, tests_per_window(policy))
    caches: dict[Feature, NullCache | str] = {}
    for feature in features:
        values = feature_values(ref_part, feature)
        if values.size < policy.window.min_requests:
            caches[feature] = f"the reference holds {values.size} values (fewer than {policy.window.min_requests})"
            continue
        reference: Reference = (
            category_reference(feature, values, requests.categories)
            if feature == "output_category"
            else numeric_reference(feature, values, settings.bins)
        )
        caches[feature] = NullCache(reference, settings.statistics, settings.bootstrap, settings.seed)
    for window, result in zip(windows[len(reference_windows) :], results[len(reference_windows) :]):
        part = requests.take(slice(window.start, window.stop))
        for feature in features:
            cache = caches[feature]
            values = feature_values(part, feature)
            if isinstance(cache, str):
                result.drift.append(FeatureDrift(feature=feature, n=int(values.size), tested=False, reason=cache))
                continue
            size = grid_size(int(values.size), grid)
            if size is None:
                reason = f"{values.size} values (fewer than {policy.window.min_requests})"
                result.drift.append(FeatureDrift(feature=feature, n=int(values.size), tested=False, reason=reason))
                continue
            if cache.reference.categorical:
                values = local_codes(cache.reference, values)
            null = cache.null(size)
            stats = []
            seed = settings.seed + 7919 * window.index + FEATURES.index(feature)  # ties broken reproducibly
            for observed in observe(cache.reference, values, settings.statistics, seed=seed):
                cut = cache.threshold(size, observed.statistic, level)
                stats.append(
                    DriftStatistic(
                        statistic=observed.statistic,
                        value=observed.value,
                        threshold=cut,
                        exceeded=observed.value > cut,
                        p_value=simulated_p_value(null[observed.statistic], observed.value),
                        ks_p_value=observed.ks_p_value,
                        null_size=size,
                    )
                )
            result.drift.append(FeatureDrift(feature=feature, n=int(values.size), tested=True, statistics=stats))
    return [w.index for w in reference_windows]


def analyse_stream(
    requests: Requests,
    model: str,
    total: int,
    baseline: Baseline,
    policy: MonitoringPolicy,
    window_seconds: float | None,
    window_requests: int,
) -> tuple[StreamResult, list[AlertEvent]]:
    """One model's requests: windows, their measures, drift against the first windows, and the alerts raised."""
    windows = (
        time_windows(requests.time_ms, window_seconds)
        if window_seconds is not None
        else count_windows(requests.time_ms, window_requests)
    )
    results = [measure_window(requests, w, baseline, policy) for w in windows]
    grid = size_grid(window_requests, policy.window.min_requests, max(NULL_CAP, window_requests))
    reference = judge_drift(requests, windows, results, policy, grid)
    alerts: list[AlertEvent] = []
    for result in results:
        for rule in policy.alerts:
            evidence = evaluate_rule(rule, result, policy.window.min_requests, policy.alpha)
            if evidence is not None:
                result.alerts.append(rule.id)
                alerts.append(alert_event(rule, result, model, evidence))
    stream = StreamResult(
        model=model,
        requests=len(requests),
        share=len(requests) / total,
        begins=iso(requests.time_ms[0]),
        ends=iso(requests.time_ms[-1]),
        reference_windows=reference,
        windows=results,
    )
    return stream, alerts


def pick_versions(requests: Requests, candidate: str | None, incumbent: str | None) -> tuple[str | None, str | None]:
    """(incumbent, candidate) among the logs' models; (None, None) for one model without --candidate.

    With two models the candidate is the one named, else the one that started last (a
    canary starts after the version it replaces); when both started within an hour of
    each other, the one with fewer requests (a canary serves the smaller share), then the
    later name.
    """
    models = list(requests.models)
    shown = ", ".join(models)
    for name, option in ((candidate, "--candidate"), (incumbent, "--incumbent")):
        if name is not None and name not in models:
            raise InputError(f"{option} {name} is not a model in the logs (they hold: {shown})")
    if candidate is not None and candidate == incumbent:
        raise InputError("--candidate and --incumbent name the same model")
    if len(models) == 1:
        if incumbent is not None:
            raise InputError(f"--incumbent needs a second model in the logs (they hold only {shown})")
        return (None, candidate)
    if len(models) > 2 and (candidate is None or incumbent is None):
        raise InputError(
            f"the logs hold {len(models)} models ({shown}); name the two to compare with --candidate and --incumbent"
        )
    if candidate is None:
        candidate = _newest(requests, [m for m in models if m != incumbent])
    if incumbent is None:
        incumbent = next(m for m in models if m != candidate)
    return (incumbent, candidate)


def _newest(requests: Requests, names: list[str]) -> str:
    """The version that started last; of versions that started within an hour of it, the one with fewer requests."""
    first: dict[str, int] = {}
    count: dict[str, int] = {}
    for name in names:
        mask = requests.model == requests.models.index(name)
        first[name], count[name] = int(requests.time_ms[mask][0]), int(mask.sum())
    latest = max(first.values())
    close = [name for name in names if latest - first[name] < 3_600_000]
    return max(close, key=lambda name: (-count[name], name))


def analyse(
    requests: Requests,
    *,
    policy: MonitoringPolicy,
    policy_path: Path,
    baseline_run: RunResult,
    baseline_metric: str | None = None,
    window_requests: int | None = None,
    window_seconds: float | None = None,
    candidate: str | None = None,
    incumbent: str | None = None,
    generated_at: datetime | None = None,
) -> MonitoringReport:
    """The whole analysis of ``requests`` under ``policy`` against the baseline run (see the module docstring)."""
    baseline = baseline_of(baseline_run, baseline_metric or policy.baseline_metric)
    size = window_requests or policy.window.requests
    incumbent, candidate = pick_versions(requests, candidate, incumbent)
    order = [m for m in (incumbent, candidate) if m is not None]
    order += [m for m in requests.models if m not in order]
    streams: list[StreamResult] = []
    alerts: list[AlertEvent] = []
    for model in order:
        stream, raised = analyse_stream(
            requests.of_model(model), model, len(requests), baseline, policy, window_seconds, size
        )
        streams.append(stream)
        alerts.extend(raised)
    ab = None
    if incumbent is not None and candidate is not None:
        ab = compare_versions(requests, incumbent, candidate, policy)
    canary = None
    if candidate is not None and policy.canary is not None:
        canary = judge_canary(requests, candidate, incumbent, policy, [a for a in alerts if a.model == candidate])
    rollback = _rollback(alerts)
    if canary is not None and canary.recommendation == "roll back" and not rollback.triggered:
        rollback = Rollback(triggered=True, reasons=[f"canary plan: {reason}" for reason in canary.reasons])
    recommendation = (
        "roll back" if rollback.triggered else canary.recommendation if canary is not None else "keep serving"
    )
    k = tests_per_window(policy)
    level = per_statistic_level(policy.drift.false_alarm_rate, k)
    window_kind = "time" if window_seconds is not None else "requests"
    return MonitoringReport(
        generated_at=(generated_at or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        harness_version=__version__,
        logs=[LogFile(path=s.path, sha256=s.sha256, lines=s.lines, requests=s.requests) for s in requests.sources],
        policy=PolicyRef(
            name=policy.name, version=str(policy.version), path=str(policy_path), sha256=sha256_file(policy_path)
        ),
        baseline=BaselineRef(
            run_id=baseline.run_id,
            metric=baseline.metric,
            value=baseline.value,
            n=baseline.n,
            ci_low=baseline.ci_low,
            ci_high=baseline.ci_high,
            fingerprint=baseline.fingerprint,
            model=baseline.model,
        ),
        window=WindowSpec(
            kind=window_kind,
            requests=None if window_seconds is not None else size,
            seconds=window_seconds,
            description=policy.window_description(window_seconds) if window_seconds else f"{size} consecutive requests",
            min_requests=policy.window.min_requests,
        ),
        alpha=policy.alpha,
        drift_method=DriftMethod(
            reference=f"the first {policy.drift.reference_windows} window(s) of each model version",
            false_alarm_rate=policy.drift.false_alarm_rate,
            tests_per_window=k,
            level_per_statistic=level,
            replicates=policy.drift.bootstrap,
            bins=policy.drift.bins,
            statement=drift_statement(policy, k, level, window_seconds),
        ),
        streams=streams,
        alerts=alerts,
        ab=ab,
        canary=canary,
        rollback=rollback,
        recommendation=recommendation,
        exit_code=1 if rollback.triggered else 0,
        rules=list(policy.alerts),
        plan=monitoring_plan(policy, policy_path),
    )


def drift_statement(policy: MonitoringPolicy, k: int, level: float, window_seconds: float | None) -> str:
    """The false-alarm guarantee in words, for the report and the plan."""
    span = describe_duration(window_seconds) if window_seconds else f"{policy.window.requests} requests"
    return (
        f"Each of the {k} drift statistics of a window alarms above the 1 - {level:.4g} quantile of its simulated "
        f"null ({policy.drift.bootstrap:,} replicates: random rank splits for numbers, the bootstrap of the "
        f"reference for categories), so a window of {span} without "
        f"drift raises a drift alert with probability at most {policy.drift.false_alarm_rate:g} (Bonferroni over "
        f"the {k} statistics). The rate is per window, not per log: over W windows expect at most "
        f"{policy.drift.false_alarm_rate:g} x W false drift alerts."
    )


def _rollback(alerts: list[AlertEvent]) -> Rollback:
    reasons = [
        f"{a.model}, window {a.window} ({a.begins} to {a.ends}): {a.evidence} [rule {a.rule_id}, {a.article}]"
        for a in alerts
        if a.action == "rollback"
    ]
    return Rollback(triggered=bool(reasons), reasons=reasons)
