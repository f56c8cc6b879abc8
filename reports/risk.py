"""The risk register (Art. 9): catalogued scenarios scored against versioned criteria.

Initial likelihood comes from evidence: the metric tied to each scenario gives a failure
rate with its 95% interval, and the interval's upper end is placed in the likelihood
bands of ``policies/risk-criteria.yaml`` (conservative on small samples). Severity is
fixed in the catalogue ``policies/risks.yaml``. Treatment, residual position and
acceptance are the provider's judgement (``provider.yaml``); where missing they are
placeholders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from harness.errors import PolicyError
from harness.files.yaml_files import read_yaml, shipped_or_path, validate_yaml
from harness.schema.results import Metric


class Level(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    anchor: str
    max_rate: float | None = None


class Zone(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    max_score: int
    colour: str
    meaning: str


class RiskCriteria(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    severity: dict[int, Level]
    likelihood: dict[int, Level]
    zones: list[Zone]

    def likelihood_of(self, rate: float) -> int:
        for level in sorted(self.likelihood):
            bound = self.likelihood[level].max_rate
            if bound is not None and rate <= bound + 1e-12:
                return level
        return max(self.likelihood)

    def zone(self, severity: int, likelihood: int) -> Zone:
        score = severity * likelihood
        return next(z for z in self.zones if score <= z.max_score)


class RiskScenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    source: str
    scenario: str
    harm: str
    affected_groups: list[str] = Field(default_factory=list)
    vulnerable: bool = False
    severity: int = Field(ge=1, le=5)
    metric: str
    failure: str = Field(pattern=r"^(value|1 - value)$")
    failure_meaning: str
    existing_controls: str
    monitoring: str
    references: list[str] = Field(default_factory=list)


class RiskCatalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    risks: list[RiskScenario]


class RiskRow(BaseModel):
    """One row of the register: scenario, evidence, initial and residual position."""

    model_config = ConfigDict(extra="forbid")

    number: int
    scenario: RiskScenario
    metric_name: str | None
    failure_rate: float | None
    failure_ci: tuple[float, float] | None
    n: int | None
    run_id: str
    initial_severity: int
    initial_likelihood: int | None
    initial_zone: str | None
    treatment: str | None
    residual_severity: int | None
    residual_likelihood: int | None
    residual_zone: str | None
    accepted: bool | None
    rationale: str | None
    owner: str | None
    evidence: str


M = TypeVar("M", bound=BaseModel)


def _load(path: str | Path, folder: str, model: type[M], what: str) -> tuple[M, Path]:
    resolved = shipped_or_path(path, folder, PolicyError, what)
    root, data = read_yaml(resolved, PolicyError)
    return validate_yaml(model, data, path=resolved, root=root, error=PolicyError, what=what), resolved


def load_criteria(path: str | Path = "risk-criteria") -> tuple[RiskCriteria, Path]:
    return _load(path, "", RiskCriteria, "risk criteria")


def load_catalogue(path: str | Path = "risks") -> tuple[RiskCatalogue, Path]:
    return _load(path, "", RiskCatalogue, "risk catalogue")


def build_register(
    criteria: RiskCriteria, catalogue: RiskCatalogue, metrics: dict[str, Metric], run_id: str, residuals: dict[str, Any]
) -> list[RiskRow]:
    """Score every scenario: likelihood from its metric's failure rate, residual from the provider."""
    rows = []
    for number, scenario in enumerate(catalogue.risks, start=1):
        metric = _find_metric(scenario.metric, metrics)
        rate: float | None = None
        ci: tuple[float, float] | None = None
        likelihood: int | None = None
        zone: str | None = None
        if metric is not None and metric.value is not None:
            low, high = metric.ci_low, metric.ci_high
            if scenario.failure == "value":
                rate = metric.value
                ci = (low, high) if low is not None and high is not None else None
            else:
                rate = 1 - metric.value
                ci = (1 - high, 1 - low) if low is not None and high is not None else None
            upper = ci[1] if ci else rate
            likelihood = criteria.likelihood_of(upper)
            zone = criteria.zone(scenario.severity, likelihood).name
            evidence = (
                f"{scenario.failure_meaning}: {rate:.1%}"
                + (f" (95% CI {ci[0]:.1%} to {ci[1]:.1%})" if ci else "")
                + f", n={metric.n}, {metric.name} in run {run_id}; upper bound -> L{likelihood}"
            )
        else:
            evidence = f"not measured: {scenario.metric} is not in run {run_id}; likelihood cannot be derived"
        residual = residuals.get(scenario.id)
        res_s = getattr(residual, "residual_severity", None)
        res_l = getattr(residual, "residual_likelihood", None)
        rows.append(
            RiskRow(
                number=number,
                scenario=scenario,
                metric_name=metric.name if metric else None,
                failure_rate=rate,
                failure_ci=ci,
                n=metric.n if metric else None,
                run_id=run_id,
                initial_severity=scenario.severity,
                initial_likelihood=likelihood,
                initial_zone=zone,
                treatment=getattr(residual, "treatment", None),
                residual_severity=res_s,
                residual_likelihood=res_l,
                residual_zone=criteria.zone(res_s, res_l).name if res_s and res_l else None,
                accepted=getattr(residual, "accepted", None),
                rationale=getattr(residual, "rationale", None),
                owner=getattr(residual, "owner", None),
                evidence=evidence,
            )
        )
    return rows


def _find_metric(name: str, metrics: dict[str, Metric]) -> Metric | None:
    if not name.startswith("data.*."):
        return metrics.get(name)
    tail = "." + name.removeprefix("data.*.")
    candidates = [m for n, m in metrics.items() if n.startswith("data.") and n.endswith(tail)]
    return max(candidates, key=lambda m: m.value or 0.0) if candidates else None  # the worst dataset
