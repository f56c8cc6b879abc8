"""The post-market monitoring plan (EU AI Act Art. 72(3), Annex IV point 9) as data, and results a change log joins.

:func:`monitoring_plan` turns a monitoring policy into what the plan must say: the data
collected, the indicators with their method, window, threshold and false-alarm rate,
the rollback triggers, the rollout plan, the A/B rule, who is responsible for what and
how often people review. A dossier section prints it as it is; nothing in it is
invented beyond the policy and the methods harness applies.

:func:`changelog_entries` turns one monitoring report into rows a release change log
joins on ``model`` (the version or fingerprint in the logs) and ``baseline_run_id``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.files.hashing import sha256_file
from harness.monitoring.drift import applicable, per_statistic_level
from harness.monitoring.policy import FEATURES, AlertRule, MonitoringPolicy
from harness.monitoring.results import MONITORING_FILE, MonitoringReport

PLAN_VERSION = "1"

LOG_FIELDS = [
    {"field": "time", "meaning": "when the request was answered (ISO 8601, UTC if no offset)", "required": True},
    {"field": "model", "meaning": "the version or weights fingerprint that answered", "required": True},
    {"field": "input", "meaning": "the request (only its length is kept)", "required": True},
    {"field": "output", "meaning": "the answer (only its category is kept)", "required": False},
    {"field": "category", "meaning": "the decision the answer recommends", "required": False},
    {"field": "confidence", "meaning": "the model's probability for its answer, 0 to 1", "required": False},
    {
        "field": "feedback",
        "meaning": "reviewer verdict (correct), gold decision (label), rating 1-5, complaint",
        "required": False,
    },
    {"field": "latency_ms", "meaning": "time to answer in milliseconds", "required": True},
    {"field": "error", "meaning": "true or an error message when the request failed", "required": False},
]

LABELS = {
    "accuracy_drop": "realised accuracy",
    "mean_confidence": "mean confidence",
    "drift": "drift",
    "error_rate": "error rate",
    "complaints": "complaints",
    "latency_p95": "p95 latency",
}

METHODS = {
    "accuracy_drop": (
        "realised accuracy on requests with feedback, Wilson 95% interval; fall against the baseline run's accuracy "
        "with Newcombe's 95% interval; Fisher's exact test, one-sided"
    ),
    "mean_confidence": "mean of the logged confidences, Student-t 95% interval",
    "drift": (
        "Kolmogorov-Smirnov D, population stability index and Jensen-Shannon distance against the reference "
        "window (numbers through their tie-broken ranks); thresholds from a simulated null: random rank splits for "
        "numbers, the bootstrap of the reference for categories"
    ),
    "error_rate": "share of failed requests, Wilson 95% interval",
    "complaints": "count of complaints in the window",
    "latency_p95": "95th percentile of latency, order-statistic 95% interval",
}


def false_alarm_text(rule: AlertRule, policy: MonitoringPolicy) -> str:
    """How often the rule fires on a window where nothing changed, as far as the method controls it."""
    if rule.kind == "accuracy_drop":
        return f"at most {policy.alpha:g} per window (the exact test's level)"
    if rule.kind == "drift":
        watched = {r.feature for r in policy.rules_of("drift")}
        k = sum(len(applicable(f, policy.drift.statistics)) for f in FEATURES if f in watched)
        return (
            f"all drift rules together at most {policy.drift.false_alarm_rate:g} per window "
            f"(each statistic at {per_statistic_level(policy.drift.false_alarm_rate, k):.4g})"
        )
    return "no statistical control: fires on the observed value, as the methodology's threshold does"


def indicator(rule: AlertRule, policy: MonitoringPolicy) -> dict[str, Any]:
    return {
        "id": rule.id,
        "indicator": LABELS[rule.kind] if rule.feature is None else f"drift of {rule.feature.replace('_', ' ')}",
        "method": METHODS[rule.kind],
        "threshold": rule.describe(),
        "false_alarms": false_alarm_text(rule, policy),
        "action": "roll back" if rule.action == "rollback" else "alert",
        "severity": rule.severity,
        "owner": rule.owner,
        "article": rule.article,
        "why": rule.why,
    }


def monitoring_plan(policy: MonitoringPolicy, policy_path: Path | None = None) -> dict[str, Any]:
    """The Art. 72 post-market monitoring plan of ``policy``, as plain data (JSON-ready)."""
    indicators = [indicator(rule, policy) for rule in policy.alerts]
    canary = [
        {
            "phase": phase.name,
            "traffic": phase.traffic,
            "duration": phase.duration,
            "criteria": [c.describe() for c in phase.criteria],
        }
        for phase in (policy.canary.phases if policy.canary else [])
    ]
    return {
        "plan_version": PLAN_VERSION,
        "article": "EU AI Act Art. 72 (post-market monitoring); Annex IV point 9",
        "policy": {
            "name": policy.name,
            "version": str(policy.version),
            "path": str(policy_path) if policy_path else None,
            "sha256": sha256_file(policy_path) if policy_path else None,
        },
        "data_collected": LOG_FIELDS,
        "baseline_metric": policy.baseline_metric,
        "window": {
            "requests": policy.window.requests,
            "min_requests": policy.window.min_requests,
            "text": f"consecutive windows of {policy.window.requests} requests per model version "
            f"(a window with fewer than {policy.window.min_requests} requests, or labelled requests for accuracy, is "
            "not judged)",
        },
        "drift": {
            "reference": f"the first {policy.drift.reference_windows} window(s) of each model version",
            "statistics": list(policy.drift.statistics),
            "false_alarm_rate": policy.drift.false_alarm_rate,
            "bootstrap": policy.drift.bootstrap,
            "bins": policy.drift.bins,
        },
        "indicators": indicators,
        "rollback_triggers": [i for i in indicators if i["action"] == "roll back"],
        "ab": {
            "primary": "accuracy",
            "test": "two-proportion z test (pooled), two-sided; Newcombe 95% interval of the difference",
            "alpha": policy.ab.alpha,
            "minimum_effect": policy.ab.minimum_effect,
            "rule": f"a winner is named only when the accuracy difference is significant at {policy.ab.alpha:g}",
        },
        "canary": canary,
        "roles": dict(policy.roles),
        "review": policy.review,
    }


def changelog_entries(report: MonitoringReport, folder: Path | None = None) -> list[dict[str, Any]]:
    """One change-log row per model version monitored, joinable on ``model`` and ``baseline_run_id``.

    ``folder``: where monitoring.json lies, to record its SHA-256 (the row then proves
    which results it summarises).
    """
    digest = None
    if folder is not None and (folder / MONITORING_FILE).is_file():
        digest = sha256_file(folder / MONITORING_FILE)
    rows = []
    for stream in report.streams:
        mine = [a for a in report.alerts if a.model == stream.model]
        counts: dict[str, int] = {}
        for alert in mine:
            counts[alert.rule_id] = counts.get(alert.rule_id, 0) + 1
        rollback = [a for a in mine if a.action == "rollback"]
        rows.append(
            {
                "kind": "monitoring",
                "date": report.generated_at,
                "model": stream.model,
                "baseline_run_id": report.baseline.run_id,
                "baseline_fingerprint": report.baseline.fingerprint,
                "period": {"begins": stream.begins, "ends": stream.ends},
                "requests": stream.requests,
                "windows": len(stream.windows),
                "alerts": counts,
                "rollback": bool(rollback),
                "summary": _summary(stream.model, len(stream.windows), counts, rollback, report),
                "policy": f"{report.policy.name} v{report.policy.version}",
                "monitoring_sha256": digest,
            }
        )
    return rows


def _summary(model: str, windows: int, counts: dict[str, int], rollback: list[Any], report: MonitoringReport) -> str:
    if rollback:
        first = rollback[0]
        return f"{model}: rollback trigger {first.rule_id} in window {first.window} ({first.begins}): {first.evidence}"
    if counts:
        listed = ", ".join(f"{rule} x{n}" for rule, n in sorted(counts.items()))
        return f"{model}: {windows} windows monitored; alerts: {listed}; no rollback trigger"
    verdict = f"; A/B: {report.ab.conclusion}" if report.ab is not None else ""
    return f"{model}: {windows} windows monitored, no alert{verdict}"
