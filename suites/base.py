"""What every suite provides: engine-neutral tasks from data, metrics from item records.

Two kinds of suite:

- a :class:`MeasuredSuite` asks a model something: it describes its tasks
  (:class:`~harness.schema.tasks.TaskSpec`) and names the engine that runs them;
- a :class:`DerivedSuite` asks nothing: it computes its metrics from the records of the
  suites it requires (calibration from MMLU's log-likelihoods), which the runner adds
  to a run automatically.

A suite never touches a model or an engine; its metrics are pure functions of records.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from harness.schema.results import DatasetUse, ItemRecord, Metric, MetricKind, Scope
from harness.schema.tasks import TaskSpec

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


@dataclass
class PreparedSuite:
    tasks: list[TaskSpec]
    datasets: list[DatasetUse]
    settings: dict[str, Any]
    # True when the suite wrote exactly the items to evaluate (variants of the first N
    # items, a fixed held-out set), so the engine must not cut them again with --limit.
    self_limited: bool = False


@dataclass
class SuiteScores:
    """What a suite computes from item records: metrics, the evidence behind them, caveats."""

    metrics: list[Metric]
    details: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class Suite(ABC):
    """A named set of metrics computed from item records."""

    name: ClassVar[str]
    headline: ClassVar[str]  # the name of the suite's one headline metric
    requires: tuple[str, ...] = ()  # suites whose records this one reads
    runs_model_code: ClassVar[bool] = False  # scoring executes code the model wrote (needs allow_code_execution)

    @abstractmethod
    def prepare(self, options: SuiteOptions) -> PreparedSuite: ...

    @abstractmethod
    def score(self, records: list[ItemRecord]) -> SuiteScores: ...

    def outcomes(self, records: list[ItemRecord]) -> Outcomes:
        """Per-item correctness for each proportion metric (empty when the suite has none)."""
        return {}

    def scope_of(self, metric_name: str) -> tuple[Scope, str | None]:
        """(scope, slice) of one of this suite's outcome metrics: the headline, or a breakdown."""
        return ("headline", None) if metric_name == self.headline else ("overall", None)

    def proportion_metrics(
        self, outcomes: Outcomes, kind: MetricKind, chance: Mapping[str, float | None] | None = None
    ) -> list[Metric]:
        """Each outcome set as a described proportion with its Wilson interval, in the given order.

        ``chance`` gives a metric's chance level where its items decide it (see :func:`chance_level`);
        a metric it does not name keeps the kind's.
        """
        out = []
        for name, per_item in outcomes.items():
            scope, slice_ = self.scope_of(name)
            described = kind.with_chance(chance[name]) if chance is not None and name in chance else kind
            out.append(
                described.proportion(
                    name, sum(per_item.values()), len(per_item), suite=self.name, scope=scope, slice=slice_
                )
            )
        return out


def choice_count(record: ItemRecord) -> int | None:
    """How many choices a multiple-choice item offered (its log-likelihoods, else its choices); None for others."""
    if record.loglikelihoods:
        return len(record.loglikelihoods)
    if record.choices:
        return len(record.choices)
    return None


def chance_level(records: Iterable[ItemRecord]) -> float | None:
    """The accuracy a uniform random guess would expect on these items: the mean over items of 1/k.

    An item with k choices is answered right by a uniform guess with probability 1/k, so
    the expected accuracy over items is the mean of 1/k (1/k itself when every item has k
    choices). None when there is no item, or when an item is not multiple choice (a
    generated answer has no chance level).
    """
    inverse = []
    for record in records:
        k = choice_count(record)
        if k is None or k < 1:
            return None
        inverse.append(1.0 / k)
    return sum(inverse) / len(inverse) if inverse else None


def chance_levels(outcomes: Outcomes, records: Mapping[str, ItemRecord]) -> dict[str, float | None]:
    """Per outcome metric, :func:`chance_level` of its items, found in ``records`` by the outcome's item key."""
    return {
        name: chance_level(records[key] for key in per_item if key in records) if per_item else None
        for name, per_item in outcomes.items()
    }


class MeasuredSuite(Suite):
    """A suite that asks a model: its tasks go to the engine it names."""

    engine: ClassVar[str] = "lm-eval"


class DerivedSuite(Suite):
    """A suite computed from other suites' records; it makes no model request."""

    def prepare(self, options: SuiteOptions) -> PreparedSuite:
        return PreparedSuite(tasks=[], datasets=[], settings=self.settings(options))

    def settings(self, options: SuiteOptions) -> dict[str, Any]:
        return {"sources": list(self.requires)}


S = TypeVar("S", bound=type[Suite])

_REGISTERED: dict[str, Callable[[], Suite]] = {}


def register_suite(suite: S) -> S:
    """Class decorator: make a suite known to ``harness run --suites`` by its ``name``."""
    _REGISTERED[suite.name] = suite
    return suite


def registered() -> dict[str, Callable[[], Suite]]:
    return dict(_REGISTERED)
