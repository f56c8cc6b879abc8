"""Paired comparisons of two runs: the record the gate, the reports and the dossier share."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

COMPARISON_PREFIX = "comparison-"


def comparison_file_name(reference_run_id: str) -> str:
    """One comparison file per baseline, named by the baseline's run id."""
    return f"{COMPARISON_PREFIX}{reference_run_id}.json"


class PairedComparison(BaseModel):
    """One metric of a candidate run against a reference run."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    scope: str | None = Field(default=None, description="the metric's scope in the candidate run")
    direction: str | None = Field(default=None, description="which way is better for the metric")
    unit: str | None = None
    paired: bool
    n: int
    reference: float | None
    candidate: float | None
    change: float | None
    relative_change: float | None
    relative_drop: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_method: str | None = None
    only_reference_correct: int | None = None
    only_candidate_correct: int | None = None
    p_value: float | None = None
    test: str | None = None
    significant: bool | None = None


class RunComparison(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: str = "1"
    reference_run: str
    candidate_run: str
    reference_fingerprint: str
    candidate_fingerprint: str
    alpha: float
    unmatched_items: int
    comparisons: list[PairedComparison]

    def get(self, metric: str) -> PairedComparison | None:
        return next((c for c in self.comparisons if c.metric == metric), None)
