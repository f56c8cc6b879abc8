"""What every route of the service shares: its configuration and store, who is calling, what they may do.

Every route names the permission it needs (:mod:`harness.service.roles`) through
:func:`api_permission` or :func:`page_permission`: anonymous API calls get 401, anonymous
page visits go to the sign-in page, and a caller whose role lacks the permission gets 403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse

from harness import __version__
from harness.service import jobs
from harness.service.accounts import Principal
from harness.service.queue import Dispatch
from harness.service.roles import allowed
from harness.service.security import CSRF_HEADER, SAFE_METHODS, caller, csrf_ok, csrf_token
from harness.store.runs import RunStore

if TYPE_CHECKING:
    from jinja2 import Environment

SESSION_COOKIE = "harness_session"
SESSION_MAX_AGE = 8 * 3600


@dataclass
class ServiceConfig:
    """How one web process serves: its store, where jobs write, how sessions are signed."""

    store_url: str
    root: Path
    secret_key: str
    https_only: bool = False  # mark the session cookie Secure (set it behind HTTPS)
    session_max_age: int = SESSION_MAX_AGE
    dispatch: Dispatch | None = None  # hands a submitted job to the queue (PostgreSQL); None: workers poll
    open_queue: bool = True  # on PostgreSQL, open the queue at start-up when no dispatch is given


@dataclass
class Service:
    """What every request handler shares."""

    config: ServiceConfig
    store: RunStore
    dispatch: Dispatch | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def root(self) -> Path:
        return self.config.root

    @cached_property
    def templates(self) -> Environment:
        return web_environment()

    def submit(self, kind: str, params: dict[str, Any], principal: Principal) -> jobs.Job:
        """Check the job's parameters, queue it, and hand it to the queue where there is one."""
        from harness.service.tasks import check_params, check_runs_reachable

        checked = check_params(kind, params)
        check_runs_reachable(self.store, kind, checked)
        job = jobs.submit(self.store, kind, checked, principal.name)
        if self.dispatch is not None:
            try:
                self.dispatch(job)
            except Exception as exc:  # the queue's own recovery dispatches it later
                jobs.add_progress(self.store, job.id, f"queued; the queue was not reachable ({type(exc).__name__})")
        return jobs.get(self.store, job.id) or job


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


# ---------------------------------------------------------------------------- who is calling


class LoginRequired(Exception):
    """A page for signed-in users only, visited anonymously: the sign-in page, then back."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class PageForbidden(Exception):
    def __init__(self, principal: Principal, permission: str) -> None:
        self.principal, self.permission = principal, permission


def request_principal(request: Request) -> Principal | None:
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    principal = caller(service_of(request).store, request.headers, request.session)
    request.state.principal = principal
    return principal


def api_permission(permission: str | None) -> Callable[[Request], Principal]:
    """Dependency of an API route: the caller, who must hold ``permission`` (None: any signed-in caller).

    401 without valid credentials; 403 without the permission, or for a cookie-authenticated
    call that changes something without the session's CSRF token in ``X-CSRF-Token``.
    """

    def dependency(request: Request) -> Principal:
        principal = request_principal(request)
        if principal is None:
            raise HTTPException(
                401, "sign in, or send an API token: Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"}
            )
        if permission is not None and not allowed(principal.role, permission):
            raise HTTPException(403, f"role {principal.role} may not do this ({permission})")
        if (
            request.method not in SAFE_METHODS
            and principal.kind == "user"
            and not csrf_ok(request.session, request.headers.get(CSRF_HEADER))
        ):
            raise HTTPException(403, "CSRF token missing or invalid (send the session's token as X-CSRF-Token)")
        return principal

    return dependency


def page_permission(permission: str | None) -> Callable[[Request], Principal]:
    """Dependency of a page: anonymous visitors go to the sign-in page; a role without ``permission`` gets 403."""

    def dependency(request: Request) -> Principal:
        principal = request_principal(request)
        if principal is None:
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(path if request.method == "GET" else "/")
        if permission is not None and not allowed(principal.role, permission):
            raise PageForbidden(principal, permission)
        return principal

    return dependency


async def form_with_csrf(request: Request) -> dict[str, str]:
    """Dependency of a form post: its fields, once its CSRF token matched the session's (403 otherwise)."""
    form = await request.form()
    if not csrf_ok(request.session, form.get("csrf_token")):
        raise HTTPException(403, "CSRF token missing or invalid: reload the page and try again")
    return {key: value for key, value in form.items() if isinstance(value, str)}


def html(text: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers={"cache-control": "no-store", **(headers or {})})


def page_context(request: Request, principal: Principal | None) -> dict[str, Any]:
    """What every page's template gets: the caller, what they may do, the CSRF token."""
    return {
        "user": principal,
        "can": (lambda permission: principal is not None and allowed(principal.role, permission)),
        "csrf": csrf_token(request.session),
        "version": __version__,
        "path": request.url.path,
    }


def web_templates_dir() -> Path:
    from harness.reports.render import templates_dir

    return templates_dir() / "web"


def web_environment() -> Environment:
    """Jinja for the pages: autoescaping everywhere, undefined names are errors, the report's number filters."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    from harness.schema.format import format_metric

    env = Environment(
        loader=FileSystemLoader(web_templates_dir()),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["metric"] = lambda m: format_metric(SimpleNamespace(**m) if isinstance(m, dict) else m)
    env.filters["num"] = lambda v, d=4: "-" if v is None else f"{v:.{d}f}"
    env.filters["pct"] = lambda v: "-" if v is None else f"{v:.1%}"
    env.filters["pvalue"] = lambda v: "-" if v is None else f"{v:.3g}"
    env.filters["signed"] = lambda v, d=4: "-" if v is None else f"{v:+.{d}f}"
    env.filters["short"] = lambda v, n=12: "" if v is None else (str(v) if len(str(v)) <= n else str(v)[:n] + "…")
    env.filters["urlpart"] = lambda v: quote(str(v), safe="")
    return env
