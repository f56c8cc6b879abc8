"""``harness run``: a model through its suites into a run directory and the run store.

Run directory layout::

    <out>/<run_id>/
        run-spec.json          what was asked (lets --resume continue an interrupted run)
        results.json           RunResult (the schema every later stage reads)
        items.jsonl            one ItemRecord per evaluated item
        lm_eval/<suite>/...    lm-eval's own results and per-sample output, kept for audit
        .partial/<suite>.jsonl finished suites of a run still in progress
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness.atomic import atomic_write_json
from harness.data_dir import hub_allowed
from harness.engines.lm_eval_engine import LM_EVAL_SEEDS, LmEvalEngine
from harness.environment import capture_environment
from harness.errors import DataError, InputError
from harness.modelref import ModelRef
from harness.results import (
    ITEMS_FILE,
    RESULTS_FILE,
    DatasetUse,
    ItemRecord,
    Metric,
    ModelInfo,
    RunResult,
    SuiteStatus,
    read_items,
    write_items,
    write_results,
)
from harness.store import RunStore
from harness.suites import get_suites
from harness.suites.base import PreparedSuite, SuiteOptions

SPEC_FILE = "run-spec.json"
PARTIAL_DIR = ".partial"


@dataclass
class RunSpec:
    """Everything ``harness run`` was asked, so an interrupted run can resume."""

    base: str
    suites: list[str]
    adapter: str | None = None
    revision: str | None = None
    dtype: str = "float32"
    device: str = "cpu"
    allow_pickle: bool = False
    trust_remote_code: bool = False
    data_dir: str | None = None
    limit: int | None = None
    num_fewshot: int | None = None
    batch_size: int = 8
    gen_kwargs: dict[str, Any] = field(default_factory=dict)
    skip_unavailable: bool = False

    def model_ref(self) -> ModelRef:
        return ModelRef(
            base=self.base,
            adapter=self.adapter,
            revision=self.revision,
            dtype=self.dtype,
            device=self.device,
            allow_pickle=self.allow_pickle,
            trust_remote_code=self.trust_remote_code,
        )

    @classmethod
    def load(cls, run_dir: Path) -> RunSpec:
        path = run_dir / SPEC_FILE
        if not path.is_file():
            raise InputError(f"{run_dir}: not a run directory (no {SPEC_FILE}) and cannot be resumed")
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8"))["spec"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: unreadable run spec ({exc})") from None


Progress = Callable[[str], None]


def new_run_id(fingerprint: str, now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{fingerprint.removeprefix('sha256:')[:8]}"


def execute_run(
    spec: RunSpec,
    out_dir: Path,
    *,
    store: RunStore | None,
    cache_root: Path | None,
    resume_dir: Path | None = None,
    engine: LmEvalEngine | None = None,
    progress: Progress = lambda message: None,
) -> tuple[RunResult, Path]:
    """Evaluate ``spec`` and write the run; returns the result and its directory."""
    if spec.limit is not None and spec.limit < 1:
        raise InputError(f"--limit must be a positive number of items, got {spec.limit}")
    suites = get_suites(spec.suites)
    model = spec.model_ref()
    model.check()
    fingerprint = model.fingerprint()
    started = time.perf_counter()
    now = datetime.now(timezone.utc)

    if resume_dir is not None:
        out_dir = resume_dir.parent  # a resumed run keeps its own folder, whatever --out says
    options = SuiteOptions(
        data_dir=Path(spec.data_dir) if spec.data_dir else None,
        cache_dir=cache_root or out_dir / ".cache",
        limit=spec.limit,
        num_fewshot=spec.num_fewshot,
        hub_allowed=hub_allowed(),
        gen_kwargs=spec.gen_kwargs,
    )
    statuses: dict[str, SuiteStatus] = {}
    prepared_suites = []
    for suite in suites:  # every data problem surfaces before anything is written
        try:
            prepared_suites.append((suite, suite.prepare(options)))
        except DataError as exc:
            if not spec.skip_unavailable:
                raise
            statuses[suite.name] = SuiteStatus(status="skipped", reason=str(exc), engine=suite.engine)
            progress(f"{suite.name}: skipped ({exc})")

    if resume_dir is not None:
        run_dir = resume_dir
        if (run_dir / RESULTS_FILE).is_file():
            raise InputError(f"{run_dir}: this run finished already; nothing to resume")
        previous = json.loads((run_dir / SPEC_FILE).read_text(encoding="utf-8"))
        if previous.get("fingerprint") != fingerprint:
            raise InputError(f"{run_dir}: the model changed since this run started (fingerprint differs); start a new run")
        run_id, created_at = previous["run_id"], previous["created_at"]
    else:
        run_id, created_at = new_run_id(fingerprint, now), now.isoformat(timespec="seconds")
        run_dir = out_dir / run_id
        if run_dir.exists():
            raise InputError(f"{run_dir} already exists")
        atomic_write_json(
            run_dir / SPEC_FILE,
            {"run_id": run_id, "created_at": created_at, "fingerprint": fingerprint, "spec": asdict(spec)},
        )

    engine = engine or LmEvalEngine(model, cache_root=cache_root, batch_size=spec.batch_size)
    all_records: list[ItemRecord] = []
    metrics: list[Metric] = []
    datasets: list[DatasetUse] = []
    timings: dict[str, float] = {}
    cache = {"requests": 0, "model_calls": 0, "cache_hits": 0}

    details: dict[str, dict[str, Any]] = {}
    for suite, prepared in prepared_suites:
        suite_started = time.perf_counter()
        if suite.engine == "derived":
            missing = [name for name in suite.requires if statuses.get(name) is None or statuses[name].status != "completed"]
            if missing:
                statuses[suite.name] = SuiteStatus(status="skipped", reason=f"needs suite {missing[0]}, which did not run", engine=suite.engine)
                progress(f"{suite.name}: skipped (needs {missing[0]})")
                continue
            records, inputs = [], [r for r in all_records if r.suite in suite.requires]
            progress(f"{suite.name}: computed from {len(inputs)} {'/'.join(suite.requires)} records, no model call")
        else:
            records = _evaluate_suite(suite.name, prepared, engine, run_dir, spec.limit, cache, progress)
            inputs = records
        all_records.extend(records)
        scores = suite.score(inputs)
        timings[f"suite.{suite.name}"] = round(time.perf_counter() - suite_started, 3)
        metrics.extend(scores.metrics)
        if scores.details:
            details[suite.name] = scores.details
        datasets.extend(prepared.datasets)
        for warning in scores.warnings:
            progress(f"{suite.name}: warning: {warning}")
        statuses[suite.name] = SuiteStatus(
            status="completed", n_items=len(inputs), engine=suite.engine, warnings=scores.warnings,
            settings=prepared.settings | {"limit": spec.limit},
        )
    timings["total"] = round(time.perf_counter() - started, 3)

    result = RunResult(
        run_id=run_id,
        created_at=created_at,
        model=ModelInfo(**model.describe()),
        suites=[suite.name for suite in suites],
        suite_status=statuses,
        metrics=metrics,
        datasets=datasets,
        environment=capture_environment(spec.device, LM_EVAL_SEEDS["random_seed"]),
        timings=timings,
        cache=cache,
        details=details,
    )
    write_items(run_dir / ITEMS_FILE, all_records)
    write_results(run_dir, result)
    for leftover in (run_dir / PARTIAL_DIR).glob("*.jsonl"):
        leftover.unlink()
    if (run_dir / PARTIAL_DIR).is_dir():
        (run_dir / PARTIAL_DIR).rmdir()
    if store is not None:
        store.index_run(result, run_dir, headline_metrics(result, [s.headline for s in suites]))
    return result, run_dir


def _evaluate_suite(
    name: str, prepared: PreparedSuite, engine: LmEvalEngine, run_dir: Path, limit: int | None,
    cache: dict[str, int], progress: Progress,
) -> list[ItemRecord]:
    """Records of one engine suite: from its checkpoint if an interrupted run left one, else from the engine."""
    partial = run_dir / PARTIAL_DIR / f"{name}.jsonl"
    if partial.is_file():
        records = read_items(partial)
        progress(f"{name}: {len(records)} items reused from the interrupted run")
        return records
    progress(f"{name}: evaluating {len(prepared.tasks)} task(s) with {engine.name}")
    output = engine.evaluate(prepared.tasks, run_dir / "lm_eval" / name, limit=None if prepared.self_limited else limit)
    write_items(partial, output.records)
    cache["requests"] += output.requests
    cache["model_calls"] += output.model_calls
    cache["cache_hits"] += output.cache_hits
    return output.records


def headline_metrics(result: RunResult, names: list[str]) -> dict[str, Any]:
    out = {}
    for name in names:
        metric = result.metric(name)
        if metric is not None:
            out[name] = {"value": metric.value, "n": metric.n, "ci_low": metric.ci_low, "ci_high": metric.ci_high}
    return out
