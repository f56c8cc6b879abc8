"""What every suite provides: engine tasks from data, metrics from item records."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from harness.results import DatasetUse, ItemRecord, Metric, proportion_metric

# Per metric, per item key: was the item answered correctly? The raw material of paired
# comparisons (forgetting, A/B): two runs are compared item by item on these.
Outcomes = dict[str, dict[str, bool]]


@dataclass(frozen=True)
class SuiteOptions:
    """Run-wide settings a suite may read."""

    data_dir: Path | None
    cache_dir: Path
    limit: int | None = None
    num_fewshot: int | None = None
    hub_allowed: bool = True
    gen_kwargs: dict[str, Any] = field(default_factory=dict)
    seed: int = 0


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
    # True when the suite wrote exactly the items to evaluate (variants of the first N
    # items), so the engine must not cut them again with --limit.
    self_limited: bool = False


@dataclass
class SuiteScores:
    """What a suite computes from item records: metrics, the evidence behind them, caveats."""

    metrics: list[Metric]
    details: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class Suite(Protocol):
    name: str
    engine: str  # "lm-eval", or "derived" for suites computed from other suites' records
    headline: str
    requires: tuple[str, ...]  # suites whose records a derived suite reads

    def prepare(self, options: SuiteOptions) -> PreparedSuite: ...

    def score(self, records: list[ItemRecord]) -> SuiteScores: ...

    def outcomes(self, records: list[ItemRecord]) -> Outcomes: ...


def proportion_metrics(outcomes: Outcomes) -> list[Metric]:
    """Each outcome set as a proportion with its Wilson interval, in the given order."""
    return [proportion_metric(name, sum(per_item.values()), len(per_item)) for name, per_item in outcomes.items()]
