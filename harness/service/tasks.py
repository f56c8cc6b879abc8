"""What each kind of job runs: the library functions the CLI commands call, with the job's parameters.

| job     | calls                                            | CLI equivalent        |
| ------- | ------------------------------------------------ | --------------------- |
| run     | :func:`harness.runner.execute.execute_run`       | ``harness run``       |
| gate    | :func:`harness.gate.judging.judge_run`           | ``harness gate``      |
| compare | :func:`harness.comparison.compare_run_dirs`      | ``harness compare``   |
| report  | :func:`harness.reports.render.render_report`     | ``harness report``    |
| dossier | :func:`harness.reports.dossier.render_dossier`   | ``harness dossier``   |
| train   | :func:`harness.training.pipeline.run_pipeline`   | ``harness train``     |
| monitor | :func:`harness.monitoring.analysis.analyse`      | ``harness monitor``   |

Parameters are checked when a job is submitted (pydantic models below, unknown fields
refused), so a job that is queued is one that can start. Paths name files on the
service's machine (models, data, training configs); a policy or provider input may
instead be sent as YAML text. The service never loads pickle weights nor runs code shipped
with a model (``--allow-pickle`` and ``--trust-remote-code`` have no job parameter).

Each job writes under ``<root>/<kind>s/job-<id>/`` (runs: the run folder inside it).
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import HarnessError, InputError
from harness.service import jobs
from harness.service.jobs import Job
from harness.store.runs import RunStore

Say = Callable[[str], None]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunParams(_Params):
    """``harness run``'s options, for a model on the service's machine."""

    base: str | None = Field(default=None, min_length=1, description="model directory or hub id")
    adapter: str | None = Field(default=None, min_length=1)
    suites: list[str] = Field(default_factory=lambda: ["mmlu", "gsm8k"], min_length=1)
    limit: int | None = Field(default=None, ge=1, le=10**9)
    num_fewshot: int | None = Field(default=None, ge=0, le=100)
    max_gen_toks: int | None = Field(default=None, ge=1, le=10**6)
    batch_size: int = Field(default=8, ge=1, le=65536)
    dtype: Literal["float32", "bfloat16", "float16", "auto"] = "float32"
    device: str = "cpu"
    revision: str | None = None
    data_dir: str | None = Field(default=None, description="benchmark data [default: the service's HARNESS_DATA_DIR]")
    judge: str | None = None
    allow_code_execution: bool = False
    no_cache: bool = False
    resume_dir: str | None = Field(default=None, description="an interrupted run folder to continue")


class GateParams(_Params):
    run: str = Field(min_length=1, description="run id, or run folder on the service's machine")
    policy: str = Field(min_length=1, description="shipped policy name or policy file on the service's machine")
    policy_yaml: str | None = Field(default=None, description="the policy's YAML text (then `policy` is its file name)")
    baseline: str | None = None
    datasets: list[str] = Field(default_factory=list)


class CompareParams(_Params):
    reference: str = Field(min_length=1)
    candidate: str = Field(min_length=1)
    alpha: float = Field(default=0.05, gt=0, lt=1)


class ReportParams(_Params):
    run: str = Field(min_length=1)
    pdf: bool = False


class DossierParams(_Params):
    run: str = Field(min_length=1)
    baseline: str | None = None
    datasets: list[str] = Field(default_factory=list)
    provider_yaml: str | None = Field(default=None, description="provider.yaml text with the human input")
    kind: Literal["system", "model"] | None = None
    pdf: bool = True


class MonitorParams(_Params):
    """``harness monitor``'s options: production logs (JSONL files on the service's machine) against a run."""

    run: str = Field(min_length=1, description="the released model's evaluated run (id or folder)")
    logs: list[str] = Field(min_length=1, max_length=100, description="JSONL log files on the service's machine")
    policy: str = Field(default="monitoring", min_length=1, description="shipped monitoring policy name or file")
    policy_yaml: str | None = Field(default=None, description="the monitoring policy's YAML text")
    baseline_metric: str | None = None
    window: int | None = Field(default=None, ge=1, le=10**7, description="requests per window")
    window_time: str | None = Field(default=None, description="windows of a time span instead (30m, 1h, 1d)")
    candidate: str | None = None
    incumbent: str | None = None
    pdf: bool = False


class TrainParams(_Params):
    config: str = Field(min_length=1, description="training config YAML on the service's machine")
    resume: bool = False
    data_dir: str | None = None


PARAMS: dict[str, type[_Params]] = {
    "run": RunParams,
    "gate": GateParams,
    "compare": CompareParams,
    "report": ReportParams,
    "dossier": DossierParams,
    "train": TrainParams,
    "monitor": MonitorParams,
}


def check_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """The job's parameters, validated; an InputError naming the field otherwise."""
    model = PARAMS.get(kind)
    if model is None:
        raise InputError(f"job kind {kind!r} is not one of {', '.join(PARAMS)}")
    try:
        checked = model.model_validate(params)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "params"
        raise InputError(f"{kind} job: {where}: {first['msg']}") from None
    if isinstance(checked, RunParams):
        if checked.base is None and checked.resume_dir is None:
            raise InputError("run job: base: give the model (a directory on the service's machine or a hub id)")
        from harness.suites import get_suites

        get_suites(checked.suites)  # an unknown suite is refused now, not when a worker starts
    if isinstance(checked, MonitorParams):
        _check_monitor_params(checked)
    return checked.model_dump(exclude_none=True)


