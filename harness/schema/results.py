"""The result schema every later stage reads: metrics, run results, item records.

``results.json`` follows :class:`RunResult`; its JSON Schema is published as
``harness/schema/results.schema.json`` (a test keeps the two identical). A results
file written by an earlier schema version is upgraded on load
(:mod:`harness.schema.legacy`), so stored runs keep gating and rendering.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.errors import InputError
from harness.files.atomic import atomic_write_json, atomic_write_jsonl
from harness.stats import wilson_interval

SCHEMA_VERSION: Final = "2"
RESULTS_FILE = "results.json"
ITEMS_FILE = "items.jsonl"

Scope = Literal["headline", "overall", "subject", "kind", "group", "attribute", "perturbation", "field", "dataset"]
"""What part of a suite a metric describes.

``headline``: the suite's one number; ``overall``: other whole-suite numbers; the rest
are breakdowns, named by :attr:`Metric.slice` (a subject, a group, an attribute, a
perturbation) or a dataset's evidence.
"""
Direction = Literal["higher", "lower", "neutral"]
Unit = Literal["proportion", "score", "nats", "count", "seconds", "factor"]
"""How a value reads: a ``proportion`` is a share of items (printed as a percentage);
``score`` a bounded or unbounded score (ECE, Brier, kappa); ``nats`` a log loss;
``count`` a number of things; ``seconds`` a duration; ``factor`` a multiplier (a
temperature)."""

BREAKDOWN_SCOPES: frozenset[str] = frozenset({"subject", "kind", "group", "attribute", "perturbation", "field"})


class Metric(BaseModel):
    """One measured number with its sample size, 95% interval and a description of itself."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="<suite>.<metric>[.<slice>], e.g. mmlu.accuracy.anatomy")
    value: float | None
    n: int = Field(ge=0, description="number of items the value was computed from")
    ci_low: float | None = None
    ci_high: float | None = None
    ci_method: str | None = Field(default=None, description="e.g. wilson, bootstrap-percentile-1000")
    suite: str | None = Field(default=None, description="the suite (or data source) that measured it")
    scope: Scope = "overall"
    slice: str | None = Field(default=None, description="the subject, group or perturbation a breakdown covers")
    direction: Direction = Field(default="neutral", description="which way is better")
    unit: Unit = "score"
    label: str | None = Field(default=None, description="a short human-readable name")
    definition: str | None = Field(default=None, description="where the definition comes from (paper or library)")
    chance: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="the value a model guessing uniformly at random would score: the mean over items of 1/k "
        "for k choices; null where chance has no meaning (generated answers, gaps, rates)",
    )

    @field_validator("value", "ci_low", "ci_high", mode="before")
    @classmethod
    def _nan_to_none(cls, v: Any) -> Any:
        if isinstance(v, float) and math.isnan(v):
            return None
        return v

    @property
    def is_breakdown(self) -> bool:
        return self.scope in BREAKDOWN_SCOPES

    @property
    def above_chance(self) -> bool | None:
        """Whether the 95% interval lies wholly above the chance level (its lower bound exceeds it).

        None when the metric declares no chance level or has no interval: the data cannot
        then tell a model that knows something from one that guesses.
        """
        if self.chance is None or self.ci_low is None:
            return None
        return self.ci_low > self.chance


class MetricKind(BaseModel):
    """What a family of metrics means: direction, unit, label and definition.

    Suites declare one per family and stamp it on every metric they compute, so
    readers (gate, reports, CLI) never guess from a metric's name.
    """

    model_config = ConfigDict(frozen=True)

    direction: Direction = "neutral"
    unit: Unit = "score"
    label: str | None = None
    definition: str | None = None
    chance: float | None = Field(default=None, ge=0, le=1, description="the chance level stamped on each metric")

    def with_chance(self, chance: float | None) -> MetricKind:
        """The same kind with the chance level of one set of items (multiple-choice suites: mean of 1/k)."""
        return self.model_copy(update={"chance": chance})

    def describe(self, metric: Metric, *, suite: str, scope: Scope = "overall", slice: str | None = None) -> Metric:
        return metric.model_copy(
            update={
                "suite": suite,
                "scope": scope,
                "slice": slice,
                "direction": self.direction,
                "unit": self.unit,
                "label": self.label,
                "definition": self.definition,
                "chance": self.chance,
            }
        )

    def proportion(
        self, name: str, successes: float, n: int, *, suite: str, scope: Scope = "overall", slice: str | None = None
    ) -> Metric:
        return self.describe(proportion_metric(name, successes, n), suite=suite, scope=scope, slice=slice)


ACCURACY = MetricKind(
    direction="higher",
    unit="proportion",
    label="accuracy",
    definition="share of items answered correctly; Wilson (1927) score interval",
)


def proportion_metric(name: str, successes: float, n: int) -> Metric:
    """A proportion with its Wilson 95% interval (value None when n is 0)."""
    if n == 0:
        return Metric(name=name, value=None, n=0, ci_method="wilson", unit="proportion")
    low, high = wilson_interval(successes, n)
    return Metric(name=name, value=successes / n, n=n, ci_low=low, ci_high=high, ci_method="wilson", unit="proportion")


