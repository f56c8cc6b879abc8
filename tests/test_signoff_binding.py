"""A sign-off binds to one rendering's SHA-256; renderings are audit events; dossier.json records the head."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from harness.files.hashing import sha256_file
from harness.store import RunStore
from harness.store.audit import GENESIS
from tests.helpers import invoke, make_result, store_result


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    return store_result(tmp_path / "runs", make_result("20261122T000000Z-sign0001"))


def render(run_dir: Path, out: Path, provider: Path | None = None) -> Path:
    args = ["dossier", str(run_dir), "--out", str(out), "--no-pdf"]
    code, _, err = invoke(*args, *(["--input", str(provider)] if provider else []))
    assert code == 0, err
    return out / "dossier.html"


def sign(run_dir: Path, *extra: str) -> tuple[int, str, str]:
    return invoke(
        "signoff", str(run_dir), "--by", "Maria K.", "--role", "release manager", "--decision", "approve", *extra
    )


def test_a_re_rendering_with_changed_provider_input_is_shown_unsigned(run_dir: Path, tmp_path: Path) -> None:
    provider = tmp_path / "provider.yaml"
    provider.write_text("intended_purpose: Decision support for 112 dispatchers.\n")
    first = render(run_dir, tmp_path / "d1", provider)
    code, out, err = sign(run_dir)
    assert code == 0, err
    signed_hash = sha256_file(first)
    assert f"sha256 {signed_hash}" in out  # the latest rendering is signed, and its hash printed

    provider.write_text("intended_purpose: Autonomous evacuation orders.\n")
    second = render(run_dir, tmp_path / "d2", provider)
    html = second.read_text(encoding="utf-8")
    cover = html[: html.index('<nav class="toc">')]
    assert "This rendering is not signed." in cover
    assert f"of rendering <code>{signed_hash[:16]}…</code>" in cover and "(not this file)" in cover
    assert "APPROVE" not in cover.split("Earlier renderings signed:")[0]

    code, out, _ = invoke("dossier", "status", str(run_dir), str(second))
    assert code == 1 and "not signed" in out
    code, out, _ = invoke("dossier", "status", str(run_dir), str(first))
    assert code == 0 and "signed: APPROVE by Maria K. (release manager)" in out
    summary = json.loads((tmp_path / "d2" / "dossier.json").read_text())
    assert [s["sha256"] for s in summary["signoffs"]] == [signed_hash]


def test_signing_a_file_harness_did_not_render_for_the_run_is_refused(run_dir: Path, tmp_path: Path) -> None:
    render(run_dir, tmp_path / "d1")
    forged = tmp_path / "forged.html"
    forged.write_text("<html>approve me</html>")
    code, _, err = sign(run_dir, "--dossier", str(forged))
    assert code == 2 and "is not a rendering harness recorded for run 20261122T000000Z-sign0001" in err
    other = store_result(tmp_path / "runs", make_result("20261122T000000Z-other001"))
    code, _, err = sign(other, "--dossier", str(tmp_path / "d1" / "dossier.html"))
    assert code == 2 and "is not a rendering harness recorded for run 20261122T000000Z-other001" in err
    assert [r for r in RunStore().audit_rows() if r["action"] == "signoff"] == []


def test_an_earlier_recorded_rendering_may_be_signed_and_only_the_latest_decision_counts(
    run_dir: Path, tmp_path: Path
) -> None:
    first = render(run_dir, tmp_path / "d1")
    second = render(run_dir, tmp_path / "d2")
    code, _, err = sign(run_dir, "--dossier", str(first))
    assert code == 0, err
    assert invoke("dossier", "status", str(run_dir), str(first))[0] == 0
    assert invoke("dossier", "status", str(run_dir), str(second))[0] == 1
    assert sign(run_dir)[0] == 0  # the latest rendering: the second
    code, out, _ = invoke("dossier", "status", str(run_dir), str(first))
    assert code == 1 and "followed by a sign-off of another rendering" in out
    code, out, _ = invoke("dossier", "status", str(run_dir))
    assert out.count("not signed") == 1 and out.count("signed: APPROVE") == 1


def test_every_rendering_is_an_audit_event_and_dossier_json_records_the_head_before_it(
    run_dir: Path, tmp_path: Path
) -> None:
    first = render(run_dir, tmp_path / "d1")
    code, _, err = invoke("report", str(run_dir), "--out", str(tmp_path / "r"), "--no-pdf")
    assert code == 0, err
    second = render(run_dir, tmp_path / "d2")
    rows = RunStore().audit_rows()
    assert [(r["action"], r["entry"]["kind"]) for r in rows] == [
        ("rendering", "dossier"),
        ("rendering", "report"),
        ("rendering", "dossier"),
    ]
    assert rows[0]["entry"]["html_sha256"] == sha256_file(first)
    assert rows[1]["entry"]["html_sha256"] == sha256_file(tmp_path / "r" / "report.html")
    assert json.loads((tmp_path / "d1" / "dossier.json").read_text())["audit_head"] == GENESIS
    assert json.loads((tmp_path / "d2" / "dossier.json").read_text())["audit_head"] == rows[1]["entry_hash"]
    assert rows[2]["entry"]["html_sha256"] == sha256_file(second)


def test_audit_verify_checks_the_head_each_dossier_recorded(run_dir: Path, tmp_path: Path) -> None:
    from harness.paths import default_store_url

    render(run_dir, tmp_path / "d1")
    render(run_dir, tmp_path / "d2")  # records the head: the first rendering's event
    code, out, _ = invoke("audit", "verify")
    assert code == 0 and "2 recorded heads" in out
    with sqlite3.connect(default_store_url().removeprefix("sqlite:///")) as conn:
        conn.execute("DELETE FROM audit_log")  # both renderings' events gone: a valid, empty chain
    code, _, err = invoke("audit", "verify")
    assert code == 1 and str(tmp_path / "d2" / "dossier.json") in err and "were removed" in err
