"""Intake and selection policies: YAML, validated, every problem named by file, line and field.

An intake policy (shipped: ``base-model-minimums``) lists the checks a base model must
pass before anyone fine-tunes it and the benchmark minimums it must reach; a selection
policy (shipped: ``selection``) weighs those rows to choose between candidates. Neither has
a top-level ``rules:`` key, so the gate never offers them as gate policies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.errors import PolicyError
from harness.files.hashing import sha256_file
from harness.files.shipped import shipped_files
from harness.files.yaml_files import read_yaml, shipped_or_path, validate_yaml
from harness.intake.record import PolicyIdentity, Severity

CheckName = Literal[
    "licence",
    "decoder_only",
    "attention",
    "positional_encoding",
    "activation",
    "normalisation",
    "parameters",
    "memory",
    "context_length",
    "vocabulary",
    "tokenizer_algorithm",
    "chat_template",
    "chars_per_token",
    "digits",
    "whitespace",
    "unknown_tokens",
]

# Which settings each check reads; any other setting given is refused.
CHECK_SETTINGS: dict[str, set[str]] = {
    "licence": {"conditions"},
    "decoder_only": set(),
    "attention": {"prefer"},
    "positional_encoding": {"accept", "prefer"},
    "activation": {"prefer"},
    "normalisation": {"prefer"},
    "parameters": {"max"},
    "memory": {"max", "dtype"},
    "context_length": {"min", "good"},
    "vocabulary": {"min", "max", "accept"},
    "tokenizer_algorithm": {"accept"},
    "chat_template": set(),
    "chars_per_token": {"min", "good", "language"},
    "digits": {"min"},
    "whitespace": set(),
    "unknown_tokens": {"max", "warn_until"},
}
REQUIRED_SETTINGS: dict[str, set[str]] = {
    "context_length": {"min"},
    "vocabulary": {"min"},
    "tokenizer_algorithm": {"accept"},
    "chars_per_token": {"min", "language"},
    "unknown_tokens": {"max"},
    "positional_encoding": {"accept"},
}


class Check(BaseModel):
    """One intake check: what it measures, its threshold, whether failing it blocks, and why it matters."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    check: CheckName
    id: str | None = Field(default=None, description="row id; defaults to the check (plus the language)")
    label: str | None = None
    severity: Severity = "block"
    min: float | None = None
    good: float | None = Field(default=None, description="at or above it passes; between min and good warns")
    max: float | None = None
    warn_until: float | None = Field(default=None, description="above max but up to it warns")
    accept: list[str] | None = None
    prefer: str | None = None
    language: str | None = None
    dtype: Literal["float32", "bfloat16", "int8", "int4"] | None = None
    conditions: Literal["warn", "fail", "pass"] | None = Field(
        default=None, description="licence: the outcome of a licence acceptable with conditions (default warn)"
    )
    why: str = Field(min_length=1)
    source: str = Field(min_length=1, description="the methodology's section the threshold comes from")

    @model_validator(mode="after")
    def _settings_fit_the_check(self) -> Check:
        given = {
            k
            for k in ("min", "good", "max", "warn_until", "accept", "prefer", "language", "dtype", "conditions")
            if getattr(self, k) is not None
        }
        unknown = given - CHECK_SETTINGS[self.check]
        if unknown:
            raise ValueError(f"check {self.check} takes no {', '.join(sorted(unknown))}")
        missing = REQUIRED_SETTINGS.get(self.check, set()) - given
        if missing:
            raise ValueError(f"check {self.check} needs {', '.join(sorted(missing))}")
        if self.good is not None and self.min is not None and self.good < self.min:
            raise ValueError("good must not lie below min")
        if self.warn_until is not None and (self.max is None or self.warn_until < self.max):
            raise ValueError("warn_until must lie above max")
        return self

    @property
    def row_id(self) -> str:
        if self.id:
            return self.id
        return f"{self.check}.{self.language}" if self.language else self.check