def check_monitor_options(p: MonitorParams) -> None:
    """What a monitor job can be refused for before its logs are kept: two window kinds, a bad span, an unknown policy."""
    from harness.monitoring.windows import parse_duration

    if p.window is not None and p.window_time is not None:
        raise InputError("monitor job: give window (requests) or window_time (a span), not both")
    if p.window_time is not None:
        parse_duration(p.window_time, "window_time")
    if p.policy_yaml is None:
        from harness.monitoring.policy import load_monitoring_policy

        load_monitoring_policy(p.policy)


def _check_monitor_params(p: MonitorParams) -> None:
    """:func:`check_monitor_options`, and every log file exists on the service's machine."""
    check_monitor_options(p)
    for log in p.logs:
        if not Path(log).is_file():
            raise InputError(f"monitor job: logs: {log}: no such file on the service's machine")


def job_dir(root: Path, job: Job) -> Path:
    return root / f"{job.kind}s" / f"job-{job.id}"


@dataclass
class JobContext:
    store: RunStore
    job: Job
    root: Path
    say: Say

    @property
    def folder(self) -> Path:
        return job_dir(self.root, self.job)


# ---------------------------------------------------------------------------- the six kinds


def run_task(ctx: JobContext) -> dict[str, Any]:
    from harness.models.modelref import ModelRef
    from harness.paths import cache_dir, resolve_data_dir
    from harness.runner.execute import execute_run
    from harness.runner.resolve import resolve_run
    from harness.runner.spec import RunSpec
    from harness.schema.results import RESULTS_FILE, load_results

    p = RunParams.model_validate(ctx.job.params)
    if p.resume_dir is not None:
        resume_dir = Path(p.resume_dir)
        if (resume_dir / RESULTS_FILE).is_file():  # it finished before its worker died: indexed now
            run_dir = resolve_run(ctx.store, resume_dir)
            ctx.say(f"run {run_dir.name} had finished before its worker stopped; nothing to resume")
            return _run_summary(load_results(run_dir), run_dir)
        spec = RunSpec.load(resume_dir)
        jobs.note_run(ctx.store, ctx.job.id, resume_dir.name, str(resume_dir.resolve()))
        ctx.say(f"resuming run {resume_dir.name} (its finished suites are kept)")
        result, run_dir = execute_run(
            spec,
            resume_dir.parent,
            store=ctx.store,
            cache_root=cache_dir(),
            data_cache=cache_dir(),
            resume_dir=resume_dir,
            progress=ctx.say,
        )
        return _run_summary(result, run_dir)
    assert p.base is not None
    data_dir = resolve_data_dir(p.data_dir)
    spec = RunSpec(
        model=ModelRef(base=p.base, adapter=p.adapter, revision=p.revision, dtype=p.dtype, device=p.device),
        suites=p.suites,
        data_dir=str(data_dir) if data_dir else None,
        limit=p.limit,
        num_fewshot=p.num_fewshot,
        batch_size=p.batch_size,
        gen_kwargs={"max_gen_toks": p.max_gen_toks} if p.max_gen_toks else {},
        judge=p.judge,
        allow_code_execution=p.allow_code_execution,
    )
    result, run_dir = execute_run(
        spec,
        ctx.folder,
        store=ctx.store,
        cache_root=None if p.no_cache else cache_dir(),
        data_cache=cache_dir(),
        progress=ctx.say,
    )
    return _run_summary(result, run_dir)


