"""Intake and selection records through the service: the API returns the kept records, the pages show them."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from harness.store import RunStore
from tests.helpers import invoke
from tests.service.conftest import make_accounts, service_app
from tests.service.test_roles import sign_in
from tests.test_intake import build_model

SELECTION = {
    "schema": "harness.selection",
    "schema_version": "1",
    "status": "decided",
    "chosen": "alpha",
    "title": "Base model for the clinical notes assistant",
    "decision": "Choose alpha: it meets every required criterion.",
    "rationale": ["alpha is better than beta on MMLU accuracy"],
    "candidates": [
        {
            "label": "alpha",
            "score": 0.9,
            "eligible": True,
            "intake_verdict": "pass",
            "blocking": [],
            "pros": [],
            "cons": [],
        },
        {
            "label": "beta",
            "score": 0.4,
            "eligible": False,
            "intake_verdict": "fail",
            "blocking": ["Licence"],
            "pros": [],
            "cons": ["licence"],
        },
    ],
    "comparisons": [],
}


@pytest.mark.slow  # seconds: kept out of the fast lane
def test_the_api_and_pages_show_an_intake_kept_by_harness_intake_and_a_selection(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    model = build_model(tmp_path / "poor", kind="poor", context=512, card_licence="cc-by-nc-4.0")
    code, _, stderr = invoke("--store", url, "intake", str(model), "--files-only")
    assert code == 1, stderr  # a context of 512 tokens fails the intake
    store = RunStore(url)
    accounts = make_accounts(store)
    selection_id = store.add_selection(
        SELECTION, created_at="2026-11-22T00:00:00+00:00", chosen_fingerprint="sha256:alpha", policy="selection"
    )
    with TestClient(service_app(url, tmp_path / "service")) as client:
        viewer = accounts.bearer("viewer")
        (listed,) = client.get("/api/v1/intake", headers=viewer).json()
        assert listed["verdict"] == "fail" and listed["model"] == str(model)
        one = client.get(f"/api/v1/intake/{listed['id']}", headers=viewer).json()
        assert one["record"]["schema"] == "harness.intake" and one["fingerprint"] == listed["fingerprint"]
        failed = [r["label"] for r in one["record"]["rows"] if r["outcome"] == "fail"]
        assert "Context length" in failed
        assert client.get("/api/v1/intake/999", headers=viewer).status_code == 404
        (chosen,) = client.get("/api/v1/selections", headers=viewer).json()
        assert chosen["id"] == selection_id and chosen["record"]["chosen"] == "alpha"
        assert client.get(f"/api/v1/selections/{selection_id}", headers=viewer).json()["policy"] == "selection"
        assert client.get("/api/v1/selections/999", headers=viewer).status_code == 404

        sign_in(client, "viewer")
        overview = client.get("/intake").text
        assert f'href="/intake/{listed["id"]}"' in overview and f'href="/selections/{selection_id}"' in overview
        detail = client.get(f"/intake/{listed['id']}").text
        assert "FAIL" in detail and "Context length" in detail and "CC-BY-NC-4.0" in detail
        decision = client.get(f"/selections/{selection_id}").text
        assert "Choose alpha: it meets every required criterion." in decision and "(chosen)" in decision
        assert client.get("/selections/999").status_code == 404
