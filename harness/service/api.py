"""The REST API, ``/api/v1``: runs, metrics, items, verdicts, comparisons, dossiers, post-market
monitoring, datasets, the audit log, jobs, sign-off, users and tokens. Each route states the
permission it needs.

Files (a run's own files, a dossier's, a job's outputs) are served only from inside the
folder they belong to (:func:`harness.service.views.safe_file`), as downloads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import InputError
from harness.service import accounts, jobs, views
from harness.service.accounts import Principal
from harness.service.context import api_permission, service_of
from harness.service.roles import allowed
from harness.service.security import DOCUMENT_CSP
from harness.service.tasks import MonitorParams, check_monitor_options, job_dir

router = APIRouter(prefix="/api/v1")

RunsReader = Annotated[Principal, Depends(api_permission("runs:read"))]
VerdictReader = Annotated[Principal, Depends(api_permission("verdicts:read"))]
EvidenceReader = Annotated[Principal, Depends(api_permission("evidence:read"))]
JobReader = Annotated[Principal, Depends(api_permission("jobs:read"))]
Monitor = Annotated[Principal, Depends(api_permission("jobs:monitor"))]
Signer = Annotated[Principal, Depends(api_permission("signoff"))]
Verifier = Annotated[Principal, Depends(api_permission("audit:verify"))]
Admin = Annotated[Principal, Depends(api_permission("accounts:manage"))]
Anyone = Annotated[Principal, Depends(api_permission(None))]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JobRequest(_Body):
    kind: Literal["run", "gate", "compare", "report", "dossier", "train", "monitor"]
    params: dict[str, Any] = Field(
        default_factory=dict, description="the kind's parameters (see harness.service.tasks)"
    )


MAX_LOG_UPLOAD = 256 * 1024 * 1024  # characters of JSONL in one upload


class MonitoringRequest(_Body):
    """Production logs of the run's model, as ``harness monitor`` reads them, with that command's options."""

    logs: str = Field(min_length=1, max_length=MAX_LOG_UPLOAD, description="JSONL, one request per line")
    policy: str = Field(default="monitoring", min_length=1, description="shipped monitoring policy name")
    policy_yaml: str | None = Field(default=None, description="the monitoring policy's YAML text instead")
    baseline_metric: str | None = None
    window: int | None = Field(default=None, ge=1, le=10**7, description="requests per window")
    window_time: str | None = Field(default=None, description="windows of a time span instead (30m, 1h, 1d)")
    candidate: str | None = None
    incumbent: str | None = None
    pdf: bool = False


class SignoffRequest(_Body):
    decision: Literal["approve", "reject"]
    note: str | None = Field(default=None, max_length=4000)


class UserRequest(_Body):
    name: str
    role: Literal["admin", "release-manager", "ci", "auditor", "viewer"]
    password: str = Field(min_length=accounts.MIN_PASSWORD)


class UserUpdate(_Body):
    role: Literal["admin", "release-manager", "ci", "auditor", "viewer"] | None = None
    password: str | None = Field(default=None, min_length=accounts.MIN_PASSWORD)
    disabled: bool | None = None


class TokenRequest(_Body):
    name: str
    role: Literal["admin", "release-manager", "ci", "auditor", "viewer"]


@router.get("/health", tags=["service"])
def health() -> dict[str, str]:
    """Liveness: the process answers (no authentication, nothing read)."""
    return {"status": "ok"}


@router.get("/me", tags=["service"])
def me(principal: Anyone) -> dict[str, Any]:
    """Who the credentials name, their role and what it allows."""
    from harness.service.roles import ALL_PERMISSIONS

    return {
        "name": principal.name,
        "role": principal.role,
        "kind": principal.kind,
        "permissions": sorted(p for p in ALL_PERMISSIONS if allowed(principal.role, p)),
    }


# ---------------------------------------------------------------------------- runs


@router.get("/runs", tags=["runs"])
def list_runs(
    request: Request, _: RunsReader, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> list[dict[str, Any]]:
    """Runs, newest first, with their headline metrics (value, interval, n) and latest verdict."""
    return views.runs_overview(service_of(request).store, limit)


@router.get("/runs/{run_id}", tags=["runs"])
def get_run(request: Request, run_id: str, _: RunsReader) -> dict[str, Any]:
    """One run: its store row, every metric with its 95% interval, each suite's status, its verdicts."""
    return views.run_summary(views.run_view(service_of(request).store, run_id))


