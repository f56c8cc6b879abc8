"""Every endpoint and page against every role: allowed or refused, cell by cell.

The tables below are written from the roles' description (admin: users and tokens;
release-manager: submit, sign off; ci: submit runs and gates, read verdicts; auditor:
read everything, change nothing; viewer: read runs and verdicts; submitting production logs for
monitoring goes with submitting runs and gates, reading the results with reading runs), not from the code's
permission table, and every route of the application must appear in them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from harness.store import RunStore
from tests.service.conftest import PASSWORD, ROLES, Accounts, make_accounts, seeded_run, service_app

ALL = frozenset(ROLES)
EVIDENCE = frozenset({"admin", "release-manager", "auditor"})  # items, comparisons, dossiers, datasets, audit log
JOB_READERS = frozenset({"admin", "release-manager", "ci", "auditor"})
SUBMIT_RUN_GATE = frozenset({"release-manager", "ci"})
RELEASE = frozenset({"release-manager"})
ADMIN = frozenset({"admin"})
VERIFY = frozenset({"admin", "release-manager", "auditor"})
PUBLIC = None  # no sign-in needed

A, B = "20261121T000000Z-aaaaaaaa", "20261122T000000Z-bbbbbbbb"


@dataclass
class Cell:
    method: str
    route: str  # the route's path template, as the application declares it
    url: str  # what is called
    roles: frozenset[str] | None
    body: Any = None
    label: str = ""
    public_status: int = 200  # what an anonymous caller gets from a public route


def api_cells(world: World) -> list[Cell]:
    run, job, tok = f"/api/v1/runs/{B}", world.job_id, world.token_id
    gate = {"kind": "gate", "params": {"run": B, "policy": "baseline-minimums"}}
    run_job = {"kind": "run", "params": {"base": "/nowhere/model", "suites": ["mmlu"]}}
    other = {"run": B, "pdf": False}
    monitor_job = {
        "kind": "monitor",
        "params": {"run": B, "logs": [str(world.log_file)], "baseline_metric": "mmlu.accuracy"},
    }
    return [
        Cell("GET", "/api/v1/health", "/api/v1/health", PUBLIC),
        Cell("GET", "/api/v1/me", "/api/v1/me", ALL),
        Cell("GET", "/api/v1/runs", "/api/v1/runs", ALL),
        Cell("GET", "/api/v1/runs/{run_id}", run, ALL),
        Cell("GET", "/api/v1/runs/{run_id}/metrics", f"{run}/metrics", ALL),
        Cell("GET", "/api/v1/runs/{run_id}/items", f"{run}/items?limit=5", EVIDENCE),
        Cell("GET", "/api/v1/runs/{run_id}/verdicts", f"{run}/verdicts", ALL),
        Cell("GET", "/api/v1/runs/{run_id}/verdict", f"{run}/verdict", ALL),
        Cell("GET", "/api/v1/runs/{run_id}/comparisons", f"{run}/comparisons", EVIDENCE),
        Cell("GET", "/api/v1/runs/{run_id}/comparisons/{reference_id}", f"{run}/comparisons/{A}", EVIDENCE),
        Cell("GET", "/api/v1/runs/{run_id}/files/{path:path}", f"{run}/files/results.json", EVIDENCE),
        Cell("GET", "/api/v1/runs/{run_id}/dossier", f"{run}/dossier", EVIDENCE),
        Cell("GET", "/api/v1/runs/{run_id}/dossier/files/{name}", f"{run}/dossier/files/dossier.json", EVIDENCE),
        Cell("POST", "/api/v1/runs/{run_id}/signoff", f"{run}/signoff", RELEASE, {"decision": "approve"}),
        Cell(
            "POST",
            "/api/v1/runs/{run_id}/monitoring",
            f"{run}/monitoring",
            SUBMIT_RUN_GATE,
            {"logs": world.log_text, "baseline_metric": "mmlu.accuracy"},
        ),
        Cell("GET", "/api/v1/runs/{run_id}/monitoring", f"{run}/monitoring", ALL),
        Cell("GET", "/api/v1/datasets", "/api/v1/datasets", EVIDENCE),
        Cell("GET", "/api/v1/datasets/{name}/{version}", "/api/v1/datasets/notes/1.0.0", EVIDENCE),
        Cell("GET", "/api/v1/audit", "/api/v1/audit", EVIDENCE),
        Cell("GET", "/api/v1/intake", "/api/v1/intake", ALL),
        Cell("GET", "/api/v1/intake/{intake_id}", f"/api/v1/intake/{world.intake_id}", ALL),
        Cell("GET", "/api/v1/selections", "/api/v1/selections", ALL),
        Cell("GET", "/api/v1/selections/{selection_id}", f"/api/v1/selections/{world.selection_id}", ALL),
        Cell("GET", "/api/v1/audit/verify", "/api/v1/audit/verify", VERIFY),
        Cell("GET", "/api/v1/jobs", "/api/v1/jobs", JOB_READERS),
        Cell("POST", "/api/v1/jobs", "/api/v1/jobs", SUBMIT_RUN_GATE, gate, "gate"),
        Cell("POST", "/api/v1/jobs", "/api/v1/jobs", SUBMIT_RUN_GATE, run_job, "run"),
        Cell("POST", "/api/v1/jobs", "/api/v1/jobs", SUBMIT_RUN_GATE, monitor_job, "monitor"),
        Cell("POST", "/api/v1/jobs", "/api/v1/jobs", RELEASE, {"kind": "report", "params": other}, "report"),
        Cell("POST", "/api/v1/jobs", "/api/v1/jobs", RELEASE, {"kind": "dossier", "params": other}, "dossier"),
        Cell(
            "POST",
            "/api/v1/jobs",
            "/api/v1/jobs",
            RELEASE,
            {"kind": "compare", "params": {"reference": A, "candidate": B}},
            "compare",
        ),
        Cell(
            "POST",
            "/api/v1/jobs",
            "/api/v1/jobs",
            RELEASE,
            {"kind": "train", "params": {"config": "/nowhere.yaml"}},
            "train",
        ),
        Cell("GET", "/api/v1/jobs/{job_id}", f"/api/v1/jobs/{job}", JOB_READERS),
        Cell("GET", "/api/v1/jobs/{job_id}/files/{name}", f"/api/v1/jobs/{job}/files/report.html", EVIDENCE),
        Cell("GET", "/api/v1/users", "/api/v1/users", ADMIN),
        Cell(
            "POST",
            "/api/v1/users",
            "/api/v1/users",
            ADMIN,
            {"name": "newcomer", "role": "viewer", "password": PASSWORD},
        ),
        Cell("PATCH", "/api/v1/users/{name}", "/api/v1/users/viewer", ADMIN, {"role": "viewer"}),
        Cell("GET", "/api/v1/tokens", "/api/v1/tokens", ADMIN),
        Cell("POST", "/api/v1/tokens", "/api/v1/tokens", ADMIN, {"name": "another", "role": "ci"}),
        Cell("DELETE", "/api/v1/tokens/{token_id}", f"/api/v1/tokens/{tok}", ADMIN),
        Cell("GET", "/openapi.json", "/openapi.json", PUBLIC),
    ]


def page_cells(world: World) -> list[Cell]:
    run, job = f"/runs/{B}", world.job_id
    return [
        Cell("GET", "/login", "/login", PUBLIC),
        Cell(
            "POST", "/login", "/login", PUBLIC, {"username": "viewer", "password": "wrong"}, public_status=403
        ),  # no CSRF token
        Cell("GET", "/static/web.css", "/static/web.css", PUBLIC),
        Cell("GET", "/", "/", ALL),
        Cell("GET", "/runs/{run_id}", run, ALL),
        Cell("GET", "/runs/{run_id}/items", f"{run}/items", EVIDENCE),
        Cell("GET", "/runs/{run_id}/verdict", f"{run}/verdict", ALL),
        Cell("GET", "/runs/{run_id}/dossier", f"{run}/dossier", EVIDENCE),
        Cell("GET", "/runs/{run_id}/monitoring", f"{run}/monitoring", ALL),
        Cell("POST", "/runs/{run_id}/signoff", f"{run}/signoff", RELEASE, {"decision": "approve", "note": "ok"}),
        Cell("GET", "/compare", f"/compare?a={A}&b={B}", EVIDENCE),
        Cell("GET", "/audit", "/audit", EVIDENCE),
        Cell("POST", "/audit/verify", "/audit/verify", VERIFY, {}),
        Cell("GET", "/datasets", "/datasets", EVIDENCE),
        Cell("GET", "/datasets/{name}/{version}", "/datasets/notes/1.0.0", EVIDENCE),
        Cell("GET", "/intake", "/intake", ALL),
        Cell("GET", "/intake/{intake_id}", f"/intake/{world.intake_id}", ALL),
        Cell("GET", "/selections/{selection_id}", f"/selections/{world.selection_id}", ALL),
        Cell("GET", "/jobs", "/jobs", JOB_READERS),
        Cell("GET", "/jobs/{job_id}", f"/jobs/{job}", JOB_READERS),
        Cell("GET", "/new", "/new", JOB_READERS),
        Cell(
            "POST", "/jobs", "/jobs", SUBMIT_RUN_GATE, {"kind": "gate", "run": B, "policy": "baseline-minimums"}, "gate"
        ),
        Cell("POST", "/jobs", "/jobs", RELEASE, {"kind": "report", "run": B}, "report"),
        Cell("GET", "/admin", "/admin", ADMIN),
        Cell(
            "POST", "/admin/users", "/admin/users", ADMIN, {"name": "pagecomer", "role": "viewer", "password": PASSWORD}
        ),
        Cell("POST", "/admin/users/{name}", "/admin/users/viewer", ADMIN, {"role": "viewer"}),
        Cell("POST", "/admin/tokens", "/admin/tokens", ADMIN, {"name": "from-page", "role": "ci"}),
        Cell("POST", "/admin/tokens/{token_id}/revoke", f"/admin/tokens/{world.page_token_id}/revoke", ADMIN, {}),
        Cell("POST", "/logout", "/logout", ALL, {}),  # last: it ends the session
    ]


@dataclass
class World:
    client: TestClient
    accounts: Accounts
    job_id: int
    token_id: int
    page_token_id: int
    intake_id: int
    selection_id: int
    log_file: Path
    log_text: str


def recorded_dossier(store: RunStore, run_id: str, folder: Path) -> None:
    """A dossier as the store records a rendering (the rendering itself is the dossier tests' business)."""
    import json

    from harness.files.hashing import sha256_file

    folder.mkdir(parents=True)
    html = folder / "dossier.html"
    html.write_text("<!doctype html><title>dossier</title><p>dossier</p>", encoding="utf-8")
    placeholders = [
        {"number": 1, "field": "intended_purpose", "label": "Intended purpose"},
        {"number": 2, "field": "signoff", "label": "Dated sign-off of this rendering"},
    ]
    (folder / "dossier.json").write_text(json.dumps({"placeholders": placeholders}), encoding="utf-8")
    row = {
        "run_id": run_id,
        "kind": "system",
        "created_at": "2026-11-22T00:00:00+00:00",
        "pdf": None,
        "pdf_sha256": None,
    }
    store.record_dossier(row | {"html": str(html.resolve()), "html_sha256": sha256_file(html)})


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    from harness.data.registry import register_dataset
    from harness.gate.judging import judge_run
    from harness.schema.results import load_results
    from harness.service import jobs
    from harness.service.accounts import create_token
    from harness.service.tasks import job_dir

    url, root = f"sqlite:///{tmp_path / 'runs.db'}", tmp_path / "service"
    store = RunStore(url)
    accounts = make_accounts(store)
    run_a = seeded_run(store, tmp_path / "runs", A)
    run_b = seeded_run(store, tmp_path / "runs", B)
    judge_run("baseline-minimums", load_results(run_b), run_b, load_results(run_a), store, run_a)
    recorded_dossier(store, B, tmp_path / "dossier")
    data = tmp_path / "notes.jsonl"
    data.write_text('{"prompt": "p", "response": "r"}\n', encoding="utf-8")
    register_dataset(store, data, name="notes", version="1.0.0")
    job = jobs.submit(store, "report", {"run": B, "pdf": False}, "tests")
    job_dir(root, job).mkdir(parents=True)
    (job_dir(root, job) / "report.html").write_text("<p>report</p>", encoding="utf-8")
    _, extra = create_token(store, "to-revoke", "ci", created_by="tests")
    _, page_extra = create_token(store, "to-revoke-on-page", "ci", created_by="tests")
    intake_id = store.add_intake(
        {"verdict": "warn", "rows": []}, created_at="2026-11-22", fingerprint="sha256:m", model="m", verdict="warn"
    )
    selection_id = store.add_selection(
        {"status": "decided", "chosen": "m", "candidates": []},
        created_at="2026-11-22",
        chosen_fingerprint="sha256:m",
        policy="selection",
    )
    logs = monitored(store, root, B, tmp_path / "logs.jsonl")
    with TestClient(service_app(url, root)) as client:
        yield World(
            client, accounts, job.id, extra.id, page_extra.id, intake_id, selection_id, logs, logs.read_text("utf-8")
        )


def monitored(store: RunStore, root: Path, run_id: str, logs: Path) -> Path:
    """Small sample logs judged against ``run_id`` by a monitor job run to the end (so its results can be read)."""
    from harness.monitoring.sample import SampleSpec, write_sample_logs
    from harness.service import jobs
    from harness.service.tasks import execute_job

    write_sample_logs(logs, SampleSpec(requests=300, seed=0))
    job = jobs.submit(
        store, "monitor", {"run": run_id, "logs": [str(logs)], "baseline_metric": "mmlu.accuracy"}, "tests"
    )
    assert jobs.claim(store, job.id, "tests:1")
    claimed = jobs.get(store, job.id)
    assert claimed is not None
    done = execute_job(store, claimed, root, "tests:1")
    assert done.status == "succeeded", done.error
    return logs


def routes(client: TestClient) -> set[tuple[str, str]]:
    """Every (method, path) the application serves: its own routes and those of the API and page routers."""
    from harness.service import api, pages

    found = set()
    for route in [*client.app.routes, *api.router.routes, *pages.router.routes]:  # type: ignore[attr-defined]
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                found.add((method, route.path))
    return found


def test_every_route_is_in_the_role_tables(world: World) -> None:
    declared = {(c.method, c.route) for c in [*api_cells(world), *page_cells(world)]}
    assert routes(world.client) == declared


def test_each_role_is_allowed_or_refused_every_api_endpoint(world: World) -> None:
    client = world.client
    wrong: list[str] = []
    for cell in api_cells(world):
        anonymous = client.request(cell.method, cell.url, json=cell.body)
        if cell.roles is PUBLIC:
            if anonymous.status_code != cell.public_status:
                wrong.append(f"anonymous {cell.method} {cell.url}: {anonymous.status_code}")
            continue
        if anonymous.status_code != 401:
            wrong.append(f"anonymous {cell.method} {cell.url} {cell.label}: {anonymous.status_code}, not 401")
        for role in ROLES:
            response = client.request(cell.method, cell.url, json=cell.body, headers=world.accounts.bearer(role))
            expected_allowed = role in cell.roles
            allowed = response.status_code < 300
            if expected_allowed != allowed or (not allowed and response.status_code != 403):
                wrong.append(
                    f"{role:<15} {cell.method} {cell.url} {cell.label}: {response.status_code} "
                    f"{'(should be allowed)' if expected_allowed else '(should be 403)'} {response.text[:160]}"
                )
    assert not wrong, "\n".join(wrong)


def sign_in(client: TestClient, name: str) -> str:
    """Sign in through the form; the session's CSRF token."""
    form = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None
    done = client.post(
        "/login", data={"username": name, "password": PASSWORD, "csrf_token": csrf.group(1)}, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    page = client.get("/login")  # any page carries the session's (new) token
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return token.group(1)


def test_each_role_is_allowed_or_refused_every_page(world: World) -> None:
    client = world.client
    wrong: list[str] = []
    cells = page_cells(world)
    client.cookies.clear()
    for cell in cells:
        anonymous = client.request(cell.method, cell.url, data=cell.body, follow_redirects=False)
        if cell.roles is PUBLIC:
            ok = anonymous.status_code == cell.public_status
        else:
            ok = anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
        if not ok:
            wrong.append(f"anonymous {cell.method} {cell.url}: {anonymous.status_code}")
    for role in ROLES:
        client.cookies.clear()
        csrf = sign_in(client, role)
        for cell in cells:
            if cell.roles is PUBLIC:
                continue
            body = dict(cell.body or {}, csrf_token=csrf) if cell.method == "POST" else None
            response = client.request(cell.method, cell.url, data=body, follow_redirects=False)
            expected_allowed = role in cell.roles
            allowed = response.status_code < 400
            if expected_allowed != allowed or (not allowed and response.status_code != 403):
                wrong.append(
                    f"{role:<15} {cell.method} {cell.url} {cell.label}: {response.status_code} {response.text[:120]}"
                )
    assert not wrong, "\n".join(wrong)


def test_a_form_post_without_the_sessions_csrf_token_is_refused(world: World) -> None:
    client = world.client
    sign_in(client, "release-manager")
    refused = client.post(f"/runs/{B}/signoff", data={"decision": "approve", "csrf_token": "forged"})
    assert refused.status_code == 403 and "CSRF" in refused.text
    cookie_call = client.post(f"/api/v1/runs/{B}/signoff", json={"decision": "approve"})
    assert cookie_call.status_code == 403 and "CSRF" in cookie_call.json()["detail"]
