"""``harness run``: a model through its suites into a run directory and the run store.

Run directory layout::

    <out>/<run_id>/
        run-spec.json          what was asked (lets --resume continue an interrupted run)
        results.json           RunResult (the schema every later stage reads)
        items.jsonl            one ItemRecord per evaluated item
        <engine>/<suite>/...   the engine's own output (lm-eval's results and samples), kept for audit
        .partial/<suite>.jsonl finished suites of a run still in progress

The runner loads the model at most once per run, and only when an engine must ask it
something: records already measured for the same model, engine and task are taken from
the run store, so a rerun of an unchanged model costs no model call.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.engines import Engine, EngineSettings, create_engine
from harness.errors import DataError, InputError, NotAllowedError
from harness.files.atomic import atomic_write_json
from harness.models.endpoint import EndpointRef
from harness.models.modelref import ModelRef
from harness.paths import hub_allowed
from harness.runner.environment import capture_environment
from harness.runner.spec import SPEC_FILE, RunSpec, check_resume, read_spec_file
from harness.schema.results import (
    ITEMS_FILE,
    RESULTS_FILE,
    DatasetUse,
    Environment,
    ItemRecord,
    Metric,
    ModelInfo,
    RunResult,
    SuiteStatus,
    read_items,
    write_items,
    write_results,
)
from harness.schema.tasks import TaskSpec
from harness.store.runs import RunStore
from harness.suites import DerivedSuite, MeasuredSuite, PreparedSuite, Suite, SuiteOptions, get_suites

if TYPE_CHECKING:
    from harness.models.endpoint import ServedModel
    from harness.models.modelref import LoadedModel

PARTIAL_DIR = ".partial"
SEED = 0

Progress = Callable[[str], None]


def new_run_id(fingerprint: str, now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{fingerprint.removeprefix('sha256:')[:8]}"


@dataclass
class RunContext:
    """One run's shared state: the model (loaded at most once, on first need) and its engines."""

    spec: RunSpec
    store: RunStore | None
    settings: EngineSettings
    engines: dict[str, Engine] = field(default_factory=dict)
    loaded: LoadedModel | ServedModel | None = None
    reuse: bool = True
    counts: dict[str, int] = field(
        default_factory=lambda: {"requests": 0, "model_calls": 0, "cache_hits": 0, "reused_items": 0}
    )
    records: list[ItemRecord] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)
    datasets: list[DatasetUse] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)

    def engine(self, name: str) -> Engine:
        if name not in self.engines:
            self.engines[name] = create_engine(name, self.settings)
        return self.engines[name]

    def model(self) -> LoadedModel | ServedModel:
        if self.loaded is None:
            self.loaded = self.spec.model.load()
        return self.loaded


