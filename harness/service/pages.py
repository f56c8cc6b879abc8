"""The web pages: server-rendered Jinja templates (``templates/web/``), autoescaped, no JavaScript.

A page of a job that is still running reloads itself every few seconds
(``<meta http-equiv="refresh">``), so progress shows without any script. Every form
carries the session's CSRF token; every page checks the caller's role.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from harness.errors import HarnessError, InputError
from harness.service import accounts, jobs, views
from harness.service.accounts import Principal
from harness.service.context import form_with_csrf, html, page_context, page_permission, service_of, web_templates_dir
from harness.service.roles import ROLES, allowed
from harness.service.security import csrf_ok, csrf_token

if TYPE_CHECKING:
    pass

router = APIRouter(include_in_schema=False)

RunsReader = Annotated[Principal, Depends(page_permission("runs:read"))]
VerdictReader = Annotated[Principal, Depends(page_permission("verdicts:read"))]
EvidenceReader = Annotated[Principal, Depends(page_permission("evidence:read"))]
JobReader = Annotated[Principal, Depends(page_permission("jobs:read"))]
Signer = Annotated[Principal, Depends(page_permission("signoff"))]
Verifier = Annotated[Principal, Depends(page_permission("audit:verify"))]
Admin = Annotated[Principal, Depends(page_permission("accounts:manage"))]
Anyone = Annotated[Principal, Depends(page_permission(None))]
FormFields = Annotated[dict[str, str], Depends(form_with_csrf)]

REFRESH_S = 2


def render(
    request: Request, template: str, principal: Principal | None, http_status: int = 200, **context: Any
) -> HTMLResponse:
    env = service_of(request).templates
    page = env.get_template(template).render(**page_context(request, principal), **context)
    return html(page, http_status)


def error_page(request: Request, status: int, message: str, principal: Principal | None) -> HTMLResponse:
    titles = {
        401: "Sign in needed",
        403: "Not allowed",
        404: "Not found",
        422: "Cannot do that",
        429: "Too many attempts",
    }
    return render(
        request, "error.html.j2", principal, status, status=status, title=titles.get(status, "Error"), message=message
    )


# ---------------------------------------------------------------------------- sign in and out


@router.get("/static/web.css")
def stylesheet() -> FileResponse:
    return FileResponse(
        web_templates_dir() / "web.css", media_type="text/css", headers={"cache-control": "max-age=300"}
    )


@router.get("/login")
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html.j2", None, next=_local(next), error=None, name="")


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    name, password, target = fields.get("username", ""), fields.get("password", ""), _local(fields.get("next", "/"))
    if not csrf_ok(request.session, fields.get("csrf_token")):
        return render(
            request, "login.html.j2", None, 403, next=target, name=name, error="The form expired: sign in again."
        )
    service = service_of(request)
    client = request.client.host if request.client else "unknown"
    keys = [f"user:{name}", f"ip:{client}"]
    wait = accounts.login_wait(service.store, keys)
    if wait > 0:
        response = render(
            request,
            "login.html.j2",
            None,
            429,
            next=target,
            name=name,
            error=f"Too many failed sign-ins. Try again in {int(wait) + 1} seconds.",
        )
        response.headers["retry-after"] = str(int(wait) + 1)
        return response
    from starlette.concurrency import run_in_threadpool

    principal = await run_in_threadpool(accounts.authenticate_password, service.store, name, password)
    if principal is None:
        accounts.record_login_failure(service.store, keys)
        return render(request, "login.html.j2", None, 401, next=target, name=name, error="Wrong user name or password.")
    accounts.clear_login_failures(service.store, [f"user:{name}"])
    request.session.clear()  # a new session on sign-in (no fixation)
    request.session["uid"] = principal.id
    csrf_token(request.session)
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request, _principal: Anyone, _: FormFields) -> RedirectResponse:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def _local(target: str) -> str:
    """Only a path on this site is a place to go back to after signing in (no open redirect)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# ---------------------------------------------------------------------------- runs