class Minimum(BaseModel):
    """A benchmark minimum: the metric's value must lie above ``above``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    metric: str = Field(min_length=1)
    label: str = Field(min_length=1)
    above: float = Field(ge=0, le=1)
    severity: Severity = "block"
    suite: str = Field(min_length=1, description="the suite measuring it, for the hint how to run it")
    why: str = Field(min_length=1)
    source: str = Field(min_length=1)

    @property
    def row_id(self) -> str:
        return f"benchmark.{self.metric}"


class IntakePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(min_length=1)
    version: str | int = 1
    description: str | None = None
    checks: list[Check] = Field(min_length=1)
    benchmarks: list[Minimum] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_rows(self) -> IntakePolicy:
        seen: set[str] = set()
        for row in [c.row_id for c in self.checks] + [b.row_id for b in self.benchmarks]:
            if row in seen:
                raise ValueError(f"two checks share the row id {row!r}; give one an id")
            seen.add(row)
        return self


class Criterion(BaseModel):
    """A criterion of the decision matrix: an intake row or a benchmark metric, weighted."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    id: str = Field(min_length=1)
    label: str | None = None
    row: str | None = Field(default=None, description="an intake row id of the minimums policy")
    metric: str | None = Field(default=None, description="a benchmark metric (its minimum row judges it)")
    weight: float = Field(ge=0)
    required: bool = Field(default=False, description="a candidate failing it, or not measured on it, is not eligible")

    @model_validator(mode="after")
    def _one_source(self) -> Criterion:
        if (self.row is None) == (self.metric is None):
            raise ValueError("give exactly one of row, metric")
        return self

    @property
    def source(self) -> str:
        return self.row if self.row is not None else f"benchmark.{self.metric}"


class SelectionPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(min_length=1)
    version: str | int = 1
    description: str | None = None
    title: str = Field(min_length=1, description="what is being decided, e.g. 'Base model for ...'")
    context: str = Field(min_length=1, description="the decision's context, in the record's words")
    minimums: str = Field(default="base-model-minimums", description="the intake policy whose rows the criteria read")
    alpha: float = Field(default=0.05, gt=0, lt=1)
    forgetting_limit: float = Field(
        default=0.05, gt=0, lt=1, description="largest relative fall of a general benchmark after fine-tuning"
    )
    criteria: list[Criterion] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> SelectionPolicy:
        ids = [c.id for c in self.criteria]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise ValueError(f"two criteria share the id {duplicated[0]!r}")
        if not any(c.weight > 0 for c in self.criteria):
            raise ValueError("at least one criterion needs a weight above 0")
        return self


def _is_intake_policy(path: Path) -> bool:
    return any(line.startswith("checks:") for line in path.read_text(encoding="utf-8").splitlines())


def _is_selection_policy(path: Path) -> bool:
    return any(line.startswith("criteria:") for line in path.read_text(encoding="utf-8").splitlines())


def _identity(policy: IntakePolicy | SelectionPolicy, path: Path) -> PolicyIdentity:
    return PolicyIdentity(name=policy.name, version=str(policy.version), path=str(path), sha256=sha256_file(path))


def _load(ref: str | Path, model: type[Any], accepts: Any, what: str) -> tuple[Any, Path]:
    path = shipped_or_path(ref, "", PolicyError, what, accepts=accepts)
    root, data = read_yaml(path, PolicyError)
    if not isinstance(data, dict):
        raise PolicyError(f"{path}:1: an {what} is a mapping with name, ...")
    return validate_yaml(model, data, path=path, root=root, error=PolicyError, what=what), path


def load_intake_policy(ref: str | Path = "base-model-minimums") -> tuple[IntakePolicy, PolicyIdentity]:
    """An intake policy file, or the name of a shipped one; every problem names file, line and field."""
    policy, path = _load(ref, IntakePolicy, _is_intake_policy, "intake policy")
    return policy, _identity(policy, path)


def load_selection_policy(ref: str | Path = "selection") -> tuple[SelectionPolicy, PolicyIdentity]:
    """A selection policy file, or the name of a shipped one."""
    policy, path = _load(ref, SelectionPolicy, _is_selection_policy, "selection policy")
    return policy, _identity(policy, path)


def shipped_intake_policies() -> list[str]:
    return sorted(p.stem for p in shipped_files("", _is_intake_policy).values())


def shipped_selection_policies() -> list[str]:
    return sorted(p.stem for p in shipped_files("", _is_selection_policy).values())