def execute_run(
    spec: RunSpec,
    out_dir: Path,
    *,
    store: RunStore | None,
    cache_root: Path | None,
    data_cache: Path | None = None,
    resume_dir: Path | None = None,
    engines: Mapping[str, Engine] | None = None,
    model: LoadedModel | ServedModel | None = None,
    progress: Progress = lambda message: None,
) -> tuple[RunResult, Path]:
    """Evaluate ``spec`` and write the run; returns the result and its directory.

    ``cache_root`` None turns off every reuse of model outputs (lm-eval's response cache
    and stored item records); ``data_cache`` keeps documents converted from benchmark
    files, named by their content [default: ``cache_root``, else ``<out>/.cache``].
    ``engines`` and ``model`` let a caller share an engine or an already loaded model
    between runs.

    The run is indexed in ``store`` as it starts (status running) and completed once its
    results.json is written. ``resume_dir`` continues an interrupted run; ``spec`` must then
    match the spec it started with (:func:`~harness.runner.spec.check_resume`). A run that
    fails before any suite finished leaves neither folder nor store row; one with finished
    suites keeps them for ``--resume``.
    """
    spec.check_limits()
    if resume_dir is not None:
        check_resume(_resumable_spec(resume_dir, store), spec)
    suites = get_suites(spec.suites)
    ref = spec.model
    ref.check()
    fingerprint = ref.fingerprint()
    started = time.perf_counter()
    now = datetime.now(timezone.utc)

    if resume_dir is not None:
        out_dir = resume_dir.parent  # a resumed run keeps its own folder, whatever --out says
    options = SuiteOptions(
        data_dir=Path(spec.data_dir) if spec.data_dir else None,
        cache_dir=data_cache or cache_root or out_dir / ".cache",
        limit=spec.limit,
        num_fewshot=spec.num_fewshot,
        hub_allowed=hub_allowed(),
        gen_kwargs=spec.gen_kwargs,
        seed=SEED,
    )
    statuses: dict[str, SuiteStatus] = {}
    prepared_suites = []
    for suite in suites:  # every data problem surfaces before anything is written
        try:
            if suite.runs_model_code and not spec.allow_code_execution:
                raise NotAllowedError(
                    f"suite {suite.name} runs the code the model writes (in a sandboxed subprocess): "
                    "pass --allow-code-execution to allow it"
                )
            prepared_suites.append((suite, suite.prepare(replace(options, limit=spec.limit_for(suite.name)))))
        except (DataError, NotAllowedError) as exc:
            if not spec.skip_unavailable:
                raise
            statuses[suite.name] = SuiteStatus(
                status="skipped", reason=str(exc), engine=_engine_name(suite), headline=suite.headline
            )
            progress(f"{suite.name}: skipped ({exc})")
    if isinstance(ref, EndpointRef) and any(
        task.output == "multiple_choice" for _, prepared in prepared_suites for task in prepared.tasks
    ):
        ref.check_prompt_logprobs()  # a server whose log-likelihoods would be silently wrong is refused here

    run_id, created_at, run_dir = _open_run_dir(spec, out_dir, resume_dir, fingerprint, now)
    try:
        if store is not None:
            store.start_run(
                run_id,
                created_at,
                model_base=ref.base,
                model_adapter=ref.adapter,
                fingerprint=fingerprint,
                suites=[suite.name for suite in suites],
                run_dir=run_dir,
            )
        context = RunContext(
            spec=spec,
            store=store,
            settings=EngineSettings(batch_size=spec.batch_size, response_cache=cache_root, judge=spec.judge),
            engines=dict(engines or {}),
            loaded=model,
            reuse=cache_root is not None,
        )
        _run_suites(prepared_suites, statuses, context, run_dir, progress)
        timings = context.timings | {"total": round(time.perf_counter() - started, 3)}
        result = RunResult(
            run_id=run_id,
            created_at=created_at,
            model=ModelInfo(**ref.describe()),
            suites=[suite.name for suite in suites],
            suite_status=statuses,
            metrics=context.metrics,
            datasets=context.datasets,
            environment=_environment(ref),
            timings=timings,
            cache=context.counts,
            details=context.details,
        )
        write_items(run_dir / ITEMS_FILE, context.records)
        write_results(run_dir, result)
    except Exception:
        _after_failure(spec, run_id, run_dir, store, resumed=resume_dir is not None, progress=progress)
        raise
    for leftover in (run_dir / PARTIAL_DIR).glob("*.jsonl"):
        leftover.unlink()
    if (run_dir / PARTIAL_DIR).is_dir():
        (run_dir / PARTIAL_DIR).rmdir()
    if store is not None:
        store.index_run(result, run_dir, headline_metrics(result, [s.headline for s in suites]))
    return result, run_dir


def _run_suites(
    prepared_suites: Sequence[tuple[Suite, PreparedSuite]],
    statuses: dict[str, SuiteStatus],
    context: RunContext,
    run_dir: Path,
    progress: Progress,
) -> None:
    """Measure (or derive) each prepared suite in order; results accumulate in ``context`` and ``statuses``."""
    spec = context.spec
    for suite, prepared in prepared_suites:
        suite_started = time.perf_counter()
        if isinstance(suite, DerivedSuite):
            missing = [
                name for name in suite.requires if statuses.get(name) is None or statuses[name].status != "completed"
            ]
            if missing:
                statuses[suite.name] = SuiteStatus(
                    status="skipped",
                    reason=f"needs suite {missing[0]}, which did not run",
                    engine=None,
                    headline=suite.headline,
                )
                progress(f"{suite.name}: skipped (needs {missing[0]})")
                continue
            records: list[ItemRecord] = []
            inputs = [r for r in context.records if r.suite in suite.requires]
            progress(f"{suite.name}: computed from {len(inputs)} {'/'.join(suite.requires)} records, no model call")
        else:
            assert isinstance(suite, MeasuredSuite)
            records = _measure(suite, prepared, context, run_dir, progress)
            inputs = records
        context.records.extend(records)
        scores = suite.score(inputs)
        context.timings[f"suite.{suite.name}"] = round(time.perf_counter() - suite_started, 3)
        context.metrics.extend(scores.metrics)
        if scores.details:
            context.details[suite.name] = scores.details
        context.datasets.extend(prepared.datasets)
        for warning in scores.warnings:
            progress(f"{suite.name}: warning: {warning}")
        statuses[suite.name] = SuiteStatus(
            status="completed",
            n_items=len(inputs),
            engine=_engine_name(suite),
            warnings=scores.warnings,
            settings=prepared.settings | {"limit": spec.limit_for(suite.name)},
            headline=suite.headline,
        )


