"""Runs stored before the results schema described its metrics (schema 1) still gate, compare and render."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.schema.results import load_results
from tests.helpers import invoke

FIXTURES = Path(__file__).parent / "fixtures" / "schema-1"
BASE, TUNED, MEASURED = "20261122T063301Z-4108a1d3", "20261122T063332Z-4145ad4e", "20261122T063351Z-4108a1d3"


@pytest.fixture()
def runs(tmp_path: Path) -> Path:
    copy = tmp_path / "runs"
    shutil.copytree(FIXTURES, copy)
    return copy


def test_schema_1_results_load_with_described_metrics(runs: Path) -> None:
    raw = json.loads((runs / TUNED / "results.json").read_text(encoding="utf-8"))
    assert raw["schema_version"] == "1"
    result = load_results(runs / TUNED)
    metrics = result.metric_map()
    assert metrics["mmlu.accuracy"].scope == "headline" and metrics["mmlu.accuracy"].direction == "higher"
    assert metrics["mmlu.accuracy.anatomy"].scope == "subject" and metrics["mmlu.accuracy.anatomy"].slice == "anatomy"
    assert metrics["calibration.ece"].direction == "lower" and metrics["calibration.nll"].unit == "nats"
    assert [m.value for m in result.metrics] == [m["value"] for m in raw["metrics"]]  # numbers untouched
    measured = load_results(runs / MEASURED).metric_map()
    assert measured["robustness.drop.typo"].scope == "perturbation"
    assert measured["robustness.drop.max"].scope == "overall"
    assert measured["fairness.accuracy.place.capital"].scope == "group"
    assert measured["fairness.accuracy_gap.place"].scope == "attribute"


def test_schema_1_run_gates_against_its_schema_1_baseline(runs: Path) -> None:
    code, stdout, stderr = invoke(
        "gate", str(runs / TUNED), "--baseline", str(runs / BASE), "--policy", "demo", "--json"
    )
    assert code in (0, 1), stderr
    verdict = json.loads(stdout)
    drop = next(o for o in verdict["outcomes"] if o["rule_id"] == "mmlu-no-forgetting")
    assert drop["p_value"] is not None and drop["n"] == 57
    assert (runs / TUNED / f"comparison-{BASE}.json").is_file()


def test_schema_1_runs_compare_item_by_item(runs: Path) -> None:
    code, stdout, stderr = invoke("compare", str(runs / BASE), str(runs / TUNED), "--json")
    assert code == 0, stderr
    rows = {c["metric"]: c for c in json.loads(stdout)["comparisons"]}
    assert rows["mmlu.accuracy"]["test"] == "mcnemar-exact" and rows["mmlu.accuracy"]["n"] == 57
    assert rows["calibration.ece"]["test"] == "paired-bootstrap"


def test_schema_1_runs_render_as_report_and_dossier(runs: Path, tmp_path: Path) -> None:
    code, _, stderr = invoke("report", str(runs / TUNED), "--out", str(tmp_path / "report"))
    assert code == 0, stderr
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "mmlu.accuracy" in html and "Forgetting: against the baseline" in html  # the stored comparison.json
    assert (tmp_path / "report" / "report.pdf").stat().st_size > 0
    code, _, stderr = invoke("report", str(runs / MEASURED), "--out", str(tmp_path / "measured"), "--no-pdf")
    assert code == 0, stderr
    html = (tmp_path / "measured" / "report.html").read_text(encoding="utf-8")
    assert "Accuracy under each perturbation" in html and "Accuracy per group" in html
    code, _, stderr = invoke("dossier", str(runs / TUNED), "--out", str(tmp_path / "dossier"), "--no-pdf")
    assert code == 0, stderr
    assert "Annex IV point 1:" in (tmp_path / "dossier" / "dossier.html").read_text(encoding="utf-8")
