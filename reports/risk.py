"""The risk register (Art. 9): catalogued scenarios scored against versioned criteria.

Initial likelihood comes from evidence that belongs to the scenario. Each scenario of
``policies/risks.yaml`` lists its evidence in order of preference: metrics of the
project's own emergency-response suites (``basis: scenario``) first, general benchmarks
standing in for them (``basis: proxy``) after. The first listed metric the run measured
on at least the criteria's ``min_n`` items gives the failure rate; the upper end of its
95% interval is placed in the likelihood bands of ``policies/risk-criteria.yaml``
(conservative on small samples). A rate measured on fewer items is shown with its n as
"insufficient evidence" and the risk is not placed on the heat map: a handful of items
cannot say how likely a harm is.

Severity is fixed in the catalogue. Treatment, residual position and acceptance are the
provider's judgement (``provider.yaml``). A residual position in the "unacceptable" zone
makes the system not releasable unless the provider records a justification signed by a
named person for that risk (Art. 9(5): residual risk must be judged acceptable).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from harness.errors import PolicyError
from harness.files.yaml_files import read_yaml, shipped_or_path, validate_yaml
from harness.schema.results import Metric, RunResult

UNACCEPTABLE = "unacceptable"
MIN_N_DEFAULT = 30


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
    min_n: int = Field(
        default=MIN_N_DEFAULT,
        ge=1,
        description="fewest items a failure rate may rest on before it places a risk (below: insufficient evidence)",
    )
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


class EvidenceSource(BaseModel):
    """One metric that can measure how often a scenario happens."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    failure: str = Field(pattern=r"^(value|1 - value)$")
    meaning: str = Field(description="what the failure rate counts, in words")
    basis: Literal["scenario", "proxy"] = Field(
        default="scenario",
        description="scenario: items of the scenario itself; proxy: a general benchmark standing in for it",
    )
    items_from: list[str] | None = Field(
        default=None,
        description="for a derived suite (calibration): counts only when its items came from exactly these suites",
    )


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
    evidence: list[EvidenceSource] = Field(min_length=1)
    existing_controls: str
    monitoring: str
    references: list[str] = Field(default_factory=list)


class RiskCatalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    risks: list[RiskScenario]


Status = Literal["measured", "insufficient", "not-measured"]


class RiskRow(BaseModel):
    """One row of the register: scenario, evidence, initial and residual position, release effect."""

    model_config = ConfigDict(extra="forbid")

    number: int
    scenario: RiskScenario
    status: Status
    basis: Literal["scenario", "proxy"] | None
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
    justification: str | None = None
    justification_signed_by: str | None = None
    evidence: str

    @property
    def placed(self) -> bool:
        """On the heat map: only a likelihood measured on enough items."""
        return self.status == "measured" and self.initial_likelihood is not None

    @property
    def residual_open(self) -> bool:
        return self.residual_severity is None or self.residual_likelihood is None or self.accepted is None

    @property
    def residual_unacceptable(self) -> bool:
        return self.residual_zone == UNACCEPTABLE

    @property
    def justified(self) -> bool:
        """A signed justification is recorded for keeping this risk."""
        return bool(self.justification and self.justification_signed_by)

    @property
    def blocks_release(self) -> bool:
        """A residual risk in the unacceptable zone without a signed justification."""
        return self.residual_unacceptable and not self.justified


M = TypeVar("M", bound=BaseModel)


def _load(path: str | Path, folder: str, model: type[M], what: str) -> tuple[M, Path]:
    resolved = shipped_or_path(path, folder, PolicyError, what)
    root, data = read_yaml(resolved, PolicyError)
    return validate_yaml(model, data, path=resolved, root=root, error=PolicyError, what=what), resolved


def load_criteria(path: str | Path = "risk-criteria") -> tuple[RiskCriteria, Path]:
    return _load(path, "", RiskCriteria, "risk criteria")


def load_catalogue(path: str | Path = "risks") -> tuple[RiskCatalogue, Path]:
    return _load(path, "", RiskCatalogue, "risk catalogue")


def item_sources(result: RunResult) -> dict[str, list[str]]:
    """Per derived suite, the suites its items came from (e.g. calibration -> [mmlu])."""
    out: dict[str, list[str]] = {}
    for name, status in result.suite_status.items():
        sources = status.settings.get("sources")
        if isinstance(sources, list):
            out[name] = [str(s) for s in sources]
    return out


