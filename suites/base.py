"""What every suite provides: engine tasks from data, metrics from item records."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from harness.results import DatasetUse, ItemRecord, Metric


@dataclass(frozen=True)
class SuiteOptions:
    """Run-wide settings a suite may read."""

    data_dir: Path | None
    cache_dir: Path
    limit: int | None = None
    num_fewshot: int | None = None
    hub_allowed: bool = True
    gen_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskSpec:
    """One lm-eval task of a suite, written as a task YAML by the suite."""

    task_name: str
    suite: str
    item_prefix: str
    yaml_text: str
    subject: str | None = None
    primary_filter: str = "none"
    primary_metric: str = "acc"
    choices: tuple[str, ...] | None = None


@dataclass
class PreparedSuite:
    tasks: list[TaskSpec]
    datasets: list[DatasetUse]
    settings: dict[str, Any]


class Suite(Protocol):
    name: str
    engine: str
    headline: str

    def prepare(self, options: SuiteOptions) -> PreparedSuite: ...

    def metrics(self, records: list[ItemRecord]) -> list[Metric]: ...