class EndpointInfo(BaseModel):
    """A model measured through an OpenAI-compatible endpoint: what identifies it, short of its weights."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="the API's base URL (harness refuses URLs that carry credentials)")
    served_model: str = Field(description="the name the server serves the model under")
    listing: dict[str, Any] = Field(default_factory=dict, description="what GET /v1/models reports for it")
    server: str = Field(description="llama.cpp, vllm or openai-compatible, from the tokenize route it offers")
    tokenizer: str = Field(description="the client tokenizer harness counts tokens with (directory or hub id)")
    tokenizer_sha256: str = Field(description="SHA-256 over the client tokenizer's files")
    tokenizer_check: Literal["passed", "skipped"]
    tokenizer_check_detail: str = Field(description="how client and server tokenization were compared, in words")
    fingerprint_method: Literal["prompt-logprobs", "greedy-text"]
    fingerprint_decimals: int = Field(description="the decimals the probe log-probabilities were rounded to")
    generation_api: Literal["completions", "chat"] = "completions"


class ModelInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base: str
    adapter: str | None = None
    revision: str | None = None
    dtype: str = "float32"
    fingerprint: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    kind: Literal["local", "hub", "endpoint"] = Field(
        default="local", description="what the fingerprint was computed from"
    )
    endpoint: EndpointInfo | None = Field(default=None, description="for kind endpoint: the served model's identity")
    identity_note: str | None = Field(
        default=None, description="what the fingerprint does not prove, for the report to print beside it"
    )


class DatasetUse(BaseModel):
    """A data file a suite read, by content hash."""

    model_config = ConfigDict(extra="forbid")

    suite: str
    source: str
    sha256: str | None = None
    rows: int | None = None


class SuiteStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["completed", "skipped"]
    reason: str | None = None
    n_items: int = 0
    engine: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list, description="caveats a reader must see, e.g. a small sample")
    headline: str | None = Field(default=None, description="the name of the suite's headline metric")


class Environment(BaseModel):
    model_config = ConfigDict(extra="allow")

    python: str
    platform: str | None = None
    packages: dict[str, str] = Field(default_factory=dict)
    seed: int = 0
    device: str = "cpu"
    hardware: str | None = None
    git_commit: str | None = None


class RunResult(BaseModel):
    """What a run measured, about which model, in which environment."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal["2"] = SCHEMA_VERSION
    run_id: str
    created_at: str = Field(description="ISO-8601 UTC")
    model: ModelInfo
    suites: list[str]
    suite_status: dict[str, SuiteStatus] = Field(default_factory=dict)
    metrics: list[Metric]
    datasets: list[DatasetUse] = Field(default_factory=list)
    environment: Environment
    timings: dict[str, float] = Field(default_factory=dict)
    cache: dict[str, int] = Field(
        default_factory=dict,
        description="requests sent, served by lm-eval's response cache, reaching the model; item records reused",
    )
    details: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="per suite, structured evidence behind its metrics (reliability bins, per-group tables, ...)",
    )

    def metric(self, name: str) -> Metric | None:
        for metric in self.metrics:
            if metric.name == name:
                return metric
        return None

    def metric_map(self) -> dict[str, Metric]:
        return {m.name: m for m in self.metrics}

    def summary_metrics(self) -> list[Metric]:
        """Whole-suite metrics (headline and overall), in the order measured; breakdowns have their own tables."""
        return [m for m in self.metrics if not m.is_breakdown]

    def headline_metrics(self) -> list[Metric]:
        return [m for m in self.metrics if m.scope == "headline"]

    def breakdown(self, suite: str, scope: Scope) -> list[Metric]:
        return [m for m in self.metrics if m.suite == suite and m.scope == scope]


class ItemRecord(BaseModel):
    """One evaluated item, the raw material of every metric.

    Multiple-choice items keep every choice's log-likelihood; ``confidence`` is the
    softmax probability of the predicted choice over those log-likelihoods. Generated
    items keep the raw text and the extracted answer.
    """

    model_config = ConfigDict(extra="forbid")

    suite: str
    item_id: str
    variant: str = "clean"
    subject: str | None = None
    prompt_hash: str
    choices: list[str] | None = None
    loglikelihoods: list[float] | None = None
    generated: str | None = None
    prediction: str | int | None = None
    target: str | int
    correct: bool
    confidence: float | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


def write_results(run_dir: Path, result: RunResult) -> Path:
    return atomic_write_json(run_dir / RESULTS_FILE, result.model_dump(mode="json"))


def write_items(path: Path, records: list[ItemRecord]) -> Path:
    return atomic_write_jsonl(path, (r.model_dump(mode="json", exclude_defaults=False) for r in records))


def read_items(path: Path) -> list[ItemRecord]:
    records = []
    with open(path, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                records.append(ItemRecord.model_validate_json(line))
            except ValidationError as exc:
                raise InputError(f"{path}:{lineno}: not an item record ({first_error(exc)})") from None
    return records


def resolve_results_path(ref: str | Path) -> Path:
    """A run directory or a results.json file -> the results.json path."""
    path = Path(ref)
    if path.is_dir():
        path = path / RESULTS_FILE
    if not path.is_file():
        raise InputError(f"{ref}: no such run (expected a run directory or its {RESULTS_FILE})")
    return path


def load_results(ref: str | Path) -> RunResult:
    """Read and validate results.json; a corrupt or foreign file is a one-line error.

    Files of an earlier schema version are upgraded in memory (never rewritten).
    """
    from harness.schema.legacy import SUPPORTED_VERSIONS, upgrade

    path = resolve_results_path(ref)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a UTF-8 text file") from None
    if isinstance(raw, dict):
        version = raw.get("schema_version")
        if version not in (None, *SUPPORTED_VERSIONS):
            raise InputError(
                f"{path}: schema_version {version!r} is not supported (expected one of {', '.join(SUPPORTED_VERSIONS)})"
            )
        raw = upgrade(raw)
    try:
        return RunResult.model_validate(raw)
    except ValidationError as exc:
        raise InputError(f"{path}: does not match the results schema ({first_error(exc)})") from None


def first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "top level"
    return f"field {where}: {err['msg']}"


def results_json_schema() -> dict[str, Any]:
    schema = RunResult.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://harness.dev/schema/results-{SCHEMA_VERSION}.json"
    return schema
