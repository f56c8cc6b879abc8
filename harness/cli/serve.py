"""``harness serve``: the web service (API, pages, job workers) over the run store; its users and tokens."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from harness.cli.app import App, pass_app
from harness.cli.options import Count, PathType, Text
from harness.errors import HarnessError

PORT = Count(1, 65535, "a port number from 1 to 65535")
WORKERS = Count(0, 64, "a number of worker processes from 0 to 64")
ROLES = ["admin", "release-manager", "ci", "auditor", "viewer"]


def service_root(root: Path | None) -> Path:
    """Where jobs write their runs, reports and dossiers [default: $HARNESS_HOME/service]."""
    from harness.paths import harness_home

    return (root or harness_home() / "service").expanduser().resolve()


@click.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, type=Text(), help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=PORT, help="Port to listen on.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=WORKERS,
    help="Job worker processes this service starts (0: none here; PostgreSQL workers may run elsewhere).",
)
@click.option("--worker-only", is_flag=True, help="Run job workers only, no web server (PostgreSQL: on any machine).")
@click.option(
    "--root",
    type=PathType(file_okay=False, path_type=Path),
    help="Folder the jobs write runs, reports and dossiers into [default: $HARNESS_HOME/service].",
)
@click.option("--https-only", is_flag=True, help="Send the session cookie over HTTPS only (behind a TLS proxy).")
@click.pass_context
def serve(
    ctx: click.Context, host: str, port: int, workers: int, worker_only: bool, root: Path | None, https_only: bool
) -> None:
    """Serve the run store: REST API (/api/v1, /openapi.json), web pages, and job workers.

    \b
    harness serve                          http://127.0.0.1:8000, one worker, the default SQLite store
    harness --store postgresql+psycopg://... serve --workers 4
    harness --store postgresql+psycopg://... serve --worker-only    workers on another machine
    harness serve user add alice --role release-manager
    harness serve token add ci-bot --role ci                         prints the token once

    Jobs (run, gate, compare, report, dossier, train) run in worker processes: with SQLite,
    the ones this command starts; with PostgreSQL, any `harness serve` or `--worker-only`
    sharing the database. A worker that dies has its job marked failed with the reason,
    and an interrupted run continues (resumed) in a new job. Roles: admin (users, tokens),
    release-manager (submit, sign off), ci (runs, gates), auditor (reads all), viewer.
    """
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.find_object(App)
    assert app is not None
    from harness.paths import default_store_url

    store_url = app.store_url or default_store_url()
    folder = service_root(root)
    if worker_only:
        run_workers(store_url, folder, max(workers, 1), app)
        return
    run_service(store_url, folder, host, port, workers, https_only, app)


def _dispatcher(store_url: str, app: App) -> object | None:
    from harness.service.queue import QueueDispatcher, is_postgres

    return QueueDispatcher(app.store) if is_postgres(store_url) else None


def run_workers(store_url: str, folder: Path, workers: int, app: App) -> None:
    """Keep ``workers`` worker processes running until interrupted."""
    import signal
    import threading

    from harness.service.queue import QueueDispatcher
    from harness.service.worker import Supervisor

    app.store  # noqa: B018 - opens (creates or upgrades) the store before any worker starts
    dispatcher = _dispatcher(store_url, app)
    dispatch = dispatcher if isinstance(dispatcher, QueueDispatcher) else None
    supervisor = Supervisor(store_url, folder, workers, dispatch=dispatch).start()
    app.say(f"{workers} worker(s) on {_shown(store_url)}; jobs write into {folder}; Ctrl-C stops", tag="serve")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        supervisor.stop()
        if dispatch is not None:
            dispatch.close()


def run_service(store_url: str, folder: Path, host: str, port: int, workers: int, https_only: bool, app: App) -> None:
    import uvicorn

    from harness.service.accounts import list_users
    from harness.service.app import ServiceConfig, create_app
    from harness.service.queue import QueueDispatcher
    from harness.service.security import session_secret
    from harness.service.worker import Supervisor

    store = app.store
    dispatcher = _dispatcher(store_url, app)
    dispatch = dispatcher if isinstance(dispatcher, QueueDispatcher) else None
    config = ServiceConfig(
        store_url=store_url, root=folder, secret_key=session_secret(), https_only=https_only, dispatch=dispatch
    )
    web = create_app(config)
    supervisor = Supervisor(store_url, folder, workers, dispatch=dispatch).start() if workers else None
    if not list_users(store):
        app.say("no users yet: add one with `harness serve user add NAME --role admin`", tag="serve")
    if host not in ("127.0.0.1", "localhost", "::1") and not https_only:
        app.say(f"listening on {host} over plain HTTP: put it behind TLS and pass --https-only", tag="serve")
    app.say(
        f"http://{host}:{port} over {_shown(store_url)}, {workers} worker(s), jobs write into {folder}", tag="serve"
    )
    try:
        uvicorn.run(web, host=host, port=port, log_level="warning", access_log=False)
    finally:
        if supervisor is not None:
            supervisor.stop()
        if dispatch is not None:
            dispatch.close()


def _shown(store_url: str) -> str:
    from harness.store.runs import shown_url

    return shown_url(store_url)


# ---------------------------------------------------------------------------- users


@serve.group()
def user() -> None:
    """Users of the web pages (password sign-in)."""


def _password(password_stdin: bool) -> str:
    if password_stdin:
        line = sys.stdin.readline().rstrip("\n")
        if not line:
            raise HarnessError("--password-stdin: no password on standard input")
        return line
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@user.command("add")
@click.argument("name", type=Text())
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@pass_app
def user_add(app: App, name: str, role: str, password_stdin: bool) -> None:
    """Add a user with a password (argon2id hash kept, never the password)."""
    from harness.service.accounts import create_user

    created = create_user(app.store, name, role, _password(password_stdin))
    click.echo(f"user {created.name} ({created.role}) added")


@user.command("list")
@pass_app
def user_list(app: App) -> None:
    """List users and their roles."""
    from harness.service.accounts import list_users

    rows = [("NAME", "ROLE", "CREATED", "STATE")]
    rows += [
        (u["name"], u["role"], u["created_at"], "disabled" if u["disabled"] else "active")
        for u in list_users(app.store)
    ]
    app.table(rows)


@user.command("set-role")
@click.argument("name", type=Text())
@click.argument("role", type=click.Choice(ROLES))
@pass_app
def user_set_role(app: App, name: str, role: str) -> None:
    """Change a user's role (effective on their next request)."""
    from harness.service.accounts import set_role

    set_role(app.store, name, role)
    click.echo(f"user {name} is now {role}")