@router.get("/runs/{run_id}/metrics", tags=["runs"])
def run_metrics(request: Request, run_id: str, _: RunsReader) -> list[dict[str, Any]]:
    """Every metric of a finished run: value, n, interval and its method, scope, slice, direction, definition."""
    view = views.finished_view(service_of(request).store, run_id)
    assert view.result is not None
    return [m.model_dump(mode="json") for m in view.result.metrics]


@router.get("/runs/{run_id}/items", tags=["runs"])
def run_items(
    request: Request,
    run_id: str,
    _: EvidenceReader,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=views.ITEMS_PAGE_MAX)] = 100,
    suite: str | None = None,
    correct: bool | None = None,
) -> dict[str, Any]:
    """A page of the run's item records (``total`` counts every matching item)."""
    view = views.run_view(service_of(request).store, run_id)
    return views.items_page(view, offset=offset, limit=limit, suite=suite, correct=correct)


@router.get("/runs/{run_id}/verdicts", tags=["verdicts"])
def run_verdicts(request: Request, run_id: str, _: VerdictReader) -> list[dict[str, Any]]:
    """Every verdict kept for the run, one per policy and baseline, oldest first, rule by rule."""
    view = views.run_view(service_of(request).store, run_id)
    return [v.model_dump(mode="json") for v in views.kept_verdicts(view)]


@router.get("/runs/{run_id}/verdict", tags=["verdicts"])
def run_verdict(request: Request, run_id: str, _: VerdictReader) -> dict[str, Any]:
    """The run's latest verdict (what ``verdict.json`` holds)."""
    view = views.run_view(service_of(request).store, run_id)
    kept = views.kept_verdicts(view)
    if not kept:
        raise views.NotFound(f"run {run_id} has not been gated")
    from harness.reports.render import load_verdict

    latest = load_verdict(view.run_dir) or kept[-1]
    return latest.model_dump(mode="json")


@router.get("/runs/{run_id}/comparisons", tags=["comparisons"])
def run_comparisons(request: Request, run_id: str, _: EvidenceReader) -> list[str]:
    """The baseline run ids this run was compared with item by item (by a gate with a baseline)."""
    return views.comparison_references(views.run_view(service_of(request).store, run_id))


@router.get("/runs/{run_id}/comparisons/{reference_id}", tags=["comparisons"])
def run_comparison(request: Request, run_id: str, reference_id: str, _: EvidenceReader) -> dict[str, Any]:
    """The stored paired comparison of this run against a baseline: changes, intervals, McNemar/bootstrap p-values."""
    view = views.run_view(service_of(request).store, run_id)
    return views.stored_comparison(view, reference_id).model_dump(mode="json")


@router.get("/runs/{run_id}/files/{path:path}", tags=["runs"])
def run_file(request: Request, run_id: str, path: str, _: EvidenceReader) -> FileResponse:
    """A file of the run's folder (results.json, items.jsonl, verdicts/..., the engines' output), as a download."""
    view = views.run_view(service_of(request).store, run_id)
    return _download(views.safe_file(view.run_dir, path), inline=False)


@router.get("/runs/{run_id}/dossier", tags=["dossiers"])
def run_dossier(request: Request, run_id: str, _: EvidenceReader) -> dict[str, Any]:
    """The run's latest dossier: its files, open placeholders (human input needed), hash, sign-offs."""
    found = views.dossier_view(service_of(request).store, run_id)
    if found is None:
        raise views.NotFound(f"run {run_id} has no dossier yet")
    return found


@router.get("/runs/{run_id}/dossier/files/{name}", tags=["dossiers"])
def run_dossier_file(request: Request, run_id: str, name: str, _: EvidenceReader, inline: bool = False) -> FileResponse:
    """A file of the run's latest dossier (dossier.pdf, dossier.html, dossier.json, README.md)."""
    found = views.dossier_view(service_of(request).store, run_id)
    if found is None:
        raise views.NotFound(f"run {run_id} has no dossier yet")
    return _download(views.safe_file(Path(found["folder"]), name), inline=inline)


@router.post("/runs/{run_id}/signoff", tags=["dossiers"], status_code=201)
def sign_run(request: Request, run_id: str, body: SignoffRequest, principal: Signer) -> dict[str, Any]:
    """Sign off the run's latest dossier as the authenticated caller; appended to the signed audit log."""
    from harness.service.signoff import sign_off

    row = sign_off(service_of(request).store, run_id, principal, body.decision, body.note)
    return {"entry": row["entry"], "entry_hash": row["entry_hash"]}