def _run_summary(result: Any, run_dir: Path) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "run_dir": str(run_dir.resolve()),
        "fingerprint": result.model.fingerprint,
        "metrics": [m.model_dump(mode="json") for m in result.metrics if m.scope != "subject"],
    }


def load_run(store: RunStore, ref: str) -> tuple[Any, Path]:
    """A run's results and folder from its id or folder, as the CLI's ``App.load_run``."""
    from harness.runner.resolve import resolve_run
    from harness.schema.results import load_results, resolve_results_path

    path = resolve_results_path(resolve_run(store, ref))
    return load_results(path), path.parent


def gate_task(ctx: JobContext) -> dict[str, Any]:
    from harness.gate.judging import judge_run

    p = GateParams.model_validate(ctx.job.params)
    result, run_dir = load_run(ctx.store, p.run)
    baseline, baseline_dir = load_run(ctx.store, p.baseline) if p.baseline else (None, None)
    policy_ref: str | Path = p.policy
    if p.policy_yaml is not None:
        policy_ref = _write_text(ctx.folder / _yaml_name(p.policy, "policy.yaml"), p.policy_yaml)
    ctx.say(f"gating run {result.run_id} under {p.policy}" + (f" against {p.baseline}" if p.baseline else ""))
    verdict = judge_run(policy_ref, result, run_dir, baseline, ctx.store, baseline_dir, list(p.datasets))
    ctx.say(f"verdict {verdict.verdict.upper()} (exit {verdict.exit_code})")
    return {"run_id": result.run_id, "verdict": verdict.model_dump(mode="json"), "exit_code": verdict.exit_code}


def compare_task(ctx: JobContext) -> dict[str, Any]:
    from harness.comparison import compare_run_dirs
    from harness.runner.resolve import resolve_run

    p = CompareParams.model_validate(ctx.job.params)
    reference, candidate = resolve_run(ctx.store, p.reference), resolve_run(ctx.store, p.candidate)
    ctx.say(f"comparing {candidate.name} with {reference.name} item by item")
    comparison = compare_run_dirs(reference, candidate, alpha=p.alpha)
    significant = sum(bool(c.significant) for c in comparison.comparisons)
    ctx.say(f"{significant} significant change(s) at alpha {p.alpha:g}")
    return {
        "run_id": comparison.candidate_run,
        "reference_dir": str(reference.resolve()),
        "candidate_dir": str(candidate.resolve()),
        "comparison": comparison.model_dump(mode="json"),
    }


def report_task(ctx: JobContext) -> dict[str, Any]:
    from harness.reports.render import render_report

    p = ReportParams.model_validate(ctx.job.params)
    result, run_dir = load_run(ctx.store, p.run)
    ctx.say(f"rendering the report of run {result.run_id}" + (" with its PDF" if p.pdf else ""))
    paths = render_report(run_dir, ctx.folder, pdf=p.pdf, store=ctx.store)
    return {"run_id": result.run_id, "html": str(paths.html), "pdf": str(paths.pdf) if paths.pdf else None}


