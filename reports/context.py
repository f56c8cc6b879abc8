"""What a report template reads: typed objects built from a stored run alone.

A run's metrics describe themselves (suite, scope, slice, direction, unit), so the
report groups them without knowing any suite: each suite gets a section with its
summary metrics and one table per breakdown (per subject, per group, ...). A suite may
add its own section template, ``templates/sections/<suite>.html.j2``, for the evidence
only it has (reliability bins, perturbation tables); charts are drawn from the chart
requests a suite puts in its details (``details["charts"]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from markupsafe import Markup

from harness import __version__
from harness.schema.comparison import PairedComparison, RunComparison
from harness.schema.results import BREAKDOWN_SCOPES, Metric, ModelInfo, RunResult, SuiteStatus
from harness.schema.verdict import Verdict


def model_name(model: ModelInfo) -> str:
    """A model by its name, never by where it happened to be on disk: a hub id, a served model's name, or the
    folder's name."""
    endpoint = getattr(model, "endpoint", None)
    if endpoint is not None and getattr(endpoint, "served_model", None):
        return str(endpoint.served_model)
    if model.kind == "hub":
        return model.base
    return Path(model.base.rstrip("/")).name or model.base


SCOPE_TITLES = {
    "subject": "per subject",
    "kind": "per kind of item",
    "group": "per group",
    "attribute": "per attribute",
    "perturbation": "per perturbation",
    "field": "per answer field",
}


@dataclass
class SuiteSection:
    """One suite's part of a report."""

    name: str
    status: SuiteStatus
    summary: list[Metric]
    breakdowns: dict[str, list[Metric]]
    details: dict[str, Any]
    charts: list[Markup]
    template: str

    @property
    def headline(self) -> Metric | None:
        return next((m for m in self.summary if m.scope == "headline"), None)

    def breakdown_title(self, scope: str) -> str:
        return f"{self.name} {SCOPE_TITLES.get(scope, scope)}"

    def measures(self, scope: str) -> list[tuple[str, list[Metric]]]:
        """The breakdown's rows grouped by what they measure (their label, else their metric family), in the
        order they were measured: two measures never share a table column."""
        groups: dict[str, list[Metric]] = {}
        for m in self.breakdowns.get(scope, []):
            family = m.name[: -len(m.slice) - 1] if m.slice and m.name.endswith("." + m.slice) else ""
            groups.setdefault(m.label or family, []).append(m)
        return list(groups.items())


@dataclass
class ReportContext:
    """Everything the evaluation report shows; the dossier builds on it."""

    result: RunResult
    verdict: Verdict | None
    comparison: RunComparison | None
    sections: list[SuiteSection]
    css: Markup
    generated_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    harness_version: str = __version__

    @property
    def metrics(self) -> dict[str, Metric]:
        return self.result.metric_map()

    @property
    def summary_metrics(self) -> list[Metric]:
        return self.result.summary_metrics()

    @property
    def shown_comparisons(self) -> list[PairedComparison]:
        """Paired rows worth a reader's time: whole-suite metrics, and breakdowns that changed significantly."""
        if self.comparison is None:
            return []
        return [
            c
            for c in self.comparison.comparisons
            if c.paired and c.n and c.change is not None and (c.scope not in BREAKDOWN_SCOPES or c.significant)
        ]

    @property
    def tested_rows(self) -> int:
        """How many rows of the comparison were tested: the number Holm's adjustment runs over."""
        if self.comparison is None:
            return 0
        return sum(c.p_value is not None for c in self.comparison.comparisons)

    @property
    def temperature_at_bound(self) -> bool:
        """The fitted calibration temperature sits at its search bound: it is no advice (and is printed so)."""
        calibration = self.section("calibration")
        scaling = calibration.details.get("temperature_scaling", {}) if calibration else {}
        return bool(isinstance(scaling, dict) and scaling.get("at_bound"))

    @property
    def model_name(self) -> str:
        return model_name(self.result.model)

    @property
    def identity_note(self) -> str | None:
        """What the model's fingerprint does not prove (e.g. for a served model), when the run says so."""
        note = getattr(self.result.model, "identity_note", None)
        return str(note) if note else None

    def unit_of(self, metric: str) -> str | None:
        """The unit a metric of this run declares (None for a metric the run did not measure)."""
        found = self.metrics.get(metric)
        return found.unit if found is not None else None

    def section(self, name: str) -> SuiteSection | None:
        return next((s for s in self.sections if s.name == name), None)

    def template_vars(self) -> dict[str, Any]:
        """The names a template sees: this object's fields and properties, by name."""
        return {
            "ctx": self,
            "result": self.result,
            "verdict": self.verdict,
            "comparison": self.comparison,
            "sections": self.sections,
            "metrics": self.metrics,
            "summary_metrics": self.summary_metrics,
            "shown_comparisons": self.shown_comparisons,
            "tested_rows": self.tested_rows,
            "model_name": self.model_name,
            "identity_note": self.identity_note,
            "unit_of": self.unit_of,
            "temperature_at_bound": self.temperature_at_bound,
            "css": self.css,
            "generated_at": self.generated_at,
            "harness_version": self.harness_version,
        }
