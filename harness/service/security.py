"""Who is calling and what protects the pages: principals, CSRF tokens, security headers, the session key.

- A caller is a signed-in user (a signed session cookie naming the user's id; the user is
  read from the store on every request, so a changed role or a disabled account takes
  effect at once) or an API token (``Authorization: Bearer <token>``).
- CSRF: a synchronizer token kept in the session; every form carries it in a hidden
  ``csrf_token`` field, and an API call authenticated by the session cookie must send it
  as ``X-CSRF-Token`` for any method that changes something. Token callers need none
  (a browser never adds an Authorization header by itself). The login form has one too.
- Headers on every response: ``Content-Security-Policy: default-src 'self'`` (no inline
  script, no foreign origin), ``X-Frame-Options: DENY``, ``X-Content-Type-Options:
  nosniff``, ``Referrer-Policy: same-origin``.
- The session key: ``$HARNESS_SESSION_SECRET``, else ``$HARNESS_HOME/keys/session-secret``
  (created on first use, mode 0600). Every web process behind one address needs the same key.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from harness.paths import harness_home
from harness.service.accounts import Principal, token_principal, user_principal
from harness.store.runs import RunStore

SESSION_SECRET_ENV = "HARNESS_SESSION_SECRET"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
# a rendered report or dossier viewed in the browser: its own inline styles, nothing that runs
DOCUMENT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class SecurityHeaders:
    """ASGI middleware: the security headers on every HTTP response (a response's own CSP is kept)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def session_secret() -> str:
    """The key that signs session cookies (see the module's docstring)."""
    value = os.environ.get(SESSION_SECRET_ENV)
    if value:
        return value
    path = harness_home() / "keys" / "session-secret"
    if not path.is_file():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".session-secret.", dir=path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
            with contextlib.suppress(FileExistsError):  # another process made it first: theirs is kept
                os.link(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    return path.read_text(encoding="utf-8").strip()


def bearer_token(headers: Any) -> str | None:
    value = str(headers.get("authorization", ""))
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def caller(store: RunStore, headers: Any, session: MutableMapping[str, Any]) -> Principal | None:
    """The principal of a request: its bearer token, else its session's user; None if neither is valid."""
    token = bearer_token(headers)
    if token is not None:
        return token_principal(store, token)
    user_id = session.get("uid")
    if isinstance(user_id, int):
        return user_principal(store, user_id)
    return None


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's CSRF token (made on first use)."""
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok(session: MutableMapping[str, Any], sent: object) -> bool:
    expected = session.get("csrf")
    return (
        isinstance(expected, str)
        and bool(expected)
        and isinstance(sent, str)
        and secrets.compare_digest(sent, expected)
    )
