"""`harness run` -> `harness runs` -> `harness gate` -> `harness report` on the tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from harness.engines.lm_eval_engine import LmEvalEngine
from harness.models.modelref import ModelRef
from harness.runner.execute import execute_run
from harness.runner.spec import RunSpec
from harness.schema.results import load_results, read_items
from tests.helpers import invoke

SCHEMA = Path(__file__).resolve().parent.parent / "harness" / "schema" / "results.schema.json"


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('store') / 'runs.db'}"


@pytest.fixture(scope="module")
def finished_run(tiny_model: Path, data_dir: Path, store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    code, stdout, stderr = invoke(
        "--store",
        store_url,
        "run",
        str(tiny_model),
        "--suites",
        "mmlu,gsm8k",
        "--data-dir",
        str(data_dir),
        "--limit",
        "2",
        "--max-gen-toks",
        "16",
        "--out",
        str(out),
        "--json",
    )
    assert code == 0, stderr
    return Path(json.loads(stdout)["run_dir"])


@pytest.mark.slow
def test_run_writes_schema_valid_results_and_items(finished_run: Path) -> None:
    raw = json.loads((finished_run / "results.json").read_text())
    jsonschema.validate(raw, json.loads(SCHEMA.read_text()))
    result = load_results(finished_run)
    metrics = result.metric_map()
    assert metrics["mmlu.accuracy"].n == 57 * 2
    assert metrics["mmlu.accuracy.anatomy"].n == 2
    assert metrics["gsm8k.exact_match"].n == 2
    for metric in result.metrics:
        assert metric.ci_method == "wilson" and metric.ci_low <= metric.value <= metric.ci_high
    items = read_items(finished_run / "items.jsonl")
    assert len(items) == 57 * 2 + 2
    assert {i.item_id for i in items} >= {"mmlu/abstract_algebra/0", "mmlu/virology/1", "gsm8k/1"}
    assert all(i.item_id.startswith("gsm8k/") or len(i.loglikelihoods) == 4 for i in items)
    assert (finished_run / "lm_eval" / "mmlu" / "results.json").is_file()
    assert (finished_run / "lm_eval" / "gsm8k" / "samples_harness_gsm8k.jsonl").is_file()
    assert not (finished_run / ".partial").exists()
    assert {d.suite for d in result.datasets} == {"mmlu", "gsm8k"} and all(d.sha256 for d in result.datasets)


@pytest.mark.slow
def test_runs_lists_the_run_with_headline_metrics(finished_run: Path, store_url: str) -> None:
    code, stdout, _ = invoke("--store", store_url, "runs", "--json")
    assert code == 0
    rows = json.loads(stdout)
    assert rows[0]["run_id"] == finished_run.name
    assert rows[0]["headline"]["mmlu.accuracy"]["n"] == 114


@pytest.mark.slow
def test_gate_and_report_on_a_stored_run(finished_run: Path, store_url: str, tmp_path: Path) -> None:
    from pypdf import PdfReader

    code, stdout, _ = invoke("--store", store_url, "gate", finished_run.name, "--policy", "baseline-minimums")
    assert code == 1 and "mmlu-minimum" in stdout  # the tiny model is far below 60%
    code, _, stderr = invoke("report", str(finished_run), "--out", str(tmp_path / "report"))
    assert code == 0, stderr
    html = (tmp_path / "report" / "report.html").read_text()
    assert "baseline-minimums" in html
    text = " ".join(page.extract_text() for page in PdfReader(tmp_path / "report" / "report.pdf").pages)
    text = " ".join(text.split())
    result = load_results(finished_run)
    accuracy = result.metric("mmlu.accuracy")
    assert result.model.fingerprint in "".join(text.split())  # the PDF may break the long digest
    assert f"{accuracy.value:.1%} {accuracy.ci_low:.1%} to {accuracy.ci_high:.1%} {accuracy.n}" in text


class StopAfterFirstSuite(LmEvalEngine):
    """Simulates Ctrl-C after the first suite has finished."""

    def evaluate(self, model, tasks, work_dir, **selection):
        if tasks[0].suite == "gsm8k":
            raise KeyboardInterrupt
        return super().evaluate(model, tasks, work_dir, **selection)


@pytest.mark.slow
def test_interrupted_run_resumes_without_redoing_finished_suites(
    tiny_model: Path, data_dir: Path, tmp_path: Path
) -> None:

    spec = RunSpec(
        model=ModelRef(str(tiny_model)),
        suites=["mmlu", "gsm8k"],
        data_dir=str(data_dir),
        limit=1,
        gen_kwargs={"max_gen_toks": 8},
    )
    with pytest.raises(KeyboardInterrupt):
        execute_run(spec, tmp_path, store=None, cache_root=None, engines={"lm-eval": StopAfterFirstSuite()})
    (run_dir,) = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    assert (run_dir / ".partial" / "mmlu.jsonl").is_file() and not (run_dir / "results.json").exists()

    code, _, stderr = invoke("run", "another-model", "--resume", str(run_dir), "--no-cache")
    assert code == 2 and "the run was started with model" in stderr  # a resume never mixes two models

    code, stdout, stderr = invoke("run", "--resume", str(run_dir), "--no-cache", "--json")
    assert code == 0, stderr
    assert "mmlu: 57 items reused" in stderr
    result = load_results(run_dir)
    assert result.metric("mmlu.accuracy").n == 57 and result.metric("gsm8k.exact_match").n == 1
    assert result.cache["model_calls"] == 1  # only GSM8K's one generation reached the model
