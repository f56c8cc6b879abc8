"""The REST API and the pages' protections: reading runs, paging items, downloads, sign-off, jobs, sign-in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from harness.service import jobs
from harness.store import RunStore
from tests.service.conftest import PASSWORD, Accounts, make_accounts, seeded_run, service_app, thread_worker

RUN = "20261122T000000Z-abcdef12"


@dataclass
class Site:
    client: TestClient
    accounts: Accounts
    store: RunStore
    url: str
    root: Path
    run_dir: Path


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    url, root = f"sqlite:///{tmp_path / 'runs.db'}", tmp_path / "service"
    store = RunStore(url)
    accounts = make_accounts(store)
    run_dir = seeded_run(store, tmp_path / "runs", RUN)
    with TestClient(service_app(url, root)) as client:
        yield Site(client, accounts, store, url, root, run_dir)


def test_a_run_is_read_with_every_metric_and_its_interval(site: Site) -> None:
    runs = site.client.get("/api/v1/runs", headers=site.accounts.bearer("viewer")).json()
    assert [r["run_id"] for r in runs] == [RUN]
    assert runs[0]["headline"]["mmlu.accuracy"]["n"] == 100 and runs[0]["verdict"] is None
    run = site.client.get(f"/api/v1/runs/{RUN}", headers=site.accounts.bearer("viewer")).json()
    accuracy = next(m for m in run["metrics"] if m["name"] == "mmlu.accuracy")
    assert (
        accuracy["value"] == 0.7
        and accuracy["ci_low"] < 0.7 < accuracy["ci_high"]
        and accuracy["ci_method"] == "wilson"
    )
    assert run["suite_status"]["mmlu"]["status"] == "completed"


def test_item_records_come_in_pages_with_the_total(site: Site) -> None:
    auditor = site.accounts.bearer("auditor")
    first = site.client.get(f"/api/v1/runs/{RUN}/items?limit=40", headers=auditor).json()
    second = site.client.get(f"/api/v1/runs/{RUN}/items?limit=40&offset=140", headers=auditor).json()
    assert first["total"] == 150 and len(first["items"]) == 40 and len(second["items"]) == 10
    failing = site.client.get(f"/api/v1/runs/{RUN}/items?suite=mmlu&correct=false&limit=500", headers=auditor).json()
    assert failing["total"] == 30 and all(not i["correct"] and i["suite"] == "mmlu" for i in failing["items"])
    too_many = site.client.get(f"/api/v1/runs/{RUN}/items?limit=501", headers=auditor)
    assert too_many.status_code == 422


@pytest.mark.parametrize(
    "path",
    [
        "../runs.db",
        "..%2F..%2Fruns.db",
        "%2e%2e/%2e%2e/runs.db",
        "%2Fetc%2Fpasswd",
        "//etc/passwd",
        ".partial/x",
        "escape",
    ],
)
def test_a_file_download_never_leaves_the_runs_folder(site: Site, path: str) -> None:
    (site.run_dir / "escape").symlink_to(site.run_dir.parent.parent / "runs.db")
    response = site.client.get(f"/api/v1/runs/{RUN}/files/{path}", headers=site.accounts.bearer("auditor"))
    assert response.status_code == 404, response.text


def test_a_run_file_downloads_as_an_attachment_with_the_security_headers(site: Site) -> None:
    response = site.client.get(f"/api/v1/runs/{RUN}/files/results.json", headers=site.accounts.bearer("auditor"))
    assert response.status_code == 200 and response.json()["run_id"] == RUN
    assert response.headers["content-disposition"].startswith("attachment")
    for name, value in {
        "content-security-policy": "default-src 'self'",
        "x-frame-options": "DENY",
        "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin",
    }.items():
        assert value in response.headers[name]
    page = site.client.get("/login")
    assert page.headers["x-frame-options"] == "DENY" and "default-src 'self'" in page.headers["content-security-policy"]


def record_dossier(site: Site) -> None:
    from tests.service.test_roles import recorded_dossier

    recorded_dossier(site.store, RUN, site.root / "dossier")


def test_a_sign_off_records_the_authenticated_caller_not_a_typed_name(site: Site) -> None:
    headers = site.accounts.bearer("release-manager")
    refused = site.client.post(f"/api/v1/runs/{RUN}/signoff", json={"decision": "approve"}, headers=headers)
    assert refused.status_code == 422 and "no dossier yet" in refused.json()["detail"]
    record_dossier(site)
    before = site.client.get(f"/api/v1/runs/{RUN}/dossier", headers=headers).json()
    assert [p["field"] for p in before["placeholders"]] == ["intended_purpose", "signoff"]
    typed = site.client.post(
        f"/api/v1/runs/{RUN}/signoff", json={"decision": "approve", "by": "Someone Else"}, headers=headers
    )
    assert typed.status_code == 422  # the signer is never a field of the request
    signed = site.client.post(
        f"/api/v1/runs/{RUN}/signoff", json={"decision": "approve", "note": "ok"}, headers=headers
    )
    assert signed.status_code == 201
    (entry,) = [r["entry"] for r in site.store.audit_rows(RUN) if r["action"] == "signoff"]
    assert entry["by"] == "release-manager-token" and entry["role"] == "release-manager"
    assert entry["authenticated"] == "harness serve token" and entry["decision"] == "approve"
    dossier = site.client.get(f"/api/v1/runs/{RUN}/dossier", headers=headers).json()
    assert dossier["placeholders"] == [{"field": "intended_purpose", "label": "Intended purpose"}]  # signed now
    assert dossier["signoffs"][0]["current"] is True


def test_user_text_is_escaped_on_the_pages(site: Site) -> None:
    from tests.service.test_roles import sign_in

    record_dossier(site)
    script = '<script>alert("x")</script>'
    site.client.post(
        f"/api/v1/runs/{RUN}/signoff",
        json={"decision": "reject", "note": script},
        headers=site.accounts.bearer("release-manager"),
    )
    sign_in(site.client, "auditor")
    for path in ("/audit", f"/runs/{RUN}/dossier"):
        page = site.client.get(path)
        assert page.status_code == 200
        assert script not in page.text and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text


def test_a_submitted_job_is_checked_queued_run_by_a_worker_and_followed(site: Site) -> None:
    ci = site.accounts.bearer("ci")
    unknown_suite = site.client.post(
        "/api/v1/jobs", json={"kind": "run", "params": {"base": "m", "suites": ["nope"]}}, headers=ci
    )
    assert unknown_suite.status_code == 422 and "nope" in unknown_suite.json()["detail"]
    extra = site.client.post(
        "/api/v1/jobs",
        json={"kind": "gate", "params": {"run": RUN, "policy": "p", "trust_remote_code": True}},
        headers=ci,
    )
    assert extra.status_code == 422 and "trust_remote_code" in extra.json()["detail"]
    missing = site.client.post(
        "/api/v1/jobs", json={"kind": "gate", "params": {"run": "20990101T000000Z-00000000", "policy": "p"}}, headers=ci
    )
    assert missing.status_code == 422 and "gate job: run:" in missing.json()["detail"]
    submitted = site.client.post(
        "/api/v1/jobs", json={"kind": "gate", "params": {"run": RUN, "policy": "baseline-minimums"}}, headers=ci
    )
    assert submitted.status_code == 201 and submitted.json()["status"] == "queued"
    job_id = submitted.json()["id"]
    with thread_worker(site.url, site.root):
        for _ in range(400):
            job = site.client.get(f"/api/v1/jobs/{job_id}", headers=ci).json()
            if job["status"] in ("succeeded", "failed"):
                break
            import time

            time.sleep(0.05)
    assert job["status"] == "succeeded", job
    assert job["result"]["verdict"]["verdict"] == "pass" and job["result"]["exit_code"] == 0 and job["run_id"] == RUN
    lines = [p["line"] for p in job["progress"]]
    assert lines[0].startswith("started on worker") and "verdict PASS (exit 0)" in lines
    later = site.client.get(f"/api/v1/jobs/{job_id}?after={job['progress'][-2]['id']}", headers=ci).json()
    assert [p["line"] for p in later["progress"]] == ["succeeded"]
    verdict = site.client.get(f"/api/v1/runs/{RUN}/verdict", headers=site.accounts.bearer("viewer")).json()
    assert verdict["policy"] == "baseline-minimums" and verdict["verdict"] == "pass"


def login(client: TestClient, name: str, password: str) -> int:
    form = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None
    response = client.post(
        "/login", data={"username": name, "password": password, "csrf_token": csrf.group(1)}, follow_redirects=False
    )
    return response.status_code


def test_failed_sign_ins_are_limited_by_a_counter_every_process_shares(site: Site, tmp_path: Path) -> None:
    assert [login(site.client, "viewer", "wrong password") for _ in range(5)] == [401] * 5
    assert login(site.client, "viewer", PASSWORD) == 429  # even the right password waits now
    with TestClient(service_app(site.url, tmp_path / "other")) as other:  # another web process on the same store
        assert login(other, "viewer", PASSWORD) == 429
        blocked = other.get("/login")
        assert blocked.status_code == 200
    assert login(site.client, "auditor", PASSWORD) == 303  # other users are not locked out by it
    site.client.cookies.clear()
    names = ["ci"] * 5 + ["release-manager"] * 5 + ["auditor"] * 5
    assert [login(site.client, name, "wrong password") for name in names] == [401] * 15
    assert login(site.client, "admin", PASSWORD) == 429  # 20 failures from one address: it waits, whoever it is


def test_a_sign_in_starts_a_new_session_and_goes_back_only_to_this_site(site: Site) -> None:
    client = site.client
    form = client.get("/login?next=https://evil.example/")
    assert 'name="next" value="/"' in form.text
    before = client.cookies.get("harness_session")
    assert login(client, "viewer", PASSWORD) == 303
    assert client.cookies.get("harness_session") != before
    assert client.get("/", follow_redirects=False).status_code == 200


def test_a_revoked_token_and_a_disabled_user_lose_access_at_once(site: Site) -> None:
    from harness.service.accounts import list_tokens, revoke_token, set_disabled

    headers = site.accounts.bearer("viewer")
    assert site.client.get("/api/v1/runs", headers=headers).status_code == 200
    token_id = next(t["id"] for t in list_tokens(site.store) if t["name"] == "viewer-token")
    revoke_token(site.store, token_id)
    assert site.client.get("/api/v1/runs", headers=headers).status_code == 401
    assert login(site.client, "auditor", PASSWORD) == 303
    assert site.client.get("/audit", follow_redirects=False).status_code == 200
    set_disabled(site.store, "auditor", True)
    response = site.client.get("/audit", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_the_openapi_description_lists_the_api(site: Site) -> None:
    spec = site.client.get("/openapi.json").json()
    for path in (
        "/api/v1/runs",
        "/api/v1/runs/{run_id}/items",
        "/api/v1/jobs",
        "/api/v1/runs/{run_id}/signoff",
        "/api/v1/audit/verify",
    ):
        assert path in spec["paths"]
    assert "/login" not in spec["paths"]  # the pages are not API


def test_an_audit_chain_verified_through_the_api_reports_an_edit(site: Site) -> None:
    from sqlalchemy import update

    from harness.store.audit import append_entry
    from harness.store.runs import audit_table

    append_entry(site.store, RUN, "signoff", {"by": "a", "decision": "approve"})
    headers = site.accounts.bearer("auditor")
    assert site.client.get("/api/v1/audit/verify", headers=headers).json()["ok"] is True
    with site.store.engine.begin() as conn:
        conn.execute(update(audit_table).values(entry={"by": "mallory"}))
    check = site.client.get("/api/v1/audit/verify", headers=headers).json()
    assert check["ok"] is False and any("edited" in p for p in check["problems"])
    assert jobs.list_jobs(site.store) == []  # reading and verifying queued nothing


def test_an_unknown_page_is_an_html_404_and_an_unknown_api_path_is_json(site: Site) -> None:
    from tests.service.test_roles import sign_in

    sign_in(site.client, "auditor")
    page = site.client.get("/no-such-page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "<nav" in page.text or "<html" in page.text
    api = site.client.get("/api/v1/no-such-endpoint", headers=site.accounts.bearer("auditor"))
    assert api.status_code == 404 and api.json()["detail"]