def _resumable_spec(resume_dir: Path, store: RunStore | None) -> RunSpec:
    """The spec an interrupted run started with; a run that finished already is refused (and,
    if it was killed before the store heard of its results, indexed now)."""
    if (resume_dir / RESULTS_FILE).is_file():
        if store is not None:
            from harness.runner.resolve import resolve_run

            resolve_run(store, resume_dir)
        raise InputError(f"{resume_dir}: this run finished already; nothing to resume")
    return RunSpec.from_dict(read_spec_file(resume_dir)["spec"])


def _after_failure(
    spec: RunSpec, run_id: str, run_dir: Path, store: RunStore | None, *, resumed: bool, progress: Progress
) -> None:
    """A run that failed leaves no orphan: with no suite finished its folder and store row go; with
    some finished they stay, and the user is told how to continue."""
    if (run_dir / RESULTS_FILE).is_file():
        return
    finished = sorted(p.stem for p in (run_dir / PARTIAL_DIR).glob("*.jsonl"))
    if finished or resumed:
        if finished:
            again = "" if isinstance(spec.model, EndpointRef) else f" {spec.model.base}"
            progress(
                f"run {run_id} stopped; its finished suites ({', '.join(finished)}) are kept: "
                f"continue with `harness run{again} --resume {run_dir}`"
            )
        return
    shutil.rmtree(run_dir, ignore_errors=True)
    if store is not None:
        try:
            store.remove_run(run_id)
        except Exception as cleanup:  # the run's own error (perhaps the store's) is the one to report
            progress(f"run {run_id}: could not remove its store row ({cleanup})")


def _engine_name(suite: object) -> str | None:
    return suite.engine if isinstance(suite, MeasuredSuite) else None


def _open_run_dir(
    spec: RunSpec, out_dir: Path, resume_dir: Path | None, fingerprint: str, now: datetime
) -> tuple[str, str, Path]:
    """(run id, creation time, directory) of a new run, or of the interrupted run being resumed."""
    if resume_dir is not None:
        previous = read_spec_file(resume_dir)
        if previous.get("fingerprint") != fingerprint:
            raise InputError(
                f"{resume_dir}: the model changed since this run started (fingerprint differs); start a new run"
            )
        return previous["run_id"], previous["created_at"], resume_dir
    run_id, created_at = new_run_id(fingerprint, now), now.isoformat(timespec="seconds")
    run_dir = out_dir / run_id
    taken = 1
    while True:  # claimed atomically: a second run of the same model in the same second gets "-2"
        try:
            run_dir.mkdir(parents=True, exist_ok=False)
            break
        except FileExistsError:
            taken += 1
            run_dir = out_dir / f"{run_id}-{taken}"
    run_id = run_dir.name
    atomic_write_json(
        run_dir / SPEC_FILE,
        {"run_id": run_id, "created_at": created_at, "fingerprint": fingerprint, "spec": spec.to_dict()},
    )
    return run_id, created_at, run_dir


