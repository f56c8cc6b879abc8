"""The engine seam: a model in, a suite's tasks in, item records out.

An engine is the only code that talks to a model. It receives the model the runner
loaded (once per run, shared by every engine that needs weights), or a
:class:`~harness.models.endpoint.ServedModel` when the model runs behind an
OpenAI-compatible endpoint (then the engine sends requests instead), and engine-neutral
task descriptions (:mod:`harness.schema.tasks`), and returns one
:class:`~harness.schema.results.ItemRecord` per evaluated document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from harness.schema.results import ItemRecord
from harness.schema.tasks import TaskSpec

if TYPE_CHECKING:
    from harness.models.endpoint import ServedModel
    from harness.models.modelref import LoadedModel


@dataclass(frozen=True)
class EngineSettings:
    """Run-wide settings an engine may read."""

    batch_size: int = 8
    response_cache: Path | None = None  # where an engine may keep request-level caches, per model
    judge: str | None = None  # a model that grades generated answers, for tasks that ask for one


@dataclass
class EngineOutput:
    records: list[ItemRecord]
    requests: int = 0
    model_calls: int = 0
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def cache_hits(self) -> int:
        return self.requests - self.model_calls


class Engine(Protocol):
    """What the runner needs of an engine."""

    name: str
    needs_weights: bool

    def version(self) -> str:
        """The engine and the version of the library behind it; part of every task's identity."""
        ...

    def evaluate(
        self,
        model: LoadedModel | ServedModel | None,
        tasks: Sequence[TaskSpec],
        work_dir: Path,
        *,
        limit: int | None = None,
        documents: Mapping[str, Sequence[int]] | None = None,
    ) -> EngineOutput:
        """Evaluate ``tasks``; ``documents`` (task name -> document indices) or ``limit`` selects what to ask.

        Engine-specific artefacts (logs, raw outputs) are kept under ``work_dir``.
        """
        ...