def dossier_task(ctx: JobContext) -> dict[str, Any]:
    from harness.gate.judging import paired_comparison
    from harness.gate.policy import load_policy
    from harness.reports.dossier import render_dossier
    from harness.reports.render import load_verdict

    p = DossierParams.model_validate(ctx.job.params)
    result, run_dir = load_run(ctx.store, p.run)
    comparison = None
    if p.baseline:  # as `harness dossier --baseline`: compared at the alpha of the run's verdict's policy
        baseline, baseline_dir = load_run(ctx.store, p.baseline)
        verdict = load_verdict(run_dir)
        alpha = load_policy(verdict.policy_path)[0].alpha if verdict and Path(verdict.policy_path).is_file() else 0.05
        comparison = paired_comparison(baseline, baseline_dir, result, run_dir, alpha=alpha)
        if comparison is None:
            raise InputError(f"{p.baseline}: no item records beside the run, so no paired comparison can be made")
    provider = _write_text(ctx.folder / "input" / "provider.yaml", p.provider_yaml) if p.provider_yaml else None
    ctx.say(f"rendering the dossier of run {result.run_id}" + (" with its PDF/A" if p.pdf else ""))
    paths = render_dossier(
        run_dir,
        ctx.folder,
        store=ctx.store,
        datasets=list(p.datasets),
        provider_path=provider,
        kind=p.kind,
        comparison=comparison,
        pdf=p.pdf,
    )
    if paths.placeholders:
        ctx.say(f"{len(paths.placeholders)} item(s) need human input")
    return {
        "run_id": result.run_id,
        "html": str(paths.html),
        "pdf": str(paths.pdf) if paths.pdf else None,
        "json": str(paths.json),
        "readme": str(paths.readme),
        "placeholders": list(paths.placeholders),
    }


def train_task(ctx: JobContext) -> dict[str, Any]:
    from harness.paths import resolve_data_dir
    from harness.training.pipeline import run_pipeline

    p = TrainParams.model_validate(ctx.job.params)
    data_dir = resolve_data_dir(p.data_dir)
    outcome = run_pipeline(
        p.config,
        store=ctx.store,
        resume=p.resume,
        data_dir=str(data_dir) if data_dir else None,
        say=ctx.say,
    )
    verdict = outcome.verdict.model_dump(mode="json") if outcome.verdict is not None else None
    return {
        "decision": outcome.decision,
        "work_dir": str(outcome.work_dir),
        "registry_entry": str(outcome.registry_entry) if outcome.registry_entry else None,
        "verdict": verdict,
        "run_id": verdict["run_id"] if verdict else None,
    }


def monitor_task(ctx: JobContext) -> dict[str, Any]:
    """As ``harness monitor LOGS --baseline RUN --out DIR``: monitoring.json (and .html, .pdf) in the job's folder."""
    from harness.monitoring.analysis import analyse
    from harness.monitoring.logs import read_logs
    from harness.monitoring.policy import load_monitoring_policy
    from harness.monitoring.render import write_monitoring
    from harness.monitoring.windows import parse_duration

    p = MonitorParams.model_validate(ctx.job.params)
    baseline, _ = load_run(ctx.store, p.run)
    policy_ref: str | Path = p.policy
    if p.policy_yaml is not None:
        policy_ref = _write_text(ctx.folder / "input" / _yaml_name(p.policy, "monitoring.yaml"), p.policy_yaml)
    policy, policy_path = load_monitoring_policy(policy_ref)
    seconds = parse_duration(p.window_time, "window_time") if p.window_time is not None else None
    requests = read_logs([Path(log) for log in p.logs])
    ctx.say(
        f"monitoring {len(requests):,} requests ({len(requests.models)} model version(s)) "
        f"against run {baseline.run_id} under {policy.name}"
    )
    report = analyse(
        requests,
        policy=policy,
        policy_path=policy_path,
        baseline_run=baseline,
        baseline_metric=p.baseline_metric,
        window_requests=p.window,
        window_seconds=seconds,
        candidate=p.candidate,
        incumbent=p.incumbent,
    )
    paths = write_monitoring(report, ctx.folder, pdf=p.pdf)
    ctx.say(f"{len(report.alerts)} alert(s); recommendation: {report.recommendation} (exit {report.exit_code})")
    return {
        "run_id": baseline.run_id,
        "json": str(paths.json),
        "html": str(paths.html) if paths.html else None,
        "pdf": str(paths.pdf) if paths.pdf else None,
        "recommendation": report.recommendation,
        "rollback": report.rollback.model_dump(mode="json"),
        "exit_code": report.exit_code,
    }


def latest_monitoring(store: RunStore, root: Path, run_id: str) -> tuple[Job, Path] | None:
    """The newest succeeded monitor job of ``run_id`` and its monitoring.json, or None when there is none."""
    from harness.monitoring.results import MONITORING_FILE

    for job in jobs.list_jobs(store, status="succeeded", run_id=run_id, kind="monitor", limit=20):
        path = job_dir(root, job) / MONITORING_FILE
        if path.is_file():
            return job, path
    return None


