"""The FastAPI application of ``harness serve``: the REST API (``/api/v1``, described at
``/openapi.json``) and the server-rendered pages, over one run store.

:func:`create_app` builds it; :mod:`harness.service.api` and :mod:`harness.service.pages`
hold the routes, :mod:`harness.service.context` what they share (who is calling, what
each role may do).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from harness import __version__
from harness.errors import HarnessError
from harness.service.context import (
    SESSION_COOKIE,
    LoginRequired,
    PageForbidden,
    Service,
    ServiceConfig,
    request_principal,
)
from harness.service.queue import is_postgres
from harness.service.security import SecurityHeaders
from harness.service.views import NotFound
from harness.store.runs import RunStore

__all__ = ["ServiceConfig", "create_app"]


def create_app(config: ServiceConfig) -> FastAPI:
    """The service's FastAPI application over ``config.store_url``."""
    from harness.service import api, pages

    store = RunStore(config.store_url)
    service = Service(config=config, store=store, dispatch=config.dispatch)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if service.dispatch is None and config.open_queue and is_postgres(config.store_url):
            from harness.service.queue import QueueDispatcher

            dispatcher = QueueDispatcher(store)
            service.dispatch = dispatcher
            service.closers.append(dispatcher.close)
        try:
            yield
        finally:
            for close in service.closers:
                close()

    app = FastAPI(
        title="harness",
        version=__version__,
        description="Evaluation and compliance gate for fine-tuned language models: runs, verdicts, dossiers, "
        "jobs and the audit log of one run store. Authenticate with `Authorization: Bearer <token>` "
        "(`harness serve token add NAME --role ROLE`).",
        lifespan=lifespan,
        docs_url=None,  # the interactive docs pull scripts from a CDN, which the CSP forbids
        redoc_url=None,
    )
    app.state.service = service
    app.add_middleware(
        SessionMiddleware,
        secret_key=config.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=config.session_max_age,
        same_site="lax",
        https_only=config.https_only,
    )
    app.add_middleware(SecurityHeaders)
    app.include_router(api.router)
    app.include_router(pages.router)
    _error_handlers(app)
    return app


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/openapi.json"


def _error_handlers(app: FastAPI) -> None:
    from harness.service.pages import error_page

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(exc.next_path, safe='/')}", status_code=303)

    @app.exception_handler(PageForbidden)
    async def page_forbidden(request: Request, exc: PageForbidden) -> Response:
        return error_page(
            request, 403, f"Your role ({exc.principal.role}) does not allow this ({exc.permission}).", exc.principal
        )

    @app.exception_handler(HarnessError)
    async def harness_error(request: Request, exc: HarnessError) -> Response:
        message = " ".join(str(exc).split())
        if _wants_json(request):
            return JSONResponse({"detail": message}, status_code=422)
        return error_page(request, 422, message, request_principal(request))

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": str(exc)}, status_code=404)
        return error_page(request, 404, str(exc), request_principal(request))

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> Response:
        import traceback

        traceback.print_exception(exc)
        message = f"a bug in harness: {type(exc).__name__}: {' '.join(str(exc).split())}"
        if _wants_json(request):
            return JSONResponse({"detail": message}, status_code=500)
        return error_page(request, 500, message, request_principal(request))

    # Starlette's HTTPException (FastAPI's is a subclass): an unknown path is a page, not JSON, in a browser.
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_json(request) or exc.status_code == 401:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return error_page(request, exc.status_code, str(exc.detail), request_principal(request))
