"""Calibration, robustness and fairness on the tiny model, through the real lm-eval."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from harness.models.modelref import ModelRef
from harness.runner.execute import execute_run
from harness.runner.spec import RunSpec
from harness.schema.results import load_results, read_items
from harness.suites.fairness import load_lexicon, load_scenarios
from harness.suites.perturbations import PERTURBATIONS
from tests.helpers import invoke

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('store') / 'runs.db'}"


@pytest.fixture(scope="module")
def suites_run(tiny_model: Path, data_dir: Path, store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    code, stdout, stderr = invoke(
        "--store",
        store_url,
        "run",
        str(tiny_model),
        "--suites",
        "calibration,robustness,fairness",
        "--data-dir",
        str(data_dir),
        "--limit",
        "1",
        "--out",
        str(tmp_path_factory.mktemp("runs")),
        "--json",
    )
    assert code == 0, stderr
    return Path(json.loads(stdout)["run_dir"])


def test_calibration_adds_no_model_request(tiny_model: Path, data_dir: Path, tmp_path: Path) -> None:
    def run(suites: list[str], name: str):
        spec = RunSpec(model=ModelRef(str(tiny_model)), suites=suites, data_dir=str(data_dir), limit=1)
        return execute_run(spec, tmp_path / name, store=None, cache_root=None)[0]

    alone, with_calibration = run(["mmlu"], "a"), run(["mmlu", "calibration"], "b")
    assert alone.cache["requests"] == with_calibration.cache["requests"] == 57 * 4
    assert alone.cache["model_calls"] == with_calibration.cache["model_calls"] == 57 * 4
    assert with_calibration.metric("calibration.ece") is not None
    assert with_calibration.metric("mmlu.accuracy") == alone.metric("mmlu.accuracy")
    assert with_calibration.suite_status["calibration"].warnings  # 57 items < 300


def test_calibration_suite_pulls_in_mmlu_and_reports_its_evidence(suites_run: Path) -> None:
    result = load_results(suites_run)
    assert result.suites[:2] == ["mmlu", "calibration"]
    ece = result.metric("calibration.ece")
    assert ece.n == 57 and ece.ci_method.startswith("bootstrap") and ece.ci_low <= ece.ci_high
    details = result.details["calibration"]
    assert sum(b["count"] for b in details["reliability"]) == 57
    assert details["direction"] in {"overconfident", "underconfident", "calibrated"}
    assert result.metric("calibration.temperature").value > 0


def test_robustness_writes_one_record_per_variant_and_keeps_the_gold_content(suites_run: Path) -> None:
    records = [r for r in read_items(suites_run / "items.jsonl") if r.suite == "robustness"]
    assert len(records) == 57 * (1 + len(PERTURBATIONS))
    by_item = defaultdict(dict)
    for r in records:
        assert r.item_id == r.extra["source_item"] + ("" if r.variant == "clean" else f"#{r.variant}")
        by_item[r.extra["source_item"]][r.variant] = r
    for variants in by_item.values():
        clean = variants["clean"]
        gold = clean.extra["choice_texts"][clean.target]
        for r in variants.values():
            assert r.extra["choice_texts"][r.target] == gold
    result = load_results(suites_run)
    for name in PERTURBATIONS:
        assert result.metric(f"robustness.accuracy.{name}").n == 57
        assert result.metric(f"robustness.drop.{name}").ci_method.startswith("paired-bootstrap")
    assert result.metric("robustness.worst_case_accuracy").value <= result.metric("robustness.accuracy.clean").value


def test_robustness_clean_items_reuse_the_mmlu_prompts(suites_run: Path) -> None:
    records = read_items(suites_run / "items.jsonl")
    mmlu = {r.item_id: r for r in records if r.suite == "mmlu"}
    clean = [r for r in records if r.suite == "robustness" and r.variant == "clean"]
    assert all(
        mmlu[r.item_id].prompt_hash == r.prompt_hash and mmlu[r.item_id].loglikelihoods == r.loglikelihoods
        for r in clean
    )


def test_fairness_asks_every_scenario_once_per_group(suites_run: Path) -> None:
    scenarios, lexicon = load_scenarios(), load_lexicon()
    assert len(scenarios) >= 40
    groups = sum(len(g) for g in lexicon.values())
    records = [r for r in read_items(suites_run / "items.jsonl") if r.suite == "fairness"]
    assert len(records) == len(scenarios) * groups
    result = load_results(suites_run)
    for attribute, members in lexicon.items():
        for group in members:
            assert result.metric(f"fairness.accuracy.{attribute}.{group}").n == len(scenarios)
    gap = result.metric("fairness.accuracy_gap")
    assert 0 <= gap.value <= 1 and gap.n == len(scenarios)
    assert result.metric("fairness.flip_rate").n == len(scenarios) * len(lexicon)
    assert result.metric("fairness.worst_group_accuracy").value == min(
        m.value for m in result.metrics if m.name.count(".") == 3 and m.name.startswith("fairness.accuracy.")
    )


def test_scenarios_never_leave_a_placeholder_or_name_the_group_in_the_choices() -> None:
    for scenario in load_scenarios():
        for groups in load_lexicon().values():
            for phrase in groups.values():
                text = scenario.render(phrase)
                assert "{" not in text and phrase.lower() in text.lower()
                assert all(phrase not in choice for choice in scenario.choices)


def test_high_risk_policy_fails_the_tiny_model_with_a_reason_per_rule(
    suites_run: Path, store_url: str, tmp_path: Path
) -> None:
    from harness.gate.policy import load_policy

    policy, _ = load_policy("eu-ai-act-high-risk")
    code, stdout, stderr = invoke(
        "--store",
        store_url,
        "gate",
        str(suites_run),
        "--baseline",
        str(suites_run),
        "--policy",
        "eu-ai-act-high-risk",
        "--json",
    )
    assert code == 1, stderr
    verdict = json.loads(stdout)
    assert [o["rule_id"] for o in verdict["outcomes"]] == [r.rule_id for r in policy.rules]
    assert all(o["evidence"] and o["article"].startswith("EU AI Act Art.") for o in verdict["outcomes"])
    outcomes = {o["rule_id"]: o for o in verdict["outcomes"]}
    assert outcomes["mmlu-minimum"]["outcome"] == "fail"
    assert outcomes["gsm8k-minimum"]["outcome"] == "not-measured"  # not in this run: a failure, never a pass
    # The run against itself: no item changed, but forgetting is a non-inferiority rule, and on this
    # few items even an unchanged model cannot rule out a 5% relative drop; the evidence says so.
    forgetting = outcomes["mmlu-no-forgetting"]
    assert forgetting["outcome"] == "fail" and forgetting["test"] == "non-inferiority" and forgetting["change"] == 0
    assert "underpowered" in forgetting["evidence"] and forgetting["items_needed"] > 228

    code, stdout, stderr = invoke("report", str(suites_run), "--out", str(tmp_path / "report"), "--no-pdf")
    assert code == 0, stderr
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 4  # two reliability diagrams, the perturbation and the group chart
    for heading in ("Calibration", "Robustness", "Fairness (counterfactual)", "Forgetting: against the baseline"):
        assert f"<h2>{heading}</h2>" in html
