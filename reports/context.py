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
from typing import Any

from markupsafe import Markup

from harness import __version__
from harness.schema.comparison import PairedComparison, RunComparison
from harness.schema.results import BREAKDOWN_SCOPES, Metric, RunResult, SuiteStatus
from harness.schema.verdict import Verdict

SCOPE_TITLES = {
    "subject": "per subject",
    "group": "per group",
    "attribute": "per attribute",
    "perturbation": "per perturbation",
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
            "css": self.css,
            "generated_at": self.generated_at,
            "harness_version": self.harness_version,
        }