TASKS: dict[str, Callable[[JobContext], dict[str, Any]]] = {
    "run": run_task,
    "gate": gate_task,
    "compare": compare_task,
    "report": report_task,
    "dossier": dossier_task,
    "train": train_task,
    "monitor": monitor_task,
}


def _yaml_name(name: str, default: str) -> str:
    base = Path(name).name
    if re.fullmatch(r"[A-Za-z0-9._-]{1,100}\.ya?ml", base):
        return base
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "-", base)[:80].strip(".-")
    return f"{cleaned}.yaml" if cleaned else default


def _write_text(path: Path, text: str) -> Path:
    from harness.files.atomic import atomic_write_text

    return atomic_write_text(path, text)


# ---------------------------------------------------------------------------- running one job


def execute_job(store: RunStore, job: Job, root: Path, worker: str) -> Job:
    """Run a job this worker has claimed: heartbeats while it runs, progress lines as the library
    emits them, then succeeded with its result or failed with the reason (one line)."""
    say = _progress_recorder(store, job)
    say(f"started on worker {worker} (attempt {job.attempts})")
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeats, args=(store, job, root, worker, stop), daemon=True)
    beat.start()
    ctx = JobContext(store=store, job=job, root=root, say=say)
    try:
        result = TASKS[job.kind](ctx)
    except HarnessError as exc:
        message = " ".join(str(exc).split())
        say(f"failed: {message}")
        jobs.fail(store, job.id, worker, message)
    except (KeyboardInterrupt, SystemExit) as exc:
        reason = f"worker {worker} was stopped while running this job ({type(exc).__name__})"
        jobs.fail(store, job.id, worker, reason, interrupted=True)
        say(f"failed: {reason}")
        raise
    except Exception as exc:
        lines = traceback.format_exc().strip().splitlines()
        for line in lines[-12:]:
            say(line)
        message = f"a bug in harness: {type(exc).__name__}: {' '.join(str(exc).split())}"
        jobs.fail(store, job.id, worker, message)
    else:
        jobs.finish(store, job.id, worker, result, run_id=result.get("run_id"))
        say("succeeded")
    finally:
        stop.set()
        beat.join(timeout=5)
    done = jobs.get(store, job.id)
    assert done is not None
    return done


def _progress_recorder(store: RunStore, job: Job) -> Say:
    def say(line: str) -> None:
        with contextlib.suppress(Exception):  # a progress line is never worth failing the job
            jobs.add_progress(store, job.id, line)

    return say


def _heartbeats(store: RunStore, job: Job, root: Path, worker: str, stop: threading.Event) -> None:
    """Renew the job's heartbeat; for a run, record its folder as soon as it exists."""
    seen_run = job.kind != "run" or "resume_dir" in job.params
    folder = job_dir(root, job)
    while not stop.wait(jobs.HEARTBEAT_S):
        try:
            jobs.heartbeat(store, job.id, worker)
            if not seen_run:
                spec_files = sorted(folder.glob("*/run-spec.json"))
                if spec_files:
                    run_dir = spec_files[0].parent
                    jobs.note_run(store, job.id, run_dir.name, str(run_dir.resolve()))
                    seen_run = True
        except Exception:  # the store may be briefly unavailable; the next beat tries again
            time.sleep(0.1)


def check_runs_reachable(store: RunStore, kind: str, params: dict[str, Any]) -> None:
    """Every run a job names exists (a run id in the store, or a run folder the service reaches), before it is queued."""
    from harness.runner.resolve import resolve_run
    from harness.schema.results import resolve_results_path

    fields = {
        "gate": ("run", "baseline"),
        "report": ("run",),
        "dossier": ("run", "baseline"),
        "compare": ("reference", "candidate"),
        "monitor": ("run",),
    }
    for name in fields.get(kind, ()):
        ref = params.get(name)
        if ref:
            try:
                resolve_results_path(resolve_run(store, str(ref)))
            except InputError as exc:
                raise InputError(f"{kind} job: {name}: {exc}") from None