@router.post("/runs/{run_id}/monitoring", tags=["monitoring"], status_code=201)
def submit_monitoring(request: Request, run_id: str, body: MonitoringRequest, principal: Monitor) -> dict[str, Any]:
    """Queue a monitor job: the uploaded production logs judged against this run (as ``harness monitor``).

    The upload is kept under the service's root, named by its SHA-256; follow the job at
    ``url``, then read the results at ``results``.
    """
    service = service_of(request)
    views.finished_view(service.store, run_id)  # a missing or unfinished run is refused before anything is kept
    options = body.model_dump(exclude={"logs"}, exclude_none=True) | {"run": run_id}
    try:
        check_monitor_options(MonitorParams.model_validate(options | {"logs": ["upload"]}))
    except ValidationError as exc:
        raise InputError(f"monitor job: {exc.errors()[0]['msg']}") from None
    params = options | {"logs": [str(save_log_upload(service.root, body.logs))]}
    job = service.submit("monitor", params, principal)
    return job.as_dict() | {"url": f"/api/v1/jobs/{job.id}", "results": f"/api/v1/runs/{run_id}/monitoring"}


@router.get("/runs/{run_id}/monitoring", tags=["monitoring"])
def run_monitoring(request: Request, run_id: str, _: RunsReader) -> dict[str, Any]:
    """The run's latest post-market monitoring results (what ``monitoring.json`` holds, schema harness-monitoring)."""
    from harness.monitoring.results import load_monitoring_results
    from harness.service.tasks import latest_monitoring

    service = service_of(request)
    views.run_view(service.store, run_id)
    found = latest_monitoring(service.store, service.root, run_id)
    if found is None:
        raise views.NotFound(f"run {run_id} has no monitoring results yet")
    return load_monitoring_results(found[1]).model_dump(mode="json")


def save_log_upload(root: Path, text: str) -> Path:
    """The uploaded JSONL under ``<root>/monitors/uploads/<sha256>.jsonl`` (the same upload is kept once)."""
    import hashlib

    from harness.files.atomic import atomic_write_text

    data = text if text.endswith("\n") else text + "\n"
    digest = hashlib.sha256(data.encode("utf-8")).hexdigest()
    path = root / "monitors" / "uploads" / f"{digest}.jsonl"
    return path if path.is_file() else atomic_write_text(path, data)


# ---------------------------------------------------------------------------- datasets and audit


@router.get("/datasets", tags=["datasets"])
def list_datasets(request: Request, _: EvidenceReader, name: str | None = None) -> list[dict[str, Any]]:
    """Registered dataset versions: content hash, shape, sources, licence, parent and transform."""
    return service_of(request).store.datasets(name)


@router.get("/datasets/{name}/{version}", tags=["datasets"])
def get_dataset(request: Request, name: str, version: str, _: EvidenceReader) -> dict[str, Any]:
    """A dataset version's provenance: record, lineage (ancestors and derived versions), validation, agreement, conflicts."""
    return views.dataset_view(service_of(request).store, name, version)


@router.get("/audit", tags=["audit"])
def audit_log(
    request: Request, _: EvidenceReader, run_id: str | None = None, limit: Annotated[int, Query(ge=1, le=5000)] = 500
) -> list[dict[str, Any]]:
    """Audit entries, newest first: sign-offs, gates, trainings, promotions, renderings."""
    return views.audit_view(service_of(request).store, run_id, limit)


@router.get("/audit/verify", tags=["audit"])
def audit_verify(request: Request, _: Verifier, head: str | None = None) -> dict[str, Any]:
    """Recompute the hash chain, check every signature and every recorded head (as ``harness audit verify``)."""
    from harness.store.audit import verify_chain

    check = verify_chain(service_of(request).store, head=head)
    return check.__dict__


# ---------------------------------------------------------------------------- base-model intake and selection