def _measure(
    suite: MeasuredSuite, prepared: PreparedSuite, context: RunContext, run_dir: Path, progress: Progress
) -> list[ItemRecord]:
    """Records of one measured suite: from its checkpoint if an interrupted run left one, else
    stored records of the same model and task where there are any, and the engine for the rest."""
    partial = run_dir / PARTIAL_DIR / f"{suite.name}.jsonl"
    if partial.is_file():
        checkpointed = read_items(partial)
        progress(f"{suite.name}: {len(checkpointed)} items reused from the interrupted run")
        return checkpointed
    engine = context.engine(suite.engine)
    limit = None if prepared.self_limited else context.spec.limit_for(suite.name)
    plans = _plan(prepared.tasks, engine, context, limit)
    reused = sum(len(p.stored) for p in plans)
    if reused:
        wanted = sum(len(p.wanted or ()) for p in plans)
        progress(f"{suite.name}: {reused} of {wanted} items reused from earlier runs of this model")
    context.counts["reused_items"] += reused
    known = [p for p in plans if p.wanted is not None and p.missing]
    unknown = [p for p in plans if p.wanted is None]
    fresh: dict[str, ItemRecord] = {}
    unknown_records: list[ItemRecord] = []
    if known or unknown:
        progress(f"{suite.name}: evaluating {len(known) + len(unknown)} task(s) with {engine.name}")
        model = context.model() if engine.needs_weights else None
        work_dir = run_dir / engine.name.replace("-", "_") / suite.name
        if known:
            documents = {p.task.name: p.missing for p in known}
            output = engine.evaluate(model, [p.task for p in known], work_dir, documents=documents)
            fresh = {r.item_id: r for r in output.records}
            _count(context, output.requests, output.model_calls)
        if unknown:
            output = engine.evaluate(model, [p.task for p in unknown], work_dir, limit=limit)
            unknown_records = output.records
            _count(context, output.requests, output.model_calls)
    if fresh and context.store is not None and context.reuse:
        new = {p.key: [fresh[i] for i in p.wanted or () if i in fresh] for p in known}
        context.store.save_item_records(context.spec.model.cache_key(), engine.name, new)
    records: list[ItemRecord] = []
    for p in plans:
        if p.wanted is None:
            records += [r for r in unknown_records if r.item_id.startswith(f"{p.task.item_prefix}/")]
        else:
            records += [r for i in p.wanted if (r := p.stored.get(i) or fresh.get(i)) is not None]
    write_items(partial, records)
    return records


def _count(context: RunContext, requests: int, model_calls: int) -> None:
    context.counts["requests"] += requests
    context.counts["model_calls"] += model_calls
    context.counts["cache_hits"] += requests - model_calls


@dataclass
class _TaskPlan:
    """What one task needs: the item ids wanted (None: not known before the run), those stored, those to ask."""

    task: TaskSpec
    key: str
    wanted: list[str] | None
    stored: dict[str, ItemRecord] = field(default_factory=dict)
    missing: list[int] = field(default_factory=list)  # document indices the engine must be asked


def _environment(ref: ModelRef | EndpointRef) -> Environment:
    """The run's environment, with the model's architecture read from its files' headers when they are local
    (the dossier's Annex XI rows: parameters, layers, context length; never the weights)."""
    environment = capture_environment(ref.device, SEED)
    if isinstance(ref, ModelRef) and ref.kind == "local":
        from harness.models.architecture import model_architecture

        adapter = Path(ref.adapter) if ref.adapter else None
        architecture = model_architecture(Path(ref.base), adapter).to_dict()
        environment = environment.model_copy(update={"architecture": architecture})
    return environment


def _plan(tasks: Sequence[TaskSpec], engine: Engine, context: RunContext, limit: int | None) -> list[_TaskPlan]:
    version = engine.version()
    judged = f"{version}; judge {judge_identity(context.spec.judge)}" if context.spec.judge else version
    keys = {t.name: t.identity(judged if t.judge_question else version) for t in tasks}
    stored: dict[str, dict[str, ItemRecord]] = {}
    if context.store is not None and context.reuse:
        stored = context.store.item_records(context.spec.model.cache_key(), engine.name, keys.values())
    plans = []
    for task in tasks:
        if task.item_ids is None:  # documents unknown before the run (hub data): the engine is asked for all
            plans.append(_TaskPlan(task=task, key=keys[task.name], wanted=None))
            continue
        wanted = list(task.item_ids if limit is None else task.item_ids[:limit])
        known = stored.get(keys[task.name], {})
        missing = [i for i, item_id in enumerate(wanted) if item_id not in known]
        if missing and task.fewshot_order_dependent:
            missing = list(range(len(wanted)))  # a prompt depends on the documents before it: ask them all again
        asked = set(missing)
        found = {item_id: known[item_id] for i, item_id in enumerate(wanted) if i not in asked}
        plans.append(_TaskPlan(task=task, key=keys[task.name], wanted=wanted, stored=found, missing=missing))
    return plans


def judge_identity(judge: str) -> str:
    """What decides a judge's grades: a local model directory's fingerprint, else the name given.

    Records graded by one judge are never reused for a run that names another.
    """
    from harness.models.modelref import ModelRef

    local = Path(judge.removeprefix("hf/")).expanduser()
    if local.is_dir():
        return ModelRef(str(local)).fingerprint()
    return judge


def headline_metrics(result: RunResult, names: list[str]) -> dict[str, Any]:
    out = {}
    for name in names:
        metric = result.metric(name)
        if metric is not None:
            out[name] = {"value": metric.value, "n": metric.n, "ci_low": metric.ci_low, "ci_high": metric.ci_high}
    return out
