"""What ``harness monitor`` writes: monitoring.json, a versioned schema (``MONITORING_SCHEMA_VERSION``).

Every number carries its n and, where it is estimated, its 95% interval; every alert its
rule, article, owner and evidence in words. Readers (the dossier's Art. 72 section, the
change log, the service) load it with :func:`load_monitoring_results`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import InputError
from harness.monitoring.measures import AccuracyTest, Mean, Proportion, Quantile
from harness.monitoring.policy import AlertRule, Feature, Statistic

MONITORING_SCHEMA_VERSION: Literal["1"] = "1"
MONITORING_FILE = "monitoring.json"
Recommendation = Literal["advance", "hold", "roll back"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LogFile(_Out):
    path: str
    sha256: str
    lines: int
    requests: int


class PolicyRef(_Out):
    name: str
    version: str
    path: str
    sha256: str


class BaselineRef(_Out):
    run_id: str
    metric: str
    value: float
    n: int
    ci_low: float | None
    ci_high: float | None
    fingerprint: str
    model: str


class WindowSpec(_Out):
    kind: Literal["requests", "time"]
    requests: int | None = None
    seconds: float | None = None
    description: str
    min_requests: int


class DriftMethod(_Out):
    """How the drift thresholds were set, and the false-alarm rate they guarantee."""

    reference: str
    false_alarm_rate: float = Field(description="per window, over all its drift statistics")
    tests_per_window: int
    level_per_statistic: float
    replicates: int
    bins: int
    statement: str


class DriftStatistic(_Out):
    statistic: Statistic
    value: float
    threshold: float
    exceeded: bool
    p_value: float = Field(description="Monte Carlo p-value against the simulated null of this window size")
    ks_p_value: float | None = Field(default=None, description="scipy's KS p-value (KS only), for reference")
    null_size: int = Field(description="the window size whose null gave the threshold")


class FeatureDrift(_Out):
    feature: Feature
    n: int
    tested: bool
    reason: str | None = None
    statistics: list[DriftStatistic] = Field(default_factory=list)

    @property
    def drifted(self) -> bool:
        return any(s.exceeded for s in self.statistics)


class WindowResult(_Out):
    index: int
    begins: str
    ends: str
    requests: int
    labelled: int
    reference: bool = Field(description="part of the drift reference (not itself tested for drift)")
    accuracy: AccuracyTest | None = Field(description="None when fewer labelled requests than the policy's minimum")
    mean_confidence: Mean
    calibration_gap: float | None = Field(description="mean confidence - realised accuracy (positive: overconfident)")
    error_rate: Proportion
    latency_p50: Quantile
    latency_p95: Quantile
    complaints: int
    satisfaction: Mean
    drift: list[FeatureDrift] = Field(default_factory=list)
    alerts: list[str] = Field(default_factory=list, description="ids of the alert rules this window raised")


class AlertEvent(_Out):
    rule_id: str
    kind: str
    action: Literal["alert", "rollback"]
    severity: Literal["warn", "critical"]
    model: str
    window: int
    begins: str
    ends: str
    article: str
    owner: str
    evidence: str


class StreamResult(_Out):
    """One model version's requests, windowed."""

    model: str
    requests: int
    share: float
    begins: str
    ends: str
    reference_windows: list[int]
    windows: list[WindowResult]


class ArmSummary(_Out):
    model: str
    requests: int
    accuracy: Proportion
    error_rate: Proportion
    latency_ms: Mean
    latency_p95: Quantile
    satisfaction: Mean


class Difference(_Out):
    """candidate - incumbent, with its 95% interval and a two-sided test."""

    metric: str
    incumbent: float | None
    candidate: float | None
    difference: float | None
    low: float | None
    high: float | None
    p_value: float | None
    test: str
    primary: bool


class ABResult(_Out):
    incumbent: str
    candidate: str
    begins: str
    ends: str
    candidate_share: float
    arms: list[ArmSummary]
    differences: list[Difference]
    alpha: float
    minimum_effect: float
    power: float | None = Field(description="power of the primary test to detect the minimum effect at these sizes")
    winner: str | None
    conclusion: str


class PhaseSpan(_Out):
    phase: str
    begins: str
    ends: str
    hours: float
    share: float
    requests: int


class CriterionResult(_Out):
    phase: str
    metric: str
    bound: str
    value: float | None
    low: float | None
    high: float | None
    n: int
    status: Literal["holds", "fails", "not enough data yet"]
    evidence: str


class CanaryResult(_Out):
    candidate: str
    incumbent: str | None
    phase: str
    phase_traffic: float
    observed_share: float
    began: str
    elapsed_hours: float
    required_hours: float | None
    next_phase: str | None
    timeline: list[PhaseSpan]
    criteria: list[CriterionResult]
    recommendation: Recommendation
    reasons: list[str]


class Rollback(_Out):
    triggered: bool
    reasons: list[str] = Field(default_factory=list)


class MonitoringReport(_Out):
    schema_version: Literal["1"] = MONITORING_SCHEMA_VERSION
    kind: Literal["harness-monitoring"] = "harness-monitoring"
    generated_at: str
    harness_version: str
    logs: list[LogFile]
    policy: PolicyRef
    baseline: BaselineRef
    window: WindowSpec
    alpha: float = Field(description="level of each window's accuracy-drop test")
    drift_method: DriftMethod
    streams: list[StreamResult]
    alerts: list[AlertEvent]
    ab: ABResult | None = None
    canary: CanaryResult | None = None
    rollback: Rollback
    recommendation: str
    exit_code: int
    rules: list[AlertRule] = Field(description="the policy's alert rules as applied")
    plan: dict[str, Any] = Field(description="the Art. 72 monitoring plan of the policy (harness.monitoring.plan)")

    def alert_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for alert in self.alerts:
            counts[alert.rule_id] = counts.get(alert.rule_id, 0) + 1
        return counts


def load_monitoring_results(ref: str | Path) -> MonitoringReport:
    """monitoring.json from a folder ``harness monitor --out`` wrote (or the file itself), validated.

    A missing, corrupt or foreign file, or one of another schema version, is an InputError
    naming the file.
    """
    path = Path(ref)
    if path.is_dir():
        path = path / MONITORING_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no monitoring results (run harness monitor --out on that folder first)") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a UTF-8 text file") from None
    if not isinstance(raw, dict) or raw.get("kind") != "harness-monitoring":
        raise InputError(f"{path}: not harness monitoring results (kind is not harness-monitoring)")
    if raw.get("schema_version") != MONITORING_SCHEMA_VERSION:
        raise InputError(
            f"{path}: monitoring schema_version {raw.get('schema_version')!r} is not supported (expected {MONITORING_SCHEMA_VERSION})"
        )
    try:
        return MonitoringReport.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "top level"
        raise InputError(f"{path}: does not match the monitoring schema (field {where}: {err['msg']})") from None
