"""The training configuration (``harness train CONFIG.yaml``), validated with file, line and field errors.

Defaults follow the methodology: LoRA rank 16, alpha 32, dropout 0.05, learning
rate 2e-4, warmup ratio 0.1, cosine schedule, early stopping patience 3 and threshold
0.001, data mixing such as domain 0.8 and general replay 0.2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.errors import InputError
from harness.files.yaml_files import read_yaml, validate_yaml


class LoraSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    rank: int = Field(default=16, ge=1)
    alpha: int = Field(default=32, ge=1)
    dropout: float = Field(default=0.05, ge=0, lt=1)
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    kind: Literal["cosine"] = "cosine"
    warmup_ratio: float | None = Field(default=0.1, ge=0, lt=1)
    warmup_steps: int | None = Field(default=None, ge=0)
    min_lr: float = Field(default=0.0, ge=0)
    cycles: int = Field(default=1, ge=1, description="cosine restarts (1: none)")


class EarlyStopping(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    patience: int = Field(default=3, ge=1, description="evaluations without improvement before stopping")
    threshold: float = Field(default=0.001, ge=0, description="smallest fall of eval loss that counts as improvement")


class DataSource(BaseModel):
    """A training dataset: a registered version, or a file registered on the way."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    dataset: str | None = Field(default=None, description="NAME@VERSION of a registered dataset")
    file: Path | None = None
    name: str | None = Field(default=None, description="name to register `file` under")
    weight: float = Field(default=1.0, gt=0, description="share of the training mix (normalised over sources)")
    expectations: str | None = Field(default=None, description="expectation suite the preflight validates against")
    ratings: Path | None = Field(default=None, description="expert ratings whose agreement the preflight checks")

    @field_validator("file", "ratings", mode="before")
    @classmethod
    def _path_given(cls, value: object) -> object:
        return _non_empty_path(value)

    @model_validator(mode="after")
    def _one_source(self) -> DataSource:
        if (self.dataset is None) == (self.file is None):
            raise ValueError("give exactly one of dataset (NAME@VERSION) or file")
        if self.file is not None and not self.name:
            raise ValueError("a file needs the name to register it under")
        return self


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(min_length=1, description="registry name of the adapter")
    base_model: str
    data: list[DataSource] = Field(min_length=1)
    lora: LoraSettings = Field(default_factory=LoraSettings)
    epochs: float = Field(default=3, gt=0)
    learning_rate: float = Field(default=2e-4, gt=0)
    batch_size: int = Field(default=8, ge=1)
    gradient_accumulation: int = Field(default=1, ge=1)
    max_length: int = Field(default=512, ge=16)
    schedule: Schedule = Field(default_factory=Schedule)
    weight_decay: float = Field(default=0.0, ge=0)
    seed: int = Field(default=0, ge=0, le=2**32 - 1, description="seed of every random number generator")
    eval_every: int = Field(default=20, ge=1, description="evaluate (eval loss) every N optimiser steps")
    early_stopping: EarlyStopping = Field(default_factory=EarlyStopping)
    min_kappa: float = Field(default=0.7, ge=-1, le=1, description="preflight: agreement at or above this")
    policy: str = Field(default="eu-ai-act-high-risk", description="gate policy for the tuned model")
    suites: list[str] = Field(default_factory=lambda: ["mmlu", "domain"])
    eval_limit: int | None = Field(
        default=None,
        ge=1,
        le=10**9,
        description="items per MMLU subject, of GSM8K and of each kind of generated item in the gate's runs",
    )
    eval_limits: dict[str, int | None] = Field(
        default_factory=dict,
        description="a suite's own item limit in the gate's runs instead of eval_limit (null: every item), "
        "as `harness run --suite-limit SUITE=N|all`",
    )
    max_gen_toks: int | None = Field(default=None, ge=1, description="cap on generated tokens in the gate's runs")
    output_dir: Path = Field(
        default=Path("training-runs"), description="work folder; promoted adapters go to <output_dir>/registry"
    )

    @field_validator("output_dir", mode="before")
    @classmethod
    def _output_given(cls, value: object) -> object:
        return _non_empty_path(value)

    @model_validator(mode="after")
    def _schedule_fits(self) -> TrainConfig:
        if self.schedule.min_lr > self.learning_rate:
            raise ValueError("schedule.min_lr must not exceed learning_rate")
        return self

    @model_validator(mode="after")
    def _limits_fit(self) -> TrainConfig:
        for suite, limit in self.eval_limits.items():
            if suite not in self.suites:
                raise ValueError(f"eval_limits names {suite}, which is not one of suites ({', '.join(self.suites)})")
            if limit is not None and not 1 <= limit <= 10**9:
                raise ValueError(f"eval_limits.{suite} must be a positive number of items or null (every item)")
        return self

    def mix(self) -> list[tuple[DataSource, float]]:
        """Sources with weights normalised to sum to 1."""
        total = sum(s.weight for s in self.data)
        return [(s, s.weight / total) for s in self.data]


def _non_empty_path(value: object) -> object:
    """An empty path would silently mean the current folder: refuse it."""
    if isinstance(value, str) and not value.strip():
        raise ValueError("an empty path; give a file or folder")
    return value


def load_train_config(path: str | Path) -> TrainConfig:
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a training config file")
    if not path.is_file():
        raise InputError(f"{path}: no such training config")
    root, data = read_yaml(path, InputError)
    if not isinstance(data, dict):
        raise InputError(f"{path}:1: a training config is a mapping (name, base_model, data, ...)")
    return validate_yaml(TrainConfig, data, path=path, root=root, error=InputError, what="config")
