"""`harness demo`: the main job, offline, with and without benchmark data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers import run_cli


@pytest.mark.slow
def test_demo_builds_evaluates_gates_and_reports(data_dir: Path, tmp_path: Path) -> None:
    from pypdf import PdfReader

    out = tmp_path / "demo"
    result = run_cli("demo", "--out", str(out), "--data-dir", str(data_dir), "--limit", "2")
    assert result.exit_code == 0, result.output + result.stderr
    runs = sorted((out / "training" / "fire-advisor" / "runs").iterdir())
    assert len(runs) == 2
    tuned = runs[1]
    record = json.loads((tuned / "training-record.json").read_text())
    losses = [c["eval_loss"] for c in record["curves"] if "eval_loss" in c]
    assert (
        losses[-1] < losses[0]
        and record["adapter_fingerprint"] == json.loads((tuned / "results.json").read_text())["model"]["fingerprint"]
    )
    assert "decision" in result.output
    for name in ("results.json", "items.jsonl", "verdict.json"):
        assert (tuned / name).is_file()
    results = json.loads((tuned / "results.json").read_text())
    assert results["model"]["adapter"] and results["suite_status"]["mmlu"]["status"] == "completed"
    verdict = json.loads((tuned / "verdict.json").read_text())
    assert verdict["baseline_run_id"] == runs[0].name
    # The tiny model answers the domain questions at chance: the verdict may not say PASS.
    chance = next(o for o in verdict["outcomes"] if o["rule_id"] == "domain-above-chance")
    assert chance["outcome"] == "fail" and chance["ci_low"] <= chance["chance"] == 0.25
    assert verdict["verdict"] == "fail" and "REJECTED" in result.output
    text = "".join(" ".join(p.extract_text() for p in PdfReader(out / "report" / "report.pdf").pages).split())
    assert results["model"]["fingerprint"] in text
    mmlu = next(m for m in results["metrics"] if m["name"] == "mmlu.accuracy")
    assert f"{mmlu['value']:.1%}{mmlu['ci_low']:.1%}to{mmlu['ci_high']:.1%}{mmlu['n']}" in text
    assert (out / "gate.junit.xml").is_file() and (out / "report" / "report.html").is_file()
    assert verdict["datasets"] == ["emergency-instructions@1.0.0", "emergency-json@1.0.0", "emergency-mc@1.0.0"]
    # The methodology's JSON story: the base writes no valid JSON; the adapter, trained mostly on
    # JSON answers, is compared with it item by item on every structured item (McNemar).
    comparison = json.loads((tuned / f"comparison-{runs[0].name}.json").read_text())
    valid = next(c for c in comparison["comparisons"] if c["metric"] == "structured.valid_json")
    assert valid["n"] == 60 and valid["reference"] == 0.0 and valid["test"] == "mcnemar-exact"
    assert valid["candidate"] > 0 and valid["only_candidate_correct"] > 0 and valid["p_value"] is not None
    assert "JSON answers  valid JSON 0.0% (base) -> " in result.output and "McNemar exact p = " in result.output
    assert {o["rule_id"] for o in verdict["outcomes"]} >= {"structured-valid-json", "structured-no-regression"}
    data_rules = {o["rule_id"]: o for o in verdict["outcomes"] if o["metric"].startswith("data.")}
    assert data_rules["data-agreement[emergency-instructions@1.0.0]"]["value"] > 0.7
    assert data_rules["data-checks[emergency-instructions@1.0.0]"]["outcome"] == "pass"
    home = Path(os.environ["HARNESS_HOME"])
    provenance = json.loads((home / "datasets" / "emergency-instructions" / "1.0.0" / "provenance.json").read_text())
    assert provenance["validation"]["success"] and provenance["agreement"]["n_items"] == 200
    assert provenance["conflicts"]["needs_third_expert"] >= 1
    dossier = out / "dossier"
    assert {"dossier.html", "dossier.pdf", "dossier.json", "README.md"} <= {p.name for p in dossier.iterdir()}
    summary = json.loads((dossier / "dossier.json").read_text())
    assert (
        summary["baseline_run_id"] == runs[0].name and summary["datasets"][0]["ref"] == "emergency-instructions@1.0.0"
    )
    html = (dossier / "dossier.html").read_text(encoding="utf-8")
    assert html.count("<svg") >= 6  # reliability x2, robustness, fairness, training curves, risk heat map
    assert "Training record (Annex IV 2(a)-(c))" in html
    # Post-market monitoring of the tuned model: seeded logs with a drift and an error burst, judged, in the dossier.
    from markupsafe import escape

    monitoring = json.loads((out / "monitoring" / "monitoring.json").read_text())
    assert monitoring["baseline"]["run_id"] == tuned.name and monitoring["baseline"]["metric"] == "domain.accuracy"
    assert sum(log["requests"] for log in monitoring["logs"]) == 3000
    assert monitoring["rollback"]["triggered"] and monitoring["recommendation"] == "roll back"
    reasons = monitoring["rollback"]["reasons"]
    assert reasons and any("error rate" in r for r in reasons)  # the injected error burst
    assert {"error-rate", "drift-confidence"} <= {a["rule_id"] for a in monitoring["alerts"]}
    assert f"rollback: {reasons[0]}" in result.output
    assert "Monitoring results" in html and str(escape(reasons[0])) in html
    assert "No monitoring results were given" not in html
    assert [row["baseline_run_id"] for row in summary["monitoring"]] == [tuned.name] * len(summary["monitoring"])
    assert summary["monitoring"]


@pytest.mark.slow
def test_demo_without_data_skips_suites_and_gate_shows_them_not_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HARNESS_DATA_DIR", raising=False)
    monkeypatch.delenv("HARNESS_HOME")
    out = tmp_path / "demo"
    result = run_cli("demo", "--out", str(out))
    assert result.exit_code == 0, result.output + result.stderr
    home = (out / "home").resolve()  # without HARNESS_HOME, the demo's whole state stays under --out
    assert (home / "runs.db").is_file() and (home / "keys" / "audit-ed25519.pem").is_file()
    assert f"HARNESS_HOME={home} harness dossier" in result.stdout
    assert "MMLU, GSM8K, calibration and robustness will be skipped" in result.stderr
    assert "NOT-MEASURED" in result.stdout and "REJECTED" in result.stdout
    verdict = json.loads(next((out / "training" / "fire-advisor" / "runs").glob("*/verdict.json")).read_text())
    assert verdict["verdict"] == "fail"
    needs_data = [
        o for o in verdict["outcomes"] if o["metric"].split(".")[0] in {"mmlu", "gsm8k", "calibration", "robustness"}
    ]
    assert needs_data and all(o["outcome"] == "not-measured" for o in needs_data)
    assert "was skipped" in verdict["outcomes"][0]["evidence"]
    fairness = [o for o in verdict["outcomes"] if o["metric"].startswith("fairness.")]
    assert fairness and all(o["outcome"] != "not-measured" for o in fairness)  # its data ships with harness