@user.command("passwd")
@click.argument("name", type=Text())
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@pass_app
def user_passwd(app: App, name: str, password_stdin: bool) -> None:
    """Set a user's password."""
    from harness.service.accounts import set_password

    set_password(app.store, name, _password(password_stdin))
    click.echo(f"password of {name} changed")


@user.command("disable")
@click.argument("name", type=Text())
@click.option("--enable", is_flag=True, help="Enable the user again.")
@pass_app
def user_disable(app: App, name: str, enable: bool) -> None:
    """Disable a user (signed-in sessions end on their next request), or enable them again."""
    from harness.service.accounts import set_disabled

    set_disabled(app.store, name, not enable)
    click.echo(f"user {name} {'enabled' if enable else 'disabled'}")


# ---------------------------------------------------------------------------- tokens


@serve.group()
def token() -> None:
    """API tokens for CI and scripts (sent as Authorization: Bearer TOKEN)."""


@token.command("add")
@click.argument("name", type=Text())
@click.option("--role", required=True, type=click.Choice(ROLES))
@pass_app
def token_add(app: App, name: str, role: str) -> None:
    """Create an API token and print it once (the store keeps only its SHA-256)."""
    import getpass

    from harness.service.accounts import create_token

    secret, created = create_token(app.store, name, role, created_by=f"{getpass.getuser()} (shell)")
    click.echo(secret)
    click.echo(
        f"token {created.name} ({created.role}, id {created.id}): shown once; store it as HARNESS_TOKEN", err=True
    )


@token.command("list")
@pass_app
def token_list(app: App) -> None:
    """List API tokens (their first characters only)."""
    from harness.service.accounts import list_tokens

    rows = [("ID", "NAME", "ROLE", "STARTS", "CREATED", "LAST USED", "STATE")]
    rows += [
        (
            str(t["id"]),
            t["name"],
            t["role"],
            t["hint"] + "…",
            t["created_at"],
            t["last_used_at"] or "never",
            "revoked" if t["revoked"] else "active",
        )
        for t in list_tokens(app.store)
    ]
    app.table(rows)


@token.command("revoke")
@click.argument("token_id", type=Count(1, 2**62, "a token id (see harness serve token list)"))
@pass_app
def token_revoke(app: App, token_id: int) -> None:
    """Revoke an API token by id."""
    from harness.service.accounts import revoke_token

    revoke_token(app.store, token_id)
    click.echo(f"token {token_id} revoked")
