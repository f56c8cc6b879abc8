"""Post-market monitoring through the service: production logs uploaded for a run, judged by a job, read back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from harness.monitoring.sample import SampleSpec, SampleTruth, write_sample_logs
from harness.store import RunStore
from tests.service.conftest import Accounts, make_accounts, seeded_run, service_app, thread_worker

RUN = "20261122T000000Z-abcdef12"


@dataclass
class Site:
    client: TestClient
    accounts: Accounts
    url: str
    root: Path
    logs: str
    truth: SampleTruth


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    url, root = f"sqlite:///{tmp_path / 'runs.db'}", tmp_path / "service"
    store = RunStore(url)
    accounts = make_accounts(store)
    seeded_run(store, tmp_path / "runs", RUN, **{"domain.accuracy": (950, 1000)})
    truth = write_sample_logs(
        tmp_path / "logs" / "requests.jsonl", SampleSpec(requests=3000, seed=0, drift_at=1500, incident_at=2400)
    )
    with TestClient(service_app(url, root)) as client:
        yield Site(client, accounts, url, root, truth.path.read_text(encoding="utf-8"), truth)


def escaped(text: str) -> str:
    """``text`` as the pages' autoescaping writes it."""
    from markupsafe import escape

    return str(escape(text))


def follow(site: Site, job_id: int, headers: dict[str, str]) -> dict[str, Any]:
    """The job once it has finished (a worker thread runs it)."""
    job: dict[str, Any] = {}
    with thread_worker(site.url, site.root):
        for _ in range(1200):
            job = site.client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
            if job["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.05)
    return job


def test_uploaded_logs_are_monitored_by_a_job_and_the_results_read_back_and_shown(site: Site) -> None:
    ci, viewer = site.accounts.bearer("ci"), site.accounts.bearer("viewer")
    assert site.client.get(f"/api/v1/runs/{RUN}/monitoring", headers=viewer).status_code == 404
    submitted = site.client.post(f"/api/v1/runs/{RUN}/monitoring", json={"logs": site.logs, "window": 100}, headers=ci)
    assert submitted.status_code == 201, submitted.text
    body = submitted.json()
    assert body["kind"] == "monitor" and body["status"] == "queued" and body["params"]["run"] == RUN
    job = follow(site, body["id"], ci)
    assert job["status"] == "succeeded", job
    assert job["run_id"] == RUN and job["result"]["recommendation"] == "roll back" and job["result"]["exit_code"] == 1
    assert any("recommendation: roll back" in p["line"] for p in job["progress"])

    results = site.client.get(body["results"], headers=viewer)
    assert results.status_code == 200
    report = results.json()
    assert report["kind"] == "harness-monitoring" and report["baseline"]["run_id"] == RUN
    assert report["baseline"]["value"] == pytest.approx(0.95)
    assert sum(log["requests"] for log in report["logs"]) == 3000
    assert report["rollback"]["triggered"] and report["rollback"]["reasons"]
    fired = {a["rule_id"] for a in report["alerts"]}
    assert fired, "the injected drift and incident raised no alert"
    first_alert = min(a["window"] for a in report["alerts"])
    assert first_alert * 100 >= site.truth.drift_at - 100  # nothing fires long before the injected drift

    page = site.client.get(f"/runs/{RUN}/monitoring", headers=viewer)
    assert page.status_code == 200
    assert "ROLL BACK" in page.text and all(escaped(reason) in page.text for reason in report["rollback"]["reasons"])
    assert all(rule in page.text for rule in fired)
    assert "monitoring.html" not in page.text  # a viewer may not download evidence files
    auditor_page = site.client.get(f"/runs/{RUN}/monitoring", headers=site.accounts.bearer("auditor"))
    assert f"/api/v1/jobs/{body['id']}/files/monitoring.html" in auditor_page.text
    html = site.client.get(f"/api/v1/jobs/{body['id']}/files/monitoring.html", headers=site.accounts.bearer("auditor"))
    assert html.status_code == 200 and "attachment" in html.headers["content-disposition"]


def test_monitoring_is_refused_for_a_missing_run_bad_options_and_roles_that_may_not_submit(site: Site) -> None:
    ci = site.accounts.bearer("ci")
    missing = site.client.post("/api/v1/runs/20990101T000000Z-00000000/monitoring", json={"logs": "{}"}, headers=ci)
    assert missing.status_code == 404
    both = site.client.post(
        f"/api/v1/runs/{RUN}/monitoring", json={"logs": site.logs, "window": 100, "window_time": "1h"}, headers=ci
    )
    assert both.status_code == 422 and "not both" in both.json()["detail"]
    bad_span = site.client.post(
        f"/api/v1/runs/{RUN}/monitoring", json={"logs": "{}", "window_time": "soon"}, headers=ci
    )
    assert bad_span.status_code == 422 and "window_time" in bad_span.json()["detail"]
    for role in ("viewer", "auditor", "admin"):
        refused = site.client.post(
            f"/api/v1/runs/{RUN}/monitoring", json={"logs": site.logs}, headers=site.accounts.bearer(role)
        )
        assert refused.status_code == 403, role
    assert not (site.root / "monitors").exists() or not list((site.root / "monitors").rglob("*.jsonl"))


def test_logs_that_do_not_parse_fail_the_job_with_the_line_named(site: Site) -> None:
    rm = site.accounts.bearer("release-manager")
    submitted = site.client.post(f"/api/v1/runs/{RUN}/monitoring", json={"logs": "not json\n"}, headers=rm)
    assert submitted.status_code == 201
    job = follow(site, submitted.json()["id"], rm)
    assert job["status"] == "failed" and ":1" in (job["error"] or ""), job
    assert site.client.get(f"/api/v1/runs/{RUN}/monitoring", headers=rm).status_code == 404
