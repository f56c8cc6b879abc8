"""The dossier's Annex IV point 9 section: the post-market monitoring plan (EU AI Act Art. 72) and its results.

The dossier sits below ``harness.monitoring`` in the import layers, so this module reads
the two files ``harness monitor`` works from as plain data: the monitoring policy YAML
(``policies/monitoring.yaml``: alert rules, windows, canary phases, roles, review) and,
when given, the ``monitoring.json`` that ``harness monitor --out DIR`` writes (schema
version "1"; it embeds the plan of the policy it applied, which then takes precedence).
Nothing here recomputes a statistic: the section prints what the policy says and what
the monitoring run found, with the file digests that bind them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import InputError, PolicyError
from harness.files.hashing import sha256_file
from harness.files.yaml_files import read_yaml, shipped_or_path

MONITORING_FILE = "monitoring.json"
MONITORING_SCHEMA_VERSION = "1"  # harness.monitoring.results.MONITORING_SCHEMA_VERSION
DEFAULT_POLICY = "monitoring"
ARTICLE = "EU AI Act Art. 72 (post-market monitoring); Annex IV point 9"


@dataclass(frozen=True)
class PlanIndicator:
    """One alert rule of the plan: what is watched, when it fires, what follows and who acts."""

    id: str
    indicator: str
    threshold: str
    action: str  # "alert" or "roll back"
    owner: str
    article: str
    false_alarms: str = ""


@dataclass(frozen=True)
class PlanPhase:
    """One rollout phase: the new version's traffic share, how long, and the criteria to advance."""

    phase: str
    traffic: float
    duration: str | None
    criteria: tuple[str, ...]


@dataclass(frozen=True)
class MonitoredVersion:
    """One model version in the monitoring results: its period, volume, alerts and whether it must roll back."""

    model: str
    begins: str
    ends: str
    requests: int
    windows: int
    alerts: dict[str, int]
    rollback: bool


@dataclass(frozen=True)
class MonitoringResults:
    """What a ``harness monitor`` run found, as the dossier and its change log show it."""

    path: Path
    sha256: str
    generated_at: str
    policy: str
    baseline_run_id: str
    baseline_metric: str
    baseline_value: float
    baseline_n: int
    window: str
    versions: tuple[MonitoredVersion, ...]
    alerts: int
    rollback: bool
    rollback_reasons: tuple[str, ...]
    recommendation: str
    ab: str | None
    canary: str | None

    def changelog(self) -> list[dict[str, Any]]:
        """One change-log row per monitored version, joinable on ``model`` and ``baseline_run_id``."""
        return [
            {
                "kind": "monitoring",
                "date": self.generated_at,
                "model": v.model,
                "baseline_run_id": self.baseline_run_id,
                "period": {"begins": v.begins, "ends": v.ends},
                "requests": v.requests,
                "windows": v.windows,
                "alerts": dict(v.alerts),
                "rollback": v.rollback,
                "policy": self.policy,
                "monitoring_sha256": self.sha256,
            }
            for v in self.versions
        ]


@dataclass(frozen=True)
class MonitoringSection:
    """The Art. 72 plan (from the policy, or as the monitoring run applied it) and, when given, the results."""

    article: str
    policy_name: str
    policy_version: str
    policy_path: str | None
    policy_sha256: str | None
    baseline_metric: str
    window: str
    indicators: tuple[PlanIndicator, ...]
    phases: tuple[PlanPhase, ...]
    roles: dict[str, str]
    review: str | None
    ab_rule: str | None
    results: MonitoringResults | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def rollback_triggers(self) -> list[PlanIndicator]:
        return [i for i in self.indicators if i.action == "roll back"]

    def changelog(self) -> list[dict[str, Any]]:
        """The results' change-log rows (none without results)."""
        return self.results.changelog() if self.results is not None else []


def describe_rule(rule: dict[str, Any]) -> str:
    """A policy alert rule's threshold in words (the wording of harness.monitoring.policy.AlertRule.describe)."""
    kind = str(rule.get("kind", ""))
    if kind == "accuracy_drop":
        return f"fall below the baseline > {_g(rule.get('max_drop'))}, significant"
    if kind == "drift":
        return f"{str(rule.get('feature', '')).replace('_', ' ')} distribution beyond its simulated-null threshold"
    if kind == "latency_p95":
        return f"p95 latency > {_g(rule.get('max'))} ms"
    if kind == "complaints":
        return f"complaints in a window > {_g(rule.get('max'))}"
    return f"{kind.replace('_', ' ')} > {_g(rule.get('max'))}"