@router.get("/intake", tags=["intake"])
def list_intake(
    request: Request, _: RunsReader, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    """Intake records of base models (``harness intake``), newest first, each with its whole record."""
    return service_of(request).store.intake_records(limit)


@router.get("/intake/{intake_id}", tags=["intake"])
def get_intake(request: Request, intake_id: int, _: RunsReader) -> dict[str, Any]:
    """One intake record: model, fingerprint, verdict and the scorecard (schema harness.intake)."""
    found = service_of(request).store.intake_record(intake_id)
    if found is None:
        raise views.NotFound(f"no intake record {intake_id}")
    return found


@router.get("/selections", tags=["intake"])
def list_selections(
    request: Request, _: RunsReader, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    """Base-model selection records (``harness select``), newest first, each with its whole record."""
    return service_of(request).store.selections(limit)


@router.get("/selections/{selection_id}", tags=["intake"])
def get_selection(request: Request, selection_id: int, _: RunsReader) -> dict[str, Any]:
    """One selection record: the decision, the matrix, the paired comparisons (schema harness.selection)."""
    found = service_of(request).store.selection(selection_id)
    if found is None:
        raise views.NotFound(f"no selection record {selection_id}")
    return found


# ---------------------------------------------------------------------------- jobs


@router.get("/jobs", tags=["jobs"])
def list_jobs(
    request: Request,
    _: JobReader,
    status: Literal["queued", "running", "succeeded", "failed"] | None = None,
    run_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Jobs, newest first."""
    return [j.as_dict() for j in jobs.list_jobs(service_of(request).store, status=status, run_id=run_id, limit=limit)]


@router.post("/jobs", tags=["jobs"], status_code=201)
def submit_job(request: Request, body: JobRequest, principal: Anyone) -> dict[str, Any]:
    """Queue a job (run, gate, compare, report, dossier, train or monitor); the caller's role must allow that kind."""
    if not allowed(principal.role, f"jobs:{body.kind}"):
        raise HTTPException(403, f"role {principal.role} may not submit {body.kind} jobs (jobs:{body.kind})")
    job = service_of(request).submit(body.kind, body.params, principal)
    return job.as_dict() | {"url": f"/api/v1/jobs/{job.id}"}


@router.get("/jobs/{job_id}", tags=["jobs"])
def get_job(request: Request, job_id: int, _: JobReader, after: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    """A job with its progress lines after line id ``after`` (poll with the last id seen)."""
    store = service_of(request).store
    job = jobs.get(store, job_id)
    if job is None:
        raise views.NotFound(f"no job {job_id}")
    return job.as_dict() | {"progress": jobs.progress(store, job_id, after)}


@router.get("/jobs/{job_id}/files/{name}", tags=["jobs"])
def job_file(request: Request, job_id: int, name: str, _: EvidenceReader, inline: bool = False) -> FileResponse:
    """A file a job wrote (a report's report.html and report.pdf, a dossier's files)."""
    service = service_of(request)
    job = jobs.get(service.store, job_id)
    if job is None:
        raise views.NotFound(f"no job {job_id}")
    return _download(views.safe_file(job_dir(service.root, job), name), inline=inline)


# ---------------------------------------------------------------------------- users and tokens


@router.get("/users", tags=["accounts"])
def list_users(request: Request, _: Admin) -> list[dict[str, Any]]:
    return accounts.list_users(service_of(request).store)


@router.post("/users", tags=["accounts"], status_code=201)
def add_user(request: Request, body: UserRequest, _: Admin) -> dict[str, Any]:
    user = accounts.create_user(service_of(request).store, body.name, body.role, body.password)
    return {"id": user.id, "name": user.name, "role": user.role}


@router.patch("/users/{name}", tags=["accounts"])
def change_user(request: Request, name: str, body: UserUpdate, _: Admin) -> dict[str, Any]:
    store = service_of(request).store
    if body.role is not None:
        accounts.set_role(store, name, body.role)
    if body.password is not None:
        accounts.set_password(store, name, body.password)
    if body.disabled is not None:
        accounts.set_disabled(store, name, body.disabled)
    found = [u for u in accounts.list_users(store) if u["name"] == name]
    if not found:
        raise views.NotFound(f"no user named {name!r}")
    return found[0]


@router.get("/tokens", tags=["accounts"])
def list_tokens(request: Request, _: Admin) -> list[dict[str, Any]]:
    return accounts.list_tokens(service_of(request).store)


@router.post("/tokens", tags=["accounts"], status_code=201)
def add_token(request: Request, body: TokenRequest, principal: Admin) -> dict[str, Any]:
    """A new API token; the token is in this answer only (the store keeps its SHA-256)."""
    token, created = accounts.create_token(service_of(request).store, body.name, body.role, created_by=principal.name)
    return {"id": created.id, "name": created.name, "role": created.role, "token": token}


@router.delete("/tokens/{token_id}", tags=["accounts"])
def revoke_token(request: Request, token_id: int, _: Admin) -> dict[str, Any]:
    accounts.revoke_token(service_of(request).store, token_id)
    return {"id": token_id, "revoked": True}


def _download(path: Path, *, inline: bool) -> FileResponse:
    """A file as a download; ``inline`` shows a rendered document in the browser, sandboxed (no script runs)."""
    headers = {"cache-control": "no-store"}
    if inline and path.suffix in (".html", ".pdf"):
        if path.suffix == ".html":
            headers["content-security-policy"] = DOCUMENT_CSP
        return FileResponse(path, headers=headers, content_disposition_type="inline", filename=path.name)
    return FileResponse(path, headers=headers, filename=path.name)