@router.get("/")
def runs_page(request: Request, principal: RunsReader) -> HTMLResponse:
    runs = views.runs_overview(service_of(request).store, 100)
    return render(request, "runs.html.j2", principal, runs=runs)


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: str, principal: RunsReader) -> HTMLResponse:
    from harness.gate.policy import shipped_policy_names
    from harness.reports.render import suite_sections

    service = service_of(request)
    view = views.run_view(service.store, run_id)
    sections = suite_sections(view.result) if view.result is not None else []
    failing = None
    if view.result is not None and allowed(principal.role, "evidence:read"):
        failing = views.items_page(view, limit=20, correct=False)
    job_list = jobs.list_jobs(service.store, run_id=run_id, limit=20) if allowed(principal.role, "jobs:read") else []
    others = [r for r in service.store.runs(limit=100) if r.run_id != run_id and r.status == "finished"]
    return render(
        request,
        "run.html.j2",
        principal,
        view=view,
        result=view.result,
        sections=sections,
        failing=failing,
        jobs=job_list,
        policies=shipped_policy_names(),
        others=others,
        dossier=views.dossier_view(service.store, run_id) if allowed(principal.role, "evidence:read") else None,
    )


@router.get("/runs/{run_id}/items")
def items_page(
    request: Request,
    run_id: str,
    principal: EvidenceReader,
    offset: Annotated[int, Query(ge=0)] = 0,
    suite: str | None = None,
    failing: bool = False,
) -> HTMLResponse:
    view = views.run_view(service_of(request).store, run_id)
    page = views.items_page(view, offset=offset, limit=50, suite=suite or None, correct=False if failing else None)
    return render(request, "items.html.j2", principal, view=view, page=page, suite=suite or "", failing=failing)


@router.get("/runs/{run_id}/verdict")
def verdict_page(request: Request, run_id: str, principal: VerdictReader, index: int | None = None) -> HTMLResponse:
    view = views.run_view(service_of(request).store, run_id)
    kept = views.kept_verdicts(view)
    chosen = None
    if kept:
        chosen = kept[index] if index is not None and 0 <= index < len(kept) else kept[-1]
    return render(request, "verdict.html.j2", principal, view=view, kept=kept, verdict=chosen)


@router.get("/runs/{run_id}/dossier")
def dossier_page(request: Request, run_id: str, principal: EvidenceReader, signed: str | None = None) -> HTMLResponse:
    service = service_of(request)
    view = views.run_view(service.store, run_id)
    dossier = views.dossier_view(service.store, run_id)
    return render(request, "dossier.html.j2", principal, view=view, dossier=dossier, signed=signed, error=None)


@router.get("/runs/{run_id}/monitoring")
def monitoring_page(request: Request, run_id: str, principal: RunsReader) -> HTMLResponse:
    """The run's latest post-market monitoring results: windows, alerts, rollback reasons, A/B, canary."""
    from harness.monitoring.results import load_monitoring_results
    from harness.service.tasks import latest_monitoring

    service = service_of(request)
    view = views.run_view(service.store, run_id)
    found = latest_monitoring(service.store, service.root, run_id)
    job, report, files = None, None, []
    if found is not None:
        job, report = found[0], load_monitoring_results(found[1])
        if allowed(principal.role, "evidence:read"):
            folder = found[1].parent
            files = [
                name for name in ("monitoring.html", "monitoring.pdf", "monitoring.json") if (folder / name).is_file()
            ]
    return render(request, "monitoring.html.j2", principal, view=view, job=job, report=report, files=files)


@router.post("/runs/{run_id}/signoff")
def signoff_form(request: Request, run_id: str, principal: Signer, fields: FormFields) -> Response:
    from harness.service.signoff import sign_off

    service = service_of(request)
    try:
        row = sign_off(service.store, run_id, principal, fields.get("decision", ""), fields.get("note") or None)
    except HarnessError as exc:
        view = views.run_view(service.store, run_id)
        dossier = views.dossier_view(service.store, run_id)
        return render(
            request, "dossier.html.j2", principal, 422, view=view, dossier=dossier, signed=None, error=str(exc)
        )
    return RedirectResponse(f"/runs/{quote(run_id, safe='')}/dossier?signed={row['entry_hash']}", status_code=303)