def describe_criterion(criterion: dict[str, Any]) -> str:
    """A canary criterion in words, e.g. ``error rate < 0.01`` or ``latency p95 < 2000 ms``."""
    metric = str(criterion.get("metric", ""))
    unit = " ms" if metric == "latency_p95" else ""
    sign, bound = ("<", criterion.get("max")) if criterion.get("max") is not None else (">", criterion.get("min"))
    return f"{metric.replace('_', ' ')} {sign} {_g(bound)}{unit}"


def _g(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def _indicator_name(rule: dict[str, Any]) -> str:
    labels = {
        "accuracy_drop": "realised accuracy",
        "mean_confidence": "mean confidence",
        "error_rate": "error rate",
        "complaints": "complaints",
        "latency_p95": "p95 latency",
    }
    kind = str(rule.get("kind", ""))
    if kind == "drift":
        return f"drift of {str(rule.get('feature', '')).replace('_', ' ')}"
    return labels.get(kind, kind.replace("_", " "))


def is_monitoring_policy(path: Path) -> bool:
    return any(line.strip() == "kind: monitoring" for line in path.read_text(encoding="utf-8").splitlines())


def plan_from_policy(ref: str | Path = DEFAULT_POLICY) -> MonitoringSection:
    """The plan a monitoring policy file (or shipped name) sets, read as plain YAML.

    A file that is not a monitoring policy, or lacks what the plan prints, is a
    PolicyError naming the file and the field; ``harness monitor plan`` validates the
    policy fully.
    """
    path = shipped_or_path(ref, "", PolicyError, "monitoring policy", accepts=is_monitoring_policy)
    _, data = read_yaml(path, PolicyError)
    if not isinstance(data, dict) or data.get("kind") != "monitoring":
        raise PolicyError(f"{path}:1: kind: not a monitoring policy (a monitoring policy says kind: monitoring)")
    alerts = data.get("alerts")
    if not isinstance(alerts, list) or not all(isinstance(r, dict) and "id" in r and "kind" in r for r in alerts):
        raise PolicyError(f"{path}: alerts: a list of rules, each with id and kind")
    indicators = tuple(
        PlanIndicator(
            id=str(r["id"]),
            indicator=_indicator_name(r),
            threshold=describe_rule(r),
            action="roll back" if r.get("action") == "rollback" else "alert",
            owner=str(r.get("owner", "not stated in the policy")),
            article=str(r.get("article", "EU AI Act Art. 72")),
        )
        for r in alerts
    )
    canary = data.get("canary") or {}
    phases = tuple(
        PlanPhase(
            phase=str(p.get("name", "")),
            traffic=float(p.get("traffic", 0)),
            duration=p.get("duration"),
            criteria=tuple(describe_criterion(c) for c in p.get("criteria") or [] if isinstance(c, dict)),
        )
        for p in (canary.get("phases") or [] if isinstance(canary, dict) else [])
        if isinstance(p, dict)
    )
    window = data.get("window") or {}
    requests = window.get("requests", 100) if isinstance(window, dict) else 100
    ab = data.get("ab") or {}
    alpha = ab.get("alpha", 0.01) if isinstance(ab, dict) else 0.01
    roles = data.get("roles") or {}
    return MonitoringSection(
        article=ARTICLE,
        policy_name=str(data.get("name", path.stem)),
        policy_version=str(data.get("version", "")),
        policy_path=str(path),
        policy_sha256=sha256_file(path),
        baseline_metric=str(data.get("baseline_metric", "")),
        window=f"consecutive windows of {requests} requests per model version",
        indicators=indicators,
        phases=phases,
        roles={str(k): str(v) for k, v in roles.items()} if isinstance(roles, dict) else {},
        review=str(data["review"]) if data.get("review") else None,
        ab_rule=f"a winner is named only when the accuracy difference is significant at {_g(alpha)}",
    )


def plan_from_results(plan: dict[str, Any]) -> MonitoringSection:
    """The plan embedded in monitoring.json (``harness.monitoring.plan.monitoring_plan``): the policy as applied."""
    policy = plan.get("policy") or {}
    return MonitoringSection(
        article=str(plan.get("article", ARTICLE)),
        policy_name=str(policy.get("name", "")),
        policy_version=str(policy.get("version", "")),
        policy_path=policy.get("path"),
        policy_sha256=policy.get("sha256"),
        baseline_metric=str(plan.get("baseline_metric", "")),
        window=str((plan.get("window") or {}).get("text", "")),
        indicators=tuple(
            PlanIndicator(
                id=str(i.get("id", "")),
                indicator=str(i.get("indicator", "")),
                threshold=str(i.get("threshold", "")),
                action=str(i.get("action", "alert")),
                owner=str(i.get("owner", "")),
                article=str(i.get("article", "")),
                false_alarms=str(i.get("false_alarms", "")),
            )
            for i in plan.get("indicators") or []
        ),
        phases=tuple(
            PlanPhase(
                phase=str(p.get("phase", "")),
                traffic=float(p.get("traffic", 0)),
                duration=p.get("duration"),
                criteria=tuple(str(c) for c in p.get("criteria") or []),
            )
            for p in plan.get("canary") or []
        ),
        roles={str(k): str(v) for k, v in (plan.get("roles") or {}).items()},
        review=plan.get("review"),
        ab_rule=(plan.get("ab") or {}).get("rule"),
    )


def read_results(ref: str | Path) -> tuple[dict[str, Any], Path]:
    """monitoring.json (or the folder holding it) as data; a missing, corrupt or foreign file is one InputError."""
    path = Path(ref)
    if path.is_dir():
        path = path / MONITORING_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no monitoring results (write them with harness monitor LOGS --out DIR)") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    except (UnicodeDecodeError, IsADirectoryError):
        raise InputError(f"{path}: not a UTF-8 JSON file") from None
    if not isinstance(raw, dict) or raw.get("kind") != "harness-monitoring":
        raise InputError(f"{path}: not harness monitoring results (kind is not harness-monitoring)")
    if raw.get("schema_version") != MONITORING_SCHEMA_VERSION:
        raise InputError(
            f"{path}: monitoring schema_version {raw.get('schema_version')!r} is not supported "
            f"(expected {MONITORING_SCHEMA_VERSION})"
        )
    return raw, path


def results_summary(raw: dict[str, Any], path: Path) -> MonitoringResults:
    """The monitoring results a dossier prints, from monitoring.json data; a missing field is an InputError naming it."""
    try:
        alerts = raw["alerts"]
        versions = []
        for stream in raw["streams"]:
            mine = [a for a in alerts if a["model"] == stream["model"]]
            counts: dict[str, int] = {}
            for a in mine:
                counts[a["rule_id"]] = counts.get(a["rule_id"], 0) + 1
            versions.append(
                MonitoredVersion(
                    model=str(stream["model"]),
                    begins=str(stream["begins"]),
                    ends=str(stream["ends"]),
                    requests=int(stream["requests"]),
                    windows=len(stream["windows"]),
                    alerts=counts,
                    rollback=any(a["action"] == "rollback" for a in mine),
                )
            )
        canary = raw.get("canary")
        canary_text = None
        if canary:
            canary_text = (
                f"{canary['candidate']} in phase {canary['phase']} ({canary['observed_share']:.1%} of traffic, "
                f"{canary['elapsed_hours']:.1f} h): {canary['recommendation']}"
            )
        base = raw["baseline"]
        policy = raw["policy"]
        return MonitoringResults(
            path=path,
            sha256=sha256_file(path),
            generated_at=str(raw["generated_at"]),
            policy=f"{policy['name']} v{policy['version']}",
            baseline_run_id=str(base["run_id"]),
            baseline_metric=str(base["metric"]),
            baseline_value=float(base["value"]),
            baseline_n=int(base["n"]),
            window=str(raw["window"]["description"]),
            versions=tuple(versions),
            alerts=len(alerts),
            rollback=bool(raw["rollback"]["triggered"]),
            rollback_reasons=tuple(str(r) for r in raw["rollback"].get("reasons", [])),
            recommendation=str(raw["recommendation"]),
            ab=str(raw["ab"]["conclusion"]) if raw.get("ab") else None,
            canary=canary_text,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: does not match the monitoring schema (field {exc})") from None


def load_monitoring_section(
    results: str | Path | None = None, *, policy: str | Path = DEFAULT_POLICY, run_id: str | None = None
) -> MonitoringSection:
    """The dossier's Art. 72 section: the plan of ``policy``, or, with ``results``, the plan they applied and what they found.

    ``run_id``: the dossier's run; results judged against another baseline run say so in a note.
    """
    if results is None:
        return plan_from_policy(policy)
    raw, path = read_results(results)
    summary = results_summary(raw, path)
    plan = raw.get("plan")
    section = plan_from_results(plan) if isinstance(plan, dict) else plan_from_policy(policy)
    notes: list[str] = []
    if run_id is not None and summary.baseline_run_id != run_id:
        notes.append(
            f"The monitoring results were judged against baseline run {summary.baseline_run_id}, "
            f"not this document's run {run_id}."
        )
    return MonitoringSection(**{**section.__dict__, "results": summary, "notes": tuple(notes)})
