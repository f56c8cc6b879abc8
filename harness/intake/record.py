"""The evidence intake and selection write: versioned JSON every later reader (dossier, pages, API) reads.

``intake.json`` follows :class:`IntakeRecord` (schema ``harness.intake``), ``selection.json``
follows :class:`SelectionRecord` (schema ``harness.selection``). Both carry a
``schema_version``; a reader refuses a version it does not know rather than guess.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

INTAKE_SCHEMA: Final = "harness.intake"
SELECTION_SCHEMA: Final = "harness.selection"
SCHEMA_VERSION: Final = "1"
INTAKE_FILE = "intake.json"
SELECTION_FILE = "selection.json"

Outcome = Literal["pass", "warn", "fail", "review", "not-measured", "info"]
"""A row's outcome: ``review`` means a person must decide (e.g. a licence harness cannot
classify); ``not-measured`` a required figure nobody measured (never a pass); ``info`` a
figure reported without a threshold (parameters, memory)."""

Verdict = Literal["pass", "warn", "review", "incomplete", "fail"]
"""An intake's overall verdict: ``fail`` when a blocking row fails, else ``incomplete`` when a
row was not measured, else ``review`` when a person must decide a row, else ``warn`` when a
row warns, else ``pass``."""

Severity = Literal["block", "warn"]
Status = Literal["decided", "undecided", "none-eligible"]


class IntakeRow(BaseModel):
    """One line of the scorecard: what was measured, against which threshold, with what outcome, and why."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="stable id, e.g. context_length, chars_per_token.el, benchmark.mmlu")
    label: str
    value: str = Field(description="the measured value as a reader reads it")
    measured: float | int | bool | str | None = Field(default=None, description="the measured value as data")
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = Field(default=None, description="items behind a benchmark value")
    threshold: str = Field(description="the threshold in words, e.g. '> 4 pass, 3-4 warn, < 3 fail'")
    outcome: Outcome
    severity: Severity = Field(default="block", description="block: failing it fails the intake; warn: it only warns")
    why: str = Field(description="why the row matters")
    evidence: str = Field(default="", description="where the value was read (file and key) or which run measured it")
    source: str = Field(default="", description="the methodology's section (and figure) the threshold comes from")


class ModelIdentity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    base: str
    adapter: str | None = None
    fingerprint: str | None = Field(default=None, description="sha256 over config, tokenizer and weight files")
    vouches_for: str | None = None


class PolicyIdentity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    version: str
    path: str
    sha256: str


class LicenceFinding(BaseModel):
    """What the files say about the licence, and how harness classes it."""

    model_config = ConfigDict(extra="forbid")

    spdx: str | None = Field(description="SPDX id, or LicenseRef-<name> for licences SPDX does not list")
    status: Literal["acceptable", "conditions", "unacceptable", "unknown"]
    conditions: str | None = None
    card: str | None = Field(default=None, description="the model card's license: value, as written")
    card_name: str | None = Field(default=None, description="the model card's license_name, if any")
    file: str | None = Field(default=None, description="the licence file read, if any")
    file_spdx: str | None = None
    reason: str = ""


class IntakeRecord(BaseModel):
    """A base model's intake: the scorecard rows and what they were read from."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_name: Literal["harness.intake"] = Field(default=INTAKE_SCHEMA, alias="schema")
    schema_version: Literal["1"] = SCHEMA_VERSION
    created_at: str
    harness_version: str
    model: ModelIdentity
    policy: PolicyIdentity
    scope: Literal["files", "files+benchmarks"]
    verdict: Verdict
    rows: list[IntakeRow]
    licence: LicenceFinding
    architecture: dict[str, Any] = Field(default_factory=dict, description="config and safetensors-header facts")
    tokenizer: dict[str, Any] = Field(default_factory=dict, description="tokenizer facts and measurements")
    runs: list[str] = Field(default_factory=list, description="run ids whose metrics fill the benchmark rows")
    weights_loaded: bool = Field(default=False, description="always false: intake reads headers, never tensors")
    cpu_seconds: float | None = None

    def row(self, row_id: str) -> IntakeRow | None:
        return next((r for r in self.rows if r.id == row_id), None)


class Cell(BaseModel):
    """One candidate's value for one criterion of the decision matrix."""

    model_config = ConfigDict(extra="forbid")

    value: str
    measured: float | int | bool | str | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    outcome: Outcome
    points: float = Field(description="pass 1, warn 0.5, anything else 0; times the weight in the score")


class CriterionRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    label: str
    weight: float
    required: bool
    source: str = Field(description="the intake row or the metric the criterion reads")
    threshold: str
    cells: dict[str, Cell] = Field(description="candidate label -> cell")


class PairwiseFinding(BaseModel):
    """A paired comparison of two candidates on one metric, over the items both answered."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    first: str
    second: str
    n: int
    first_value: float | None
    second_value: float | None
    difference: float | None = Field(description="second minus first")
    ci_low: float | None = None
    ci_high: float | None = None
    test: str | None = None
    p_value: float | None = None
    p_adjusted: float | None = Field(default=None, description="Holm-adjusted over every pairwise test of the record")
    significant: bool = False
    statement: str


class CandidateSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str
    model: ModelIdentity
    intake_verdict: Verdict | None
    intake_file: str | None
    runs: list[str]
    score: float = Field(description="weighted share of points over the criteria, 0 to 1")
    eligible: bool
    blocking: list[str] = Field(default_factory=list, description="required criteria it fails or lacks")
    pros: list[str] = Field(default_factory=list)
    cons: list[str] = Field(default_factory=list)


class SelectionRecord(BaseModel):
    """A base-model selection: the decision, the matrix behind it and the record's sections."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_name: Literal["harness.selection"] = Field(default=SELECTION_SCHEMA, alias="schema")
    schema_version: Literal["1"] = SCHEMA_VERSION
    created_at: str
    harness_version: str
    policy: PolicyIdentity
    minimums: PolicyIdentity
    alpha: float
    status: Status
    chosen: str | None
    title: str
    context: str
    decision: str
    rationale: list[str]
    candidates: list[CandidateSummary]
    matrix: list[CriterionRow]
    comparisons: list[PairwiseFinding]
    consequences: dict[str, list[str]] = Field(description="positive, negative, neutral")
    validation_metrics: list[dict[str, Any]]