def _failure(metric: Metric, source: EvidenceSource) -> tuple[float, tuple[float, float] | None]:
    assert metric.value is not None
    low, high = metric.ci_low, metric.ci_high
    if source.failure == "value":
        return metric.value, (low, high) if low is not None and high is not None else None
    return 1 - metric.value, (1 - high, 1 - low) if low is not None and high is not None else None


def _usable(source: EvidenceSource, metrics: Mapping[str, Metric], sources: Mapping[str, list[str]]) -> Metric | None:
    metric = _find_metric(source.metric, metrics)
    if metric is None or metric.value is None:
        return None
    if source.items_from is not None:
        suite = metric.suite or metric.name.split(".")[0]
        if sorted(sources.get(suite, [])) != sorted(source.items_from):
            return None
    return metric


def choose_evidence(
    scenario: RiskScenario, metrics: Mapping[str, Metric], sources: Mapping[str, list[str]], min_n: int
) -> tuple[EvidenceSource, Metric, bool] | None:
    """The scenario's evidence: the first listed metric measured on at least ``min_n`` items, else the
    first measured at all (flagged insufficient: the bool is False); None when none was measured."""
    found = [(s, m) for s in scenario.evidence if (m := _usable(s, metrics, sources)) is not None]
    for source, metric in found:
        if metric.n >= min_n:
            return source, metric, True
    return (found[0][0], found[0][1], False) if found else None


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def build_register(
    criteria: RiskCriteria,
    catalogue: RiskCatalogue,
    metrics: Mapping[str, Metric],
    run_id: str,
    residuals: Mapping[str, Any],
    sources: Mapping[str, list[str]] | None = None,
) -> list[RiskRow]:
    """Score every scenario: likelihood from its own evidence's failure rate, residual from the provider."""
    rows = []
    for number, scenario in enumerate(catalogue.risks, start=1):
        chosen = choose_evidence(scenario, metrics, sources or {}, criteria.min_n)
        rate: float | None = None
        ci: tuple[float, float] | None = None
        likelihood: int | None = None
        zone: str | None = None
        status: Status = "not-measured"
        basis = None
        metric = None
        if chosen is not None:
            source, metric, enough = chosen
            basis = source.basis
            rate, ci = _failure(metric, source)
            measured = (
                f"{source.meaning}: {_pct(rate)}"
                + (f" (95% CI {_pct(ci[0])} to {_pct(ci[1])})" if ci else "")
                + f", n = {metric.n}, {metric.name} in run {run_id}"
            )
            label = "" if basis == "scenario" else "proxy (a general benchmark, not the scenario's items): "
            if enough:
                status = "measured"
                likelihood = criteria.likelihood_of(ci[1] if ci else rate)
                zone = criteria.zone(scenario.severity, likelihood).name
                evidence = f"{label}{measured}; upper end of the interval -> L{likelihood}"
            else:
                status = "insufficient"
                evidence = (
                    f"insufficient evidence: {label}{measured}; n is below the {criteria.min_n} items the risk "
                    "criteria require, so no likelihood is derived and the risk is not on the heat map"
                )
        else:
            names = ", ".join(s.metric for s in scenario.evidence)
            evidence = f"not measured: none of {names} is in run {run_id}; likelihood cannot be derived"
        residual = residuals.get(scenario.id)
        res_s = getattr(residual, "residual_severity", None)
        res_l = getattr(residual, "residual_likelihood", None)
        rows.append(
            RiskRow(
                number=number,
                scenario=scenario,
                status=status,
                basis=basis,
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
                justification=getattr(residual, "justification", None),
                justification_signed_by=getattr(residual, "signed_by", None),
                evidence=evidence,
            )
        )
    return rows


def release_blockers(rows: Sequence[RiskRow]) -> list[str]:
    """Why the register does not allow release: each residual risk left unacceptable without a signed justification."""
    return [
        f"risk {r.number} ({r.scenario.title}): residual S{r.residual_severity} x L{r.residual_likelihood} is "
        f"in the unacceptable zone and no justification signed by a named person is recorded"
        for r in rows
        if r.blocks_release
    ]


def _find_metric(name: str, metrics: Mapping[str, Metric]) -> Metric | None:
    if not name.startswith("data.*."):
        return metrics.get(name)
    tail = "." + name.removeprefix("data.*.")
    candidates = [m for n, m in metrics.items() if n.startswith("data.") and n.endswith(tail)]
    return max(candidates, key=lambda m: m.value or 0.0) if candidates else None  # the worst dataset
