"""A real browser (Debian's chromium through Playwright) drives the service end to end.

A release manager signs in, starts a run of the tiny model, watches it finish, opens the
run, gates it, renders the dossier and signs it off; an auditor is refused the sign-off.
Jobs run in a worker process the service starts, as in production. Screenshots of the
main pages are written to ``<tmp>/screenshots``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.store import RunStore
from tests.service.conftest import PASSWORD, make_accounts, service_app, serving

CHROMIUM = "/usr/bin/chromium"  # the Debian package (scripts/install_system_deps); never `playwright install`
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
JOB_TIMEOUT_MS = 240_000


@pytest.fixture
def browser() -> Iterator[Any]:
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} not found: run scripts/install_system_deps (Debian package chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


def sign_in(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("User").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def wait_for_job(page: Any) -> None:
    """The job page reloads itself while the job runs; wait for it to have succeeded."""
    page.wait_for_selector("#job-status .st-succeeded, #job-status .st-failed, p.error", timeout=JOB_TIMEOUT_MS)
    for error in (page.locator("#job-error"), page.locator("p.error")):
        assert error.count() == 0, error.first.inner_text()


@pytest.mark.slow
def test_a_release_manager_runs_gates_and_signs_off_in_the_browser_and_an_auditor_cannot_sign(
    browser: Any, tiny_model: Path, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.service.worker import Supervisor

    monkeypatch.setenv("HARNESS_DATA_DIR", str(data_dir))
    store_url, root = f"sqlite:///{tmp_path / 'runs.db'}", tmp_path / "service"
    make_accounts(RunStore(store_url))
    shots = tmp_path / "screenshots"
    shots.mkdir()
    supervisor = Supervisor(store_url, root, 1).start()
    try:
        with serving(service_app(store_url, root)) as base:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            sign_in(page, base, "release-manager")
            page.screenshot(path=shots / "01-runs-empty.png")

            page.get_by_role("link", name="New run").first.click()
            page.get_by_label("Model (directory or hub id)").fill(str(tiny_model))
            page.get_by_label("Suites (comma-separated)").fill("mmlu,calibration")
            page.get_by_label("Items per task (limit, optional)").fill("1")
            page.screenshot(path=shots / "02-new-run.png")
            page.get_by_role("button", name="Start run").click()
            page.wait_for_url(re.compile(r".*/jobs/\d+$"))
            page.screenshot(path=shots / "03-job-running.png")
            wait_for_job(page)
            page.screenshot(path=shots / "04-job-done.png", full_page=True)

            page.get_by_role("link", name=re.compile("Open run")).click()
            page.wait_for_url(re.compile(r".*/runs/[^/]+$"))
            run_url = page.url
            assert page.locator("figure.chart svg").count() >= 1  # the reliability diagram
            assert "mmlu.accuracy" in page.inner_text("table.metrics")
            page.screenshot(path=shots / "05-run.png", full_page=True)

            page.get_by_label("Policy").select_option("baseline-minimums")
            page.get_by_role("button", name="Gate").click()
            wait_for_job(page)
            page.get_by_role("link", name="rule by rule").click()
            assert page.locator("table.rules").count() == 1 and "mmlu-minimum" in page.inner_text("table.rules")
            page.screenshot(path=shots / "06-verdict.png", full_page=True)

            page.goto(run_url)
            page.get_by_label("PDF/A").uncheck()
            page.get_by_role("button", name="Render dossier").click()
            wait_for_job(page)
            page.get_by_role("link", name="Open the dossier").click()
            page.get_by_label("Approve the release").check()
            page.get_by_label("Note").fill("Reviewed the tiny model's dossier <b>as a test</b>.")
            page.screenshot(path=shots / "07-dossier.png", full_page=True)
            page.get_by_role("button", name="Sign off").click()
            page.wait_for_selector(".notice")
            assert "Sign-off recorded" in page.inner_text(".notice")
            assert "release-manager" in page.inner_text("table.grid")
            page.screenshot(path=shots / "08-signed.png", full_page=True)

            page.get_by_role("link", name="Audit log").click()
            page.get_by_role("button", name="Verify the chain").click()
            assert page.inner_text("#verify-result").startswith("OK")
            page.screenshot(path=shots / "09-audit.png", full_page=True)
            page.get_by_role("link", name="Jobs").click()
            page.screenshot(path=shots / "10-jobs.png", full_page=True)
            page.get_by_role("button", name="Sign out").click()
            page.wait_for_url(f"{base}/login")

            sign_in(page, base, "auditor")
            page.goto(run_url + "/dossier")
            assert page.locator("form.signoff").count() == 0
            assert "cannot sign off" in page.inner_text("#signoff-refused")
            page.screenshot(path=shots / "11-auditor-dossier.png", full_page=True)
            csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
            forged = page.request.post(
                run_url + "/signoff", form={"decision": "approve", "csrf_token": csrf}, max_redirects=0
            )
            assert forged.status == 403  # the auditor's own session and token: refused all the same
            context.close()
    finally:
        supervisor.stop()
    signoffs = [r["entry"] for r in RunStore(store_url).audit_rows() if r["action"] == "signoff"]
    assert [(s["by"], s["role"], s["decision"]) for s in signoffs] == [
        ("release-manager", "release-manager", "approve")
    ]
    assert len(list(shots.glob("*.png"))) == 11


@pytest.mark.slow
def test_two_runs_are_compared_item_by_item_with_significance_in_the_browser(
    browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two stored runs (no model): the release manager starts the comparison from the compare page,
    and the page then shows B - A with its interval and adjusted p-value, and the changed items;
    a derived dataset's page shows its provenance and lineage."""
    from harness.data.registry import register_dataset
    from tests.service.conftest import seeded_run, thread_worker

    store_url, root = f"sqlite:///{tmp_path / 'runs.db'}", tmp_path / "service"
    store = RunStore(store_url)
    make_accounts(store)
    a, b = "20261121T000000Z-aaaaaaaa", "20261122T000000Z-bbbbbbbb"
    seeded_run(store, tmp_path / "runs", a, **{"mmlu.accuracy": (40, 100)})
    seeded_run(store, tmp_path / "runs", b, **{"mmlu.accuracy": (70, 100)})
    raw, clean = tmp_path / "raw.jsonl", tmp_path / "clean.jsonl"
    raw.write_text('{"prompt": "p", "response": "r"}\n{"prompt": "p", "response": "r"}\n', encoding="utf-8")
    clean.write_text('{"prompt": "p", "response": "r"}\n', encoding="utf-8")
    register_dataset(store, raw, name="notes", version="1.0.0", license="CC-BY-4.0", description="raw <notes>")
    register_dataset(store, clean, name="notes", version="1.1.0", parent="notes@1.0.0", transform="deduplicated")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with serving(service_app(store_url, root)) as base, thread_worker(store_url, root):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        sign_in(page, base, "release-manager")
        page.goto(f"{base}/compare?a={a}&b={b}")
        page.get_by_role("button", name=re.compile("^Compare")).click()
        wait_for_job(page)
        page.goto(f"{base}/compare?a={a}&b={b}")
        page.screenshot(path=shots / "compare.png", full_page=True)
        metric = page.get_by_text("mmlu.accuracy", exact=True)  # the headline row, not a per-subject one
        row = page.locator("table.grid tr.significant").filter(has=metric)
        assert row.count() == 1 and "+0.3000" in row.inner_text()  # B - A = 0.70 - 0.40
        assert "30 of 100 paired" in page.inner_text("h2")  # items 40..69: wrong in A, right in B
        page.goto(f"{base}/datasets")
        page.screenshot(path=shots / "datasets.png", full_page=True)
        page.goto(f"{base}/datasets/notes/1.1.0")
        text = page.inner_text("main")
        assert "notes@1.0.0" in text and "deduplicated" in text  # its lineage
        page.screenshot(path=shots / "dataset.png", full_page=True)
        context.close()
