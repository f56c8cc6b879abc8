"""The dossier: Annex IV headings, placeholders, injection safety, PDF/A-3b attachments, sign-off and audit."""

from __future__ import annotations

import json
import socket
import sqlite3
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from harness.reports.dossier import render_dossier
from harness.reports.provider import PLACEHOLDER_FIELDS
from harness.schema.results import ItemRecord, write_items
from harness.store import RunStore
from tests.helpers import invoke, make_result, store_result

INJECTION = '<script>alert(1)</script> {{ 7*7 }} <img src="http://127.0.0.1:9/x">'


def pdf_text(path: Path) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(path).pages).split())


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    """A stored run whose most confident wrong answer holds hostile text."""
    run = store_result(tmp_path / "runs", make_result("20261122T000000Z-abcdef12"))
    record = ItemRecord(
        suite="mmlu",
        item_id="mmlu/x/0",
        subject="x",
        prompt_hash="hostile",
        choices=[" A", " B", " C", " D"],
        loglikelihoods=[-0.1, -3.0, -3.0, -3.0],
        prediction=0,
        target=1,
        correct=False,
        confidence=0.9,
    )
    write_items(run / "items.jsonl", [record])
    samples = run / "lm_eval" / "mmlu" / "samples_harness_mmlu_x.jsonl"
    samples.parent.mkdir(parents=True)
    doc = {"question": INJECTION, "choices": ["ok", INJECTION, "c", "d"], "answer": 1}
    samples.write_text(json.dumps({"doc_id": 0, "doc": doc, "prompt_hash": "hostile"}) + "\n", encoding="utf-8")
    return run


def test_system_dossier_has_every_annex_iv_point_and_every_open_placeholder(run_dir: Path, tmp_path: Path) -> None:
    provider = tmp_path / "provider.yaml"
    provider.write_text(
        "system_name: FireAdvisor\nintended_purpose: Decision support for 112 dispatchers.\n"
        "standards_applied: [ISO/IEC 42001]\n"
    )
    paths = render_dossier(run_dir, tmp_path / "dossier", store=RunStore(), provider_path=provider)
    text = pdf_text(paths.pdf)
    for point in range(1, 10):
        assert f"Annex IV point {point}:" in text
    assert (
        "Intended purpose (Annex IV 1(a))" not in paths.placeholders and "Decision support for 112 dispatchers." in text
    )
    expected_open = [
        label
        for field, label in PLACEHOLDER_FIELDS.items()
        if field not in ("system_name", "intended_purpose", "standards_applied")
    ]
    for label in expected_open:
        assert label in paths.placeholders
    for label in paths.placeholders:
        assert " ".join(label.split()) in text, label
    assert "Human input required" in text


def test_model_dossier_uses_annexes_xi_and_xii(run_dir: Path, tmp_path: Path) -> None:
    paths = render_dossier(run_dir, tmp_path / "d", store=RunStore(), kind="model", pdf=False)
    html = paths.html.read_text(encoding="utf-8")
    assert "Annex XI section 1" in html and "Annex XII" in html and "Annex IV point 5" not in html


