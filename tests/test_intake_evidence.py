"""Intake and selection records are evidence: kept in the run store, audited, shown in the dossier."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.store.audit import verify_chain
from harness.store.runs import RunStore
from tests.helpers import invoke
from tests.test_intake import build_model
from tests.test_select import N_ITEMS, store_mmlu_run


def test_intake_and_selection_records_round_trip_through_a_sqlite_store(tmp_path: Path) -> None:
    store = RunStore(f"sqlite:///{tmp_path / 'runs.db'}")
    first = store.add_intake(
        {"verdict": "warn", "rows": []}, created_at="2026-11-01", fingerprint="sha256:a", model="a", verdict="warn"
    )
    second = store.add_intake(
        {"verdict": "pass", "rows": []}, created_at="2026-11-02", fingerprint="sha256:a", model="a", verdict="pass"
    )
    store.add_intake({"verdict": "fail"}, created_at="2026-11-03", fingerprint="sha256:b", model="b", verdict="fail")
    latest = store.latest_intake("sha256:a")
    assert latest is not None and latest["id"] == second and latest["record"] == {"verdict": "pass", "rows": []}
    assert store.latest_intake("sha256:nobody") is None
    assert [r["model"] for r in store.intake_records()] == ["b", "a", "a"]  # newest first
    assert [r["id"] for r in store.intake_records(limit=1)] != [first]
    assert store.intake_record(first) is not None and store.intake_record(999) is None
    chose_a = store.add_selection(
        {"chosen": "a"}, created_at="2026-11-04", chosen_fingerprint="sha256:a", policy="selection"
    )
    store.add_selection({"chosen": None}, created_at="2026-11-05", chosen_fingerprint=None, policy="selection")
    assert [r["id"] for r in store.selections(chose="sha256:a")] == [chose_a]
    assert len(store.selections()) == 2 and store.selections()[0]["chosen_fingerprint"] is None
    found = store.selection(chose_a)
    assert found is not None and found["record"] == {"chosen": "a"} and found["policy"] == "selection"
    assert store.selection(999) is None


@pytest.fixture
def two_models(tmp_path: Path) -> tuple[Path, Path]:
    return build_model(tmp_path / "alpha", context=8192), build_model(
        tmp_path / "beta", context=4096, card_licence="apache-2.0"
    )


def dossier_text(run_dir: Path, out: Path) -> str:
    code, _, stderr = invoke("dossier", str(run_dir), "--out", str(out), "--no-pdf")
    assert code == 0, stderr
    return re.sub(r"\s+", " ", (out / "dossier.html").read_text(encoding="utf-8"))


def test_intake_and_select_are_kept_audited_and_shown_in_annex_iv_2a(
    two_models: tuple[Path, Path], tmp_path: Path
) -> None:
    alpha, beta = two_models
    run_alpha = store_mmlu_run(alpha, "run-alpha", [i % 10 < 8 for i in range(N_ITEMS)], tmp_path)  # 80%
    store_mmlu_run(beta, "run-beta", [i % 10 < 6 for i in range(N_ITEMS)], tmp_path)  # 60%
    before = dossier_text(run_alpha, tmp_path / "before")
    assert "No intake record of this base model" in before and "No selection record in the run store" in before

    code, _, stderr = invoke("intake", str(alpha), "--files-only")
    assert code in (0, 1), stderr
    assert "intake record 1 kept in the run store" in stderr
    code, _, stderr = invoke("select", str(alpha), str(beta), "--no-pdf", "--out", str(tmp_path / "sel"))
    assert code == 0, stderr
    assert "selection record 1 kept in the run store" in stderr

    store = RunStore()
    (intake,) = store.intake_records()
    assert intake["fingerprint"] == json.loads((run_alpha / "results.json").read_text())["model"]["fingerprint"]
    (selection,) = store.selections(chose=intake["fingerprint"])
    assert selection["record"]["chosen"] == "alpha"
    actions = [(r["run_id"], r["action"]) for r in store.audit_rows()]
    assert ("intake/1", "intake") in actions and ("selection/1", "selection") in actions
    assert verify_chain(store, recorded=[]).ok

    text = dossier_text(run_alpha, tmp_path / "after")
    verdict = intake["verdict"].upper()
    assert "Intake (harness intake record 1" in text and f"verdict {verdict}" in text
    flagged = [r for r in intake["record"]["rows"] if r["outcome"] in ("fail", "warn", "review", "not-measured")]
    for row in flagged:
        assert f"{row['label']} {row['outcome'].upper()}" in text
    assert "Chosen as alpha by selection record 1" in text and selection["record"]["decision"] in text
    assert "Alternatives considered: beta (score" in text and "not eligible" in text


def test_a_model_dossier_reads_architecture_and_licence_from_the_intake_record(
    two_models: tuple[Path, Path], tmp_path: Path
) -> None:
    alpha, _ = two_models
    run_alpha = store_mmlu_run(alpha, "run-alpha", [i % 10 < 8 for i in range(N_ITEMS)], tmp_path)
    code, _, stderr = invoke("dossier", str(run_alpha), "--out", str(tmp_path / "d0"), "--no-pdf", "--kind", "model")
    assert code == 0, stderr
    before = re.sub(r"\s+", " ", (tmp_path / "d0" / "dossier.html").read_text(encoding="utf-8"))
    assert "Annex XI" in before and "not recorded: this run" in before
    assert invoke("intake", str(alpha), "--files-only")[0] in (0, 1)
    code, _, stderr = invoke("dossier", str(run_alpha), "--out", str(tmp_path / "d1"), "--no-pdf", "--kind", "model")
    assert code == 0, stderr
    text = re.sub(r"\s+", " ", (tmp_path / "d1" / "dossier.html").read_text(encoding="utf-8"))
    annex_xi = text[text.index('id="annex-xi"') :]
    parameters = int((alpha / "parameters.txt").read_text(encoding="utf-8"))
    assert f"{parameters:,} parameters" in annex_xi
    assert "context length 8,192 tokens" in annex_xi
    assert "recorded by harness intake (intake record 1" in annex_xi
    assert "Base model licence per harness intake record 1: MIT (acceptable)" in annex_xi