@router.get("/compare")
def compare_page(request: Request, principal: EvidenceReader, a: str = "", b: str = "") -> HTMLResponse:
    service = service_of(request)
    runs = [r for r in service.store.runs(limit=200) if r.status == "finished"]
    comparison = items = job = None
    if a and b:
        reference, candidate = views.finished_view(service.store, a), views.finished_view(service.store, b)
        done = [
            j
            for j in jobs.list_jobs(service.store, kind="compare", limit=500)
            if j.params.get("reference") in (a, str(reference.run_dir))
            and j.params.get("candidate") in (b, str(candidate.run_dir))
        ]
        job = done[0] if done else None
        if job is not None and job.status == "succeeded" and job.result:
            comparison = job.result["comparison"]
        items = views.discordant_items(reference, candidate, limit=100)
    return render(
        request, "compare.html.j2", principal, runs=runs, a=a, b=b, comparison=comparison, items=items, job=job
    )


# ---------------------------------------------------------------------------- audit and datasets


@router.get("/audit")
def audit_page(request: Request, principal: EvidenceReader, run_id: str | None = None) -> HTMLResponse:
    rows = views.audit_view(service_of(request).store, run_id or None, 500)
    return render(request, "audit.html.j2", principal, rows=rows, check=None, run_id=run_id or "")


@router.post("/audit/verify")
def audit_verify_page(request: Request, principal: Verifier, _: FormFields) -> HTMLResponse:
    from harness.store.audit import verify_chain

    store = service_of(request).store
    check = verify_chain(store)
    return render(request, "audit.html.j2", principal, rows=views.audit_view(store, None, 500), check=check, run_id="")


@router.get("/datasets")
def datasets_page(request: Request, principal: EvidenceReader) -> HTMLResponse:
    return render(request, "datasets.html.j2", principal, datasets=service_of(request).store.datasets())


@router.get("/datasets/{name}/{version}")
def dataset_page(request: Request, name: str, version: str, principal: EvidenceReader) -> HTMLResponse:
    record = views.dataset_view(service_of(request).store, name, version)
    return render(request, "dataset.html.j2", principal, record=record, ref=f"{name}@{version}")


# ---------------------------------------------------------------------------- jobs


# ---------------------------------------------------------------------------- base-model intake and selection


@router.get("/intake")
def intake_page(request: Request, principal: RunsReader) -> HTMLResponse:
    store = service_of(request).store
    return render(
        request, "intake.html.j2", principal, intakes=store.intake_records(200), selections=store.selections(200)
    )


@router.get("/intake/{intake_id}")
def intake_record_page(request: Request, intake_id: int, principal: RunsReader) -> HTMLResponse:
    found = service_of(request).store.intake_record(intake_id)
    if found is None:
        raise views.NotFound(f"no intake record {intake_id}")
    return render(request, "intake_record.html.j2", principal, row=found, record=found["record"])


@router.get("/selections/{selection_id}")
def selection_page(request: Request, selection_id: int, principal: RunsReader) -> HTMLResponse:
    found = service_of(request).store.selection(selection_id)
    if found is None:
        raise views.NotFound(f"no selection record {selection_id}")
    return render(request, "selection.html.j2", principal, row=found, record=found["record"])


@router.get("/jobs")
def jobs_page(request: Request, principal: JobReader) -> HTMLResponse:
    store = service_of(request).store
    listed = jobs.list_jobs(store, limit=200)
    last = {j.id: (jobs.progress(store, j.id, limit=100000)[-1:] or [{}])[0].get("line", "") for j in listed[:30]}
    active = any(not j.finished for j in listed)
    return render(request, "jobs.html.j2", principal, jobs=listed, last=last, refresh=REFRESH_S if active else None)


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: int, principal: JobReader) -> HTMLResponse:
    store = service_of(request).store
    job = jobs.get(store, job_id)
    if job is None:
        raise views.NotFound(f"no job {job_id}")
    files = views.list_files(_job_folder(request, job)) if allowed(principal.role, "evidence:read") else []
    return render(
        request,
        "job.html.j2",
        principal,
        job=job,
        progress=jobs.progress(store, job_id, limit=5000),
        files=files,
        refresh=None if job.finished else REFRESH_S,
    )


