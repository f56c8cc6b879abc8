"""Paired comparisons of two runs: the record the gate, the reports and the dossier share."""

from __future__ import annotations

from typing import Literal

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
    p_value: float | None = Field(default=None, description="the test's own p-value, before any adjustment")
    p_adjusted: float | None = Field(
        default=None, description="the p-value adjusted for every tested row of the comparison (see adjustment)"
    )
    test: str | None = None
    significant: bool | None = Field(
        default=None,
        description="p below alpha: after the comparison's adjustment (p_adjusted) where it has one, else the raw p",
    )


class RunComparison(BaseModel):
    """Every shared metric of two runs; ``significant`` holds across all its tests at once.

    A comparison tests many metrics (each suite, each subject), so a raw p below alpha
    somewhere is expected by chance alone. Schema 2 adjusts the p-values of all tested
    rows together (``adjustment``: Holm 1979), and ``significant`` means significant after
    that adjustment. Files of schema 1 were not adjusted (``adjustment`` reads "none").
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: str = "2"
    reference_run: str
    candidate_run: str
    reference_fingerprint: str
    candidate_fingerprint: str
    alpha: float
    adjustment: Literal["holm", "none"] = Field(
        default="none", description="how p-values were adjusted for the number of tested rows (holm: Holm 1979)"
    )
    unmatched_items: int
    comparisons: list[PairedComparison]

    def get(self, metric: str) -> PairedComparison | None:
        return next((c for c in self.comparisons if c.metric == metric), None)