def test_hostile_item_text_is_escaped_in_html_literal_in_pdf_and_fetches_nothing(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    connections: list[object] = []
    real_connect = socket.socket.connect

    def no_network(self: socket.socket, address: object) -> None:
        connections.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", no_network)
    paths = render_dossier(run_dir, tmp_path / "dossier", store=RunStore())
    html = paths.html.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{{ 7*7 }}" in html and ">49<" not in html
    assert '<img src="http://127.0.0.1:9/x">' not in html and "&lt;img src=&#34;http://127.0.0.1:9/x&#34;&gt;" in html
    text = pdf_text(paths.pdf)
    assert "<script>alert(1)</script>" in text and "{{ 7*7 }}" in text and '<img src="http://127.0.0.1:9/x">' in text
    assert not [u for u in paths.requested_urls if not u.startswith(("file:", "data:"))]
    assert connections == []


def test_pdf_declares_pdf_a_3b_and_carries_the_evidence(run_dir: Path, tmp_path: Path) -> None:
    paths = render_dossier(run_dir, tmp_path / "dossier", store=RunStore())
    reader = PdfReader(paths.pdf)
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    attachments = reader.attachments
    assert {"results.json", "items-digest.json", "manifest.json"} <= set(attachments)
    results = json.loads(attachments["results.json"][0])
    assert results["run_id"] == "20261122T000000Z-abcdef12"
    digest = json.loads(attachments["items-digest.json"][0])
    from harness.files.hashing import sha256_file

    assert digest["sha256"] == sha256_file(run_dir / "items.jsonl")
    assert reader.metadata.title.startswith("Technical documentation")
    assert "sha256:" + "ab" * 32 in reader.metadata.get("/Keywords", "")


def test_huggingface_readme_has_front_matter_with_model_index(run_dir: Path, tmp_path: Path) -> None:
    paths = render_dossier(run_dir, tmp_path / "d", store=RunStore(), pdf=False)
    text = paths.readme.read_text(encoding="utf-8")
    front = yaml.safe_load(text.split("---")[1])
    assert {"license", "base_model", "datasets", "model-index"} <= set(front)
    metrics = front["model-index"][0]["results"][0]["metrics"]
    assert {"type": "accuracy", "value": 0.7, "name": "mmlu.accuracy"} in metrics


def test_signoff_is_recorded_printed_and_the_audit_chain_detects_edits(run_dir: Path, tmp_path: Path) -> None:
    from harness.paths import default_store_url

    code, out, err = invoke("dossier", str(run_dir), "--out", str(tmp_path / "d1"), "--no-pdf")
    assert code == 0, err
    code, out, err = invoke(
        "signoff",
        str(run_dir),
        "--by",
        "Maria K.",
        "--role",
        "release manager",
        "--decision",
        "approve",
        "--note",
        "gate passed",
    )
    assert code == 0, err
    assert "APPROVE by Maria K." in out
    invoke("signoff", str(run_dir), "--by", "Nikos P.", "--role", "safety officer", "--decision", "reject")
    code, out, _ = invoke("audit", "verify")
    assert code == 0 and "3 entries, chain intact" in out  # the rendering and the two sign-offs
    rows = RunStore().audit_rows()
    assert [r["action"] for r in rows] == ["rendering", "signoff", "signoff"]
    assert [r["entry"]["decision"] for r in rows if r["action"] == "signoff"] == ["approve", "reject"]
    code, _, _ = invoke("dossier", str(run_dir), "--out", str(tmp_path / "d2"), "--no-pdf")
    html = (tmp_path / "d2" / "dossier.html").read_text(encoding="utf-8")
    assert "Maria K." in html and "release manager" in html and "REJECT" in html
    code, out, _ = invoke("audit", "verify")
    head = out.split(" head ")[1].split()[0]  # after the second rendering

    first_signoff = next(r["id"] for r in RunStore().audit_rows() if r["action"] == "signoff")
    database = default_store_url().removeprefix("sqlite:///")
    with sqlite3.connect(database) as conn:
        entry = json.loads(conn.execute("SELECT entry FROM audit_log WHERE id = ?", (first_signoff,)).fetchone()[0])
        entry["decision"] = "reject"
        conn.execute("UPDATE audit_log SET entry = ? WHERE id = ?", (json.dumps(entry), first_signoff))
    code, _, err = invoke("audit", "verify")
    assert code == 1 and f"entry {first_signoff}: its content no longer matches its hash" in err
    with sqlite3.connect(database) as conn:
        conn.execute(
            "UPDATE audit_log SET entry = ? WHERE id = ?", (json.dumps(entry | {"decision": "approve"}), first_signoff)
        )
        conn.execute("DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)")
    code, out, err = invoke("audit", "verify")
    assert code == 0, err  # the newest entry removed leaves a shorter valid chain ...
    code, _, err = invoke("audit", "verify", "--head", head)
    assert code == 1 and "removed" in err  # ... which the recorded head exposes


def test_signoff_needs_a_rendered_unchanged_dossier(run_dir: Path, tmp_path: Path) -> None:
    code, _, err = invoke("signoff", str(run_dir), "--by", "A", "--role", "r", "--decision", "approve")
    assert code == 2 and "has no dossier yet" in err
    invoke("dossier", str(run_dir), "--out", str(tmp_path / "d"), "--no-pdf")
    (tmp_path / "d" / "dossier.html").write_text("edited")
    code, _, err = invoke("signoff", str(run_dir), "--by", "A", "--role", "r", "--decision", "approve")
    assert code == 2 and "changed since harness rendered it" in err


def test_dossier_init_template_round_trips_and_bad_input_is_one_line(tmp_path: Path, run_dir: Path) -> None:
    template = tmp_path / "provider.yaml"
    assert invoke("dossier", "init", str(template))[0] == 0
    assert invoke("dossier", "init", str(template))[0] == 2  # refuses to overwrite
    assert yaml.safe_load(template.read_text()) is None  # all commented out: every field open
    bad = tmp_path / "bad.yaml"
    bad.write_text("system_name: X\nrisks:\n  r1:\n    residual_severity: 9\n")
    code, _, err = invoke("dossier", str(run_dir), "--out", str(tmp_path / "d"), "--input", str(bad))
    assert code == 2 and "bad.yaml:4: risks.r1.residual_severity" in err and len(err.strip().splitlines()) == 1


def test_dossier_diff_reports_metric_changes(tmp_path: Path) -> None:
    old = store_result(tmp_path / "runs", make_result("old-run", {"mmlu.accuracy": (70, 100)}))
    new = store_result(tmp_path / "runs", make_result("new-run", {"mmlu.accuracy": (60, 100)}))
    render_dossier(old, tmp_path / "old", store=RunStore(), pdf=False)
    render_dossier(new, tmp_path / "new", store=RunStore(), pdf=False)
    code, out, err = invoke("dossier", "diff", str(tmp_path / "old"), str(tmp_path / "new"), "--json")
    assert code == 0, err
    report = json.loads(out)
    delta = next(d for d in report["metric_deltas"] if d["metric"] == "mmlu.accuracy")
    assert delta["change"] == pytest.approx(-0.10) and delta["p_value"] is None  # no item records: not tested
    code, out, _ = invoke("dossier", "diff", str(tmp_path / "old"), str(tmp_path / "new"))
    assert "mmlu.accuracy" in out and "not tested" in out