def _job_folder(request: Request, job: jobs.Job) -> Path:
    from harness.service.tasks import job_dir

    return job_dir(service_of(request).root, job)


@router.post("/jobs")
def submit_form(request: Request, principal: Anyone, fields: FormFields) -> Response:
    """A job from a page's form: the form's fields become the job's parameters."""
    kind = fields.get("kind", "")
    if kind not in ("run", "gate", "compare", "report", "dossier", "train"):
        raise InputError(f"unknown job kind {kind!r}")
    if not allowed(principal.role, f"jobs:{kind}"):
        return error_page(request, 403, f"Your role ({principal.role}) may not submit {kind} jobs.", principal)
    job = service_of(request).submit(kind, form_params(kind, fields), principal)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


def form_params(kind: str, fields: dict[str, str]) -> dict[str, Any]:
    """A job's parameters from form fields: empty fields are left out, numbers and checkboxes converted."""
    params: dict[str, Any] = {}
    numbers = {"limit", "num_fewshot", "max_gen_toks", "batch_size"}
    flags = {"pdf", "no_cache", "allow_code_execution", "resume"}
    lists = {"suites", "datasets"}
    for key, value in fields.items():
        value = value.strip()
        if key in ("csrf_token", "kind") or not value:
            continue
        if key in numbers:
            try:
                params[key] = int(value)
            except ValueError:
                raise InputError(f"{key} must be a whole number, got {value!r}") from None
        elif key in flags:
            params[key] = value in ("1", "on", "true", "yes")
        elif key in lists:
            params[key] = [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]
        elif key == "alpha":
            try:
                params[key] = float(value)
            except ValueError:
                raise InputError(f"alpha must be a number, got {value!r}") from None
        else:
            params[key] = value
    if kind in ("report", "dossier") and "pdf" not in params:
        params["pdf"] = False  # an unticked checkbox sends nothing
    return params


@router.get("/new")
def new_job_page(request: Request, principal: JobReader) -> HTMLResponse:
    return render(request, "new.html.j2", principal)


# ---------------------------------------------------------------------------- users and tokens


@router.get("/admin")
def admin_page(request: Request, principal: Admin) -> HTMLResponse:
    return _admin(request, principal)


def _admin(request: Request, principal: Principal, status: int = 200, **extra: Any) -> HTMLResponse:
    store = service_of(request).store
    context: dict[str, Any] = {"new_token": None, "error": None} | extra
    return render(
        request,
        "admin.html.j2",
        principal,
        status,
        users=accounts.list_users(store),
        tokens=accounts.list_tokens(store),
        roles=ROLES,
        **context,
    )


@router.post("/admin/users")
def admin_add_user(request: Request, principal: Admin, fields: FormFields) -> Response:
    store = service_of(request).store
    try:
        accounts.create_user(store, fields.get("name", ""), fields.get("role", ""), fields.get("password", ""))
    except HarnessError as exc:
        return _admin(request, principal, 422, error=str(exc))
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/users/{name}")
def admin_change_user(request: Request, name: str, principal: Admin, fields: FormFields) -> Response:
    store = service_of(request).store
    try:
        if fields.get("role"):
            accounts.set_role(store, name, fields["role"])
        if "disabled" in fields:
            accounts.set_disabled(store, name, fields["disabled"] == "1")
    except HarnessError as exc:
        return _admin(request, principal, 422, error=str(exc))
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/tokens")
def admin_add_token(request: Request, principal: Admin, fields: FormFields) -> HTMLResponse:
    store = service_of(request).store
    try:
        token, created = accounts.create_token(
            store, fields.get("name", ""), fields.get("role", ""), created_by=principal.name
        )
    except HarnessError as exc:
        return _admin(request, principal, 422, error=str(exc))
    return _admin(request, principal, 201, new_token={"token": token, "name": created.name, "role": created.role})


@router.post("/admin/tokens/{token_id}/revoke")
def admin_revoke_token(request: Request, token_id: int, principal: Admin, fields: FormFields) -> Response:
    accounts.revoke_token(service_of(request).store, token_id)
    return RedirectResponse("/admin", status_code=303)
