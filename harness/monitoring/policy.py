"""The monitoring policy: windows, alert and rollback rules, drift settings, A/B test and canary plan.

A monitoring policy is YAML with ``kind: monitoring`` (``policies/monitoring.yaml`` ships
one built on the methodology document's monitoring, A/B and rollout sections). It is not
a gate policy: it has ``alerts``, not ``rules``, so ``harness gate`` never offers it. An
invalid file is reported as ``<file>:<line>: <field>: <problem>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.errors import PolicyError
from harness.files.shipped import shipped_files
from harness.files.yaml_files import field_name, read_yaml, shipped_or_path, validate_yaml
from harness.monitoring.windows import describe_duration, parse_duration

AlertKind = Literal["accuracy_drop", "mean_confidence", "drift", "error_rate", "complaints", "latency_p95"]
Feature = Literal["confidence", "input_length", "output_category"]
Statistic = Literal["ks", "psi", "js"]
CriterionMetric = Literal["error_rate", "latency_p95", "satisfaction", "accuracy"]

FEATURES: tuple[Feature, ...] = ("confidence", "input_length", "output_category")
STATISTICS: tuple[Statistic, ...] = ("ks", "psi", "js")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class WindowSettings(_Strict):
    requests: int = Field(default=100, ge=1, description="requests per window (the methodology: the last 100 requests)")
    min_requests: int = Field(
        default=30, ge=1, description="a window with fewer requests (or labelled requests, for accuracy) is not judged"
    )


class DriftSettings(_Strict):
    reference_windows: int = Field(default=1, ge=1, description="the first windows of each model form the reference")
    false_alarm_rate: float = Field(
        default=0.01,
        gt=0,
        lt=1,
        description="chance that a window without drift raises any drift alert; split evenly over the window's "
        "statistics (Bonferroni), so each statistic alarms at its simulated null's 1 - rate/k quantile",
    )
    statistics: list[Statistic] = Field(default_factory=lambda: list(STATISTICS), min_length=1)
    bins: int = Field(
        default=10, ge=2, le=100, description="equal-mass bins of the reference for PSI and Jensen-Shannon"
    )
    bootstrap: int = Field(default=10000, ge=200, le=1_000_000, description="replicates of the null distribution")
    seed: int = Field(default=0, ge=0)

    @field_validator("statistics")
    @classmethod
    def _distinct(cls, value: list[Statistic]) -> list[Statistic]:
        if len(set(value)) != len(value):
            raise ValueError("a statistic is listed twice")
        return value


class AlertRule(_Strict):
    """One indicator, its threshold, what happens when it is crossed, and who acts."""

    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    kind: AlertKind
    max: float | None = Field(default=None, ge=0, description="the largest acceptable value")
    max_drop: float | None = Field(default=None, gt=0, lt=1, description="accuracy_drop: largest acceptable fall")
    feature: Feature | None = Field(default=None, description="drift: which distribution is compared")
    action: Literal["alert", "rollback"] = "alert"
    severity: Literal["warn", "critical"] = "warn"
    article: str = Field(min_length=1, description='e.g. "EU AI Act Art. 72; Art. 15(1)"')
    why: str = Field(min_length=1)
    owner: str = Field(min_length=1, description="the role that acts on the alert")

    @model_validator(mode="after")
    def _fields_of_kind(self) -> AlertRule:
        if self.kind == "accuracy_drop":
            if self.max_drop is None or self.max is not None:
                raise ValueError("accuracy_drop takes max_drop (e.g. 0.1) and no max")
        elif self.kind == "drift":
            if self.feature is None or self.max is not None or self.max_drop is not None:
                raise ValueError("drift takes a feature (confidence, input_length, output_category) and no bound")
        else:
            if self.max is None or self.max_drop is not None:
                raise ValueError(f"{self.kind} takes max and no max_drop")
            if self.kind in ("mean_confidence", "error_rate") and self.max > 1:
                raise ValueError(f"{self.kind} is a proportion: max must lie in [0, 1]")
        if self.kind != "drift" and self.feature is not None:
            raise ValueError("feature applies to drift rules only")
        if not self.article.startswith("EU AI Act"):
            raise ValueError('article must cite the EU AI Act, e.g. "EU AI Act Art. 72"')
        return self

    def describe(self) -> str:
        """The threshold in words, as the plan and the report print it."""
        if self.kind == "accuracy_drop":
            assert self.max_drop is not None
            return f"fall below the baseline > {self.max_drop:g}, significant"
        if self.kind == "drift":
            assert self.feature is not None
            return f"{self.feature.replace('_', ' ')} distribution beyond its simulated-null threshold"
        assert self.max is not None
        if self.kind == "latency_p95":
            return f"p95 latency > {self.max:g} ms"
        if self.kind == "complaints":
            return f"complaints in a window > {self.max:g}"
        return f"{self.kind.replace('_', ' ')} > {self.max:g}"


class ABSettings(_Strict):
    alpha: float = Field(default=0.01, gt=0, lt=1, description="significance level of the winner test")
    minimum_effect: float = Field(
        default=0.05, gt=0, lt=1, description="the accuracy difference whose detection power the report states"
    )


class Criterion(_Strict):
    metric: CriterionMetric
    max: float | None = None
    min: float | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> Criterion:
        if (self.max is None) == (self.min is None):
            raise ValueError("give exactly one of max and min")
        return self

    def describe(self) -> str:
        unit = " ms" if self.metric == "latency_p95" else ""
        sign, bound = ("<", self.max) if self.max is not None else (">", self.min)
        return f"{self.metric.replace('_', ' ')} {sign} {bound:g}{unit}"


class Phase(_Strict):
    name: str = Field(min_length=1)
    traffic: float = Field(gt=0, le=1, description="share of requests the new version answers")
    duration: str | None = Field(default=None, description="how long the phase lasts, e.g. 24h or 7d")
    criteria: list[Criterion] = Field(default_factory=list)

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value, "duration")
        return value

    @property
    def seconds(self) -> float | None:
        return None if self.duration is None else parse_duration(self.duration)


class CanarySettings(_Strict):
    bucket: str = Field(default="1h", description="span over which traffic shares are measured")
    min_bucket_requests: int = Field(default=20, ge=1, description="a sparser span keeps the phase before it")
    phases: list[Phase] = Field(min_length=1)

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        parse_duration(value, "bucket")
        return value

    @model_validator(mode="after")
    def _rising(self) -> CanarySettings:
        shares = [p.traffic for p in self.phases]
        if shares != sorted(shares) or len(set(shares)) != len(shares):
            raise ValueError("phases must raise the new version's traffic share, each above the one before")
        return self


class MonitoringPolicy(_Strict):
    kind: Literal["monitoring"]
    name: str = Field(min_length=1)
    version: str | int = 1
    description: str | None = None
    baseline_metric: str = Field(min_length=1, description="the baseline run's accuracy metric, e.g. domain.accuracy")
    alpha: float = Field(default=0.01, gt=0, lt=1, description="level of each window's accuracy-drop test")
    window: WindowSettings = Field(default_factory=WindowSettings)
    drift: DriftSettings = Field(default_factory=DriftSettings)
    alerts: list[AlertRule] = Field(min_length=1)
    ab: ABSettings = Field(default_factory=ABSettings)
    canary: CanarySettings | None = None
    roles: dict[str, str] = Field(default_factory=dict, description="who is responsible for what, by role")
    review: str | None = Field(default=None, description="how often people review the monitoring results")

    @model_validator(mode="after")
    def _unique(self) -> MonitoringPolicy:
        seen: set[str] = set()
        for rule in self.alerts:
            if rule.id in seen:
                raise ValueError(f"two alerts share the id {rule.id!r}")
            seen.add(rule.id)
        return self

    def rules_of(self, kind: AlertKind) -> list[AlertRule]:
        return [rule for rule in self.alerts if rule.kind == kind]

    def window_description(self, window_seconds: float | None) -> str:
        if window_seconds is not None:
            return f"{describe_duration(window_seconds)} of requests"
        return f"{self.window.requests} consecutive requests"


def load_monitoring_policy(ref: str | Path) -> tuple[MonitoringPolicy, Path]:
    """A monitoring policy file, or the name of one shipped in ``policies/`` (e.g. ``monitoring``)."""
    path = shipped_or_path(ref, "", PolicyError, "monitoring policy", accepts=is_monitoring_policy)
    root, data = read_yaml(path, PolicyError)
    if not isinstance(data, dict):
        raise PolicyError(f"{path}:1: a monitoring policy is a mapping with kind: monitoring, alerts, ...")
    if data.get("kind") != "monitoring":
        hint = " (a gate policy: use it with harness gate)" if "rules" in data else ""
        raise PolicyError(f"{path}:1: kind: not a monitoring policy{hint}; a monitoring policy says kind: monitoring")
    policy = validate_yaml(
        MonitoringPolicy, data, path=path, root=root, error=PolicyError, what="monitoring policy", format_loc=field_name
    )
    return policy, path


def is_monitoring_policy(path: Path) -> bool:
    return any(line.strip() == "kind: monitoring" for line in path.read_text(encoding="utf-8").splitlines())


def shipped_monitoring_policies() -> list[str]:
    return sorted(p.stem for p in shipped_files("", is_monitoring_policy).values())
