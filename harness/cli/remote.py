"""``harness remote``: a `harness serve` service from the shell, with an API token (HARNESS_TOKEN)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from harness.cli.app import App
from harness.cli.options import RUN_LIMIT, Count, Text

JOB_ID = Count(1, 2**62, "a job id")


@click.group()
@click.option(
    "--server",
    required=True,
    envvar="HARNESS_SERVER",
    metavar="URL",
    type=Text(),
    help="The service [env: HARNESS_SERVER].",
)
@click.pass_context
def remote(ctx: click.Context, server: str) -> None:
    """Use a `harness serve` service: list runs and jobs, submit jobs and follow them.

    \b
    export HARNESS_SERVER=https://harness.example.org HARNESS_TOKEN=hrn_...
    harness remote runs
    harness remote submit run --param base=/models/m --param suites=mmlu,gsm8k --wait
    harness remote job 12 --wait
    harness gate RUN_ID --policy baseline-minimums --server "$HARNESS_SERVER"   the gate's exit code
    """
    ctx.meta["harness.server"] = server


def _client(ctx: click.Context) -> Any:
    from harness.service.client import ServiceClient

    return ServiceClient(str(ctx.meta["harness.server"]))


@remote.command()
@click.pass_context
def whoami(ctx: click.Context) -> None:
    """Who the token acts as, and what its role allows."""
    with _client(ctx) as client:
        me = client.get("/api/v1/me")
    click.echo(f"{me['name']} ({me['kind']}, role {me['role']}): {', '.join(me['permissions'])}")


@remote.command()
@click.option("--limit", default=20, show_default=True, type=RUN_LIMIT)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs(ctx: click.Context, limit: int, as_json: bool) -> None:
    """Runs in the service's store, newest first, with their latest verdict."""
    with _client(ctx) as client:
        rows = client.get("/api/v1/runs", limit=limit)
    if as_json:
        App.emit_json(rows)
        return
    table = [("RUN", "CREATED", "STATUS", "VERDICT", "HEADLINE")]
    for r in rows:
        heads = ", ".join(f"{k}={v['value']:.3f}" for k, v in r["headline"].items() if v.get("value") is not None)
        table.append((r["run_id"], r["created_at"], r["status"], (r["verdict"] or "-").upper(), heads))
    App.table(table)


@remote.command()
@click.option("--status", type=click.Choice(["queued", "running", "succeeded", "failed"]))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def jobs(ctx: click.Context, status: str | None, as_json: bool) -> None:
    """Jobs on the service, newest first."""
    with _client(ctx) as client:
        rows = client.get("/api/v1/jobs", status=status)
    if as_json:
        App.emit_json(rows)
        return
    table = [("JOB", "KIND", "STATUS", "RUN", "BY", "SUBMITTED")]
    table += [
        (str(j["id"]), j["kind"], j["status"], j["run_id"] or "-", j["submitted_by"], j["created_at"]) for j in rows
    ]
    App.table(table)


def _finish(job: dict[str, Any], as_json: bool) -> None:
    if as_json:
        App.emit_json({k: v for k, v in job.items() if k != "progress"})
    else:
        click.echo(f"job {job['id']} {job['kind']} {job['status']}" + (f": {job['error']}" if job.get("error") else ""))
    if job["status"] == "failed":
        sys.exit(2)


@remote.command()
@click.argument("job_id", type=JOB_ID)
@click.option("--wait", is_flag=True, help="Follow its progress until it finishes (exit 2 if it failed).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def job(ctx: click.Context, job_id: int, wait: bool, as_json: bool) -> None:
    """A job's state and progress."""
    with _client(ctx) as client:
        if wait:
            found = client.wait_job(job_id, lambda line: App.say(line, tag=f"job {job_id}"))
        else:
            found = client.get(f"/api/v1/jobs/{job_id}")
            for line in found.get("progress", []):
                click.echo(f"  {line['created_at']} {line['line']}", err=True)
    _finish(found, as_json)


def _param(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise click.BadParameter(f"give KEY=VALUE, got {text!r}", param_hint="--param")
    try:
        parsed: Any = json.loads(value)
    except ValueError:
        parsed = value
    if key.strip() in ("suites", "datasets") and isinstance(parsed, str):
        parsed = [part.strip() for part in parsed.split(",") if part.strip()]
    return key.strip(), parsed


@remote.command()
@click.argument("kind", type=click.Choice(["run", "gate", "compare", "report", "dossier", "train", "monitor"]))
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A job parameter (JSON values are parsed). Repeatable.",
)
@click.option("--wait", is_flag=True, help="Follow the job until it finishes (exit 2 if it failed).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def submit(ctx: click.Context, kind: str, params: tuple[str, ...], wait: bool, as_json: bool) -> None:
    """Submit a job of KIND with its parameters (as the API's POST /api/v1/jobs)."""
    body = dict(_param(p) for p in params)
    with _client(ctx) as client:
        created = client.submit(kind, body)
        App.say(f"job {created['id']} ({kind}) submitted", tag="remote")
        if not wait:
            click.echo(created["id"])
            return
        done = client.wait_job(int(created["id"]), lambda line: App.say(line, tag=f"job {created['id']}"))
    _finish(done, as_json)
