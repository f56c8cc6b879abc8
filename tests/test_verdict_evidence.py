"""Verdicts that say no more than the evidence: chance levels, non-inferiority, kept verdicts."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from harness.errors import PolicyError
from harness.gate.evaluate import evaluate_policy
from harness.gate.judging import judge_run, list_verdicts
from harness.gate.policy import Policy, load_policy
from harness.schema.comparison import PairedComparison
from harness.schema.legacy import upgrade
from harness.schema.results import ItemRecord, Metric, RunResult, proportion_metric, write_items
from harness.schema.verdict import VERDICT_FILE, VERDICTS_DIR, verdict_file_name
from harness.stats import non_inferiority_sample_size
from harness.store import RunStore
from tests.helpers import make_result, store_result

ARTICLE = {"article": "EU AI Act Art. 15(1)", "why": "w"}


def _choice_record(suite: str, item_id: str, correct: bool, k: int = 4, **extra: object) -> ItemRecord:
    return ItemRecord(
        suite=suite,
        item_id=item_id,
        subject=str(extra.pop("subject", "x")),
        variant=str(extra.pop("variant", "clean")),
        prompt_hash=f"p-{item_id}",
        choices=[f"c{j}" for j in range(k)],
        loglikelihoods=[-1.0 - j for j in range(k)],
        prediction=0,
        target=0 if correct else 1,
        correct=correct,
        extra=dict(extra),
    )


def _with_chance(run: RunResult, name: str, chance: float | None) -> RunResult:
    run.metrics = [m.model_copy(update={"chance": chance}) if m.name == name else m for m in run.metrics]
    return run


# --- 1. Chance levels ---------------------------------------------------------------------------


def test_above_chance_needs_the_whole_interval_above_the_chance_level() -> None:
    clear = proportion_metric("mmlu.accuracy", 120, 228).model_copy(update={"chance": 0.25})
    straddling = proportion_metric("domain.accuracy", 12, 31).model_copy(update={"chance": 0.25})
    assert clear.above_chance is True
    assert straddling.value is not None and straddling.value > 0.25  # the point estimate alone would say yes
    assert straddling.ci_low is not None and straddling.ci_low < 0.25 and straddling.above_chance is False
    assert proportion_metric("gsm8k.exact_match", 1, 10).above_chance is None  # no chance level declared
    assert Metric(name="x", value=0.9, n=3, chance=0.25).above_chance is None  # no interval


def test_mmlu_accuracies_declare_the_chance_level_of_four_choices() -> None:
    from harness.suites.mmlu import MMLU

    records = [_choice_record("mmlu", f"mmlu/{s}/{i}", i % 2 == 0, subject=s) for s in ("a", "b") for i in range(8)]
    metrics = {m.name: m for m in MMLU().score(records).metrics}
    assert {m.chance for m in metrics.values()} == {0.25}
    assert set(metrics) == {"mmlu.accuracy", "mmlu.accuracy.a", "mmlu.accuracy.b"}


def test_a_suite_whose_items_differ_in_choices_declares_the_mean_of_one_over_k() -> None:
    from harness.suites.domain import Domain

    records = [_choice_record("domain", f"domain/{i}", True, k=2 if i < 3 else 4, subject="fire") for i in range(6)]
    metrics = {m.name: m for m in Domain().score(records).metrics}
    assert metrics["domain.accuracy"].chance == pytest.approx((3 / 2 + 3 / 4) / 6)
    assert metrics["domain.accuracy.fire"].chance == pytest.approx((3 / 2 + 3 / 4) / 6)


def test_generated_answers_have_no_chance_level() -> None:
    from harness.suites.gsm8k import GSM8K

    records = [
        ItemRecord(
            suite="gsm8k", item_id=f"gsm8k/{i}", prompt_hash=f"p{i}", generated="#### 4", target="4", correct=True
        )
        for i in range(3)
    ]
    assert all(m.chance is None for m in GSM8K().score(records).metrics)


def test_robustness_fairness_and_calibration_accuracies_declare_chance_and_their_gaps_do_not() -> None:
    from harness.suites.calibration import Calibration
    from harness.suites.fairness import Fairness
    from harness.suites.robustness import Robustness

    robust = []
    for i in range(6):
        robust.append(_choice_record("robustness", f"mmlu/x/{i}", True, source_item=f"mmlu/x/{i}"))
        robust.append(
            _choice_record("robustness", f"mmlu/x/{i}#typo", i % 2 == 0, variant="typo", source_item=f"mmlu/x/{i}")
        )
    metrics = {m.name: m for m in Robustness(subjects=("x",), perturbations=("typo",)).score(robust).metrics}
    assert metrics["robustness.accuracy.clean"].chance == 0.25 and metrics["robustness.accuracy.typo"].chance == 0.25
    assert metrics["robustness.worst_case_accuracy"].chance is None and metrics["robustness.drop.typo"].chance is None

    fair = [
        _choice_record(
            "fairness",
            f"fairness/s{s}#place={g}",
            (s + len(g)) % 2 == 0,
            variant=f"place={g}",
            attribute="place",
            group=g,
            scenario=f"s{s}",
            favourable=0,
        )
        for s in range(4)
        for g in ("city", "village")
    ]
    metrics = {m.name: m for m in Fairness().score(fair).metrics}
    assert metrics["fairness.accuracy"].chance == 0.25 and metrics["fairness.accuracy.place.city"].chance == 0.25
    assert metrics["fairness.worst_group_accuracy"].chance == 0.25
    assert metrics["fairness.accuracy_gap"].chance is None and metrics["fairness.flip_rate"].chance is None

    mmlu = [_choice_record("mmlu", f"mmlu/x/{i}", i % 3 == 0) for i in range(20)]
    metrics = {m.name: m for m in Calibration().score(mmlu).metrics}
    assert metrics["calibration.selective_accuracy_at_10"].chance == 0.25
    assert metrics["calibration.ece"].chance is None


def test_version_1_results_get_the_chance_level_their_suite_fixes() -> None:
    raw = {
        "schema_version": "1",
        "metrics": [
            {"name": "mmlu.accuracy", "value": 0.3, "n": 10},
            {"name": "mmlu.accuracy.anatomy", "value": 0.3, "n": 10},
            {"name": "domain.accuracy", "value": 0.3, "n": 10},
            {"name": "fairness.accuracy.place.city", "value": 0.3, "n": 10},
            {"name": "robustness.accuracy.typo", "value": 0.3, "n": 10},
            {"name": "gsm8k.exact_match", "value": 0.3, "n": 10},
            {"name": "robustness.drop.typo", "value": 0.1, "n": 10},
        ],
    }
    chance = {m["name"]: m["chance"] for m in upgrade(raw)["metrics"]}
    assert chance == {
        "mmlu.accuracy": 0.25,
        "mmlu.accuracy.anatomy": 0.25,
        "domain.accuracy": 0.25,
        "fairness.accuracy.place.city": 0.25,
        "robustness.accuracy.typo": 0.25,
        "gsm8k.exact_match": None,
        "robustness.drop.typo": None,
    }


def test_version_2_results_from_before_chance_levels_are_filled_and_a_written_null_is_kept() -> None:
    raw = {
        "schema_version": "2",
        "metrics": [
            {"name": "mmlu.accuracy", "value": 0.3, "n": 10},
            {"name": "domain.accuracy", "value": 0.3, "n": 10, "chance": None},
        ],
    }
    metrics = upgrade(raw)["metrics"]
    assert metrics[0]["chance"] == 0.25 and metrics[1]["chance"] is None
    already = {"schema_version": "2", "metrics": [{"name": "mmlu.accuracy", "value": 0.3, "n": 10, "chance": 0.2}]}
    assert upgrade(already) is already


def test_every_shipped_domain_item_has_four_choices_as_the_legacy_chance_level_assumes() -> None:
    from harness.suites.domain import sample_dir

    rows = [json.loads(line) for line in (sample_dir() / "multiple_choice.jsonl").read_text().splitlines() if line]
    assert rows and {len(r["choices"]) for r in rows} == {4}


# --- 2. The above-chance rule -------------------------------------------------------------------


def _chance_policy(**rule: object) -> Policy:
    return Policy.model_validate(
        {
            "name": "p",
            "rules": [{"id": "beats-chance", "metric": "domain.accuracy", "above_chance": True} | ARTICLE | rule],
        }
    )


def test_above_chance_passes_only_when_the_lower_bound_clears_chance_and_says_so() -> None:
    policy = _chance_policy()
    clear = _with_chance(make_result("r", {"domain.accuracy": (30, 40)}), "domain.accuracy", 0.25)
    outcome = evaluate_policy(policy, clear).outcomes[0]
    assert outcome.outcome == "pass" and outcome.chance == 0.25 and outcome.bound == "95% CI above chance"
    assert outcome.evidence.startswith(f"lower bound {outcome.ci_low:.3f} vs chance 0.250 (n=40)")


def test_the_demo_model_at_chance_on_its_domain_is_not_promoted() -> None:
    """The measured case: domain accuracy 38.7%, interval 23.7% to 56.2% (12 of 31), contains the 25% chance level."""
    policy, _ = load_policy("demo")
    rule = next(r for r in policy.rules if r.rule_id == "domain-above-chance")
    assert rule.severity == "block"
    run = _with_chance(make_result("tuned", {"domain.accuracy": (12, 31)}), "domain.accuracy", 0.25)
    metric = run.metric("domain.accuracy")
    assert metric is not None and metric.ci_low is not None and metric.ci_high is not None
    assert round(metric.ci_low, 3) == 0.237 and round(metric.ci_high, 3) == 0.562  # the measured interval
    verdict = evaluate_policy(policy.model_copy(update={"rules": [rule]}), run)
    outcome = verdict.outcomes[0]
    assert outcome.outcome == "fail" and outcome.blocking and verdict.exit_code == 1
    assert (
        "lower bound 0.237 vs chance 0.250 (n=31)" in outcome.evidence
        and "do not rule out guessing" in outcome.evidence
    )


def test_above_chance_is_not_measured_without_a_chance_level_and_blocks() -> None:
    run = _with_chance(make_result("r", {"domain.accuracy": (30, 40)}), "domain.accuracy", None)
    outcome = evaluate_policy(_chance_policy(), run).outcomes[0]
    assert outcome.outcome == "not-measured" and outcome.blocking
    assert "declares no chance level" in outcome.evidence
    assert evaluate_policy(_chance_policy(severity="warn"), run).exit_code == 0


@pytest.mark.parametrize(
    "extra,message",
    [
        ({"min": 0.5}, "give exactly one of min, max, max_drop, above_chance"),
        ({"above_chance": False}, "above_chance: false asks nothing"),
        ({"warn_until": 0.3}, "warn_until applies to min and max rules"),
        ({"relative": True}, "relative applies to max_drop only"),
        ({"test": "non-inferiority"}, "test applies to max_drop only"),
    ],
)
def test_an_above_chance_rule_stands_alone(extra: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _chance_policy(**extra)


def test_shipped_policies_ask_for_accuracy_above_chance_and_keep_their_rule_ids() -> None:
    expected = {
        "eu-ai-act-high-risk": {"mmlu.accuracy", "domain.accuracy"},
        "lora-release": {"domain.accuracy"},
        "demo": {"domain.accuracy"},
        "baseline-minimums": {"mmlu.accuracy"},
    }
    kept_ids = {
        "eu-ai-act-high-risk": {"mmlu-minimum", "gsm8k-minimum", "calibration-ece", "mmlu-no-forgetting"},
        "lora-release": {"no-forgetting", "domain-no-regression", "domain-minimum", "data-checks"},
        "demo": {"mmlu-minimum", "mmlu-no-forgetting", "domain-no-regression", "data-agreement"},
        "baseline-minimums": {"mmlu-minimum", "gsm8k-minimum"},
    }
    for name, metrics in expected.items():
        policy, _ = load_policy(name)
        assert {r.metric for r in policy.rules if r.kind == "above_chance"} == metrics, name
        assert kept_ids[name] <= {r.rule_id for r in policy.rules}, name


def test_a_policy_file_with_above_chance_false_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("name: p\nrules:\n  - metric: mmlu.accuracy\n    above_chance: false\n    article: a\n    why: w\n")
    with pytest.raises(PolicyError, match=r"p.yaml:3: rules\[0\]: .*above_chance: false asks nothing"):
        load_policy(path)


# --- 3. Non-inferiority for max_drop ------------------------------------------------------------


def _mmlu_records(correct: list[bool]) -> list[ItemRecord]:
    return [_choice_record("mmlu", f"mmlu/x/{i}", c) for i, c in enumerate(correct)]


def _store_pair(tmp_path: Path, base: list[bool], tuned: list[bool]) -> tuple[RunResult, Path, RunResult, Path]:
    from harness.suites.mmlu import MMLU

    runs = []
    for run_id, correct in (("base", base), ("tuned", tuned)):
        records = _mmlu_records(correct)
        result = make_result(run_id, {})
        result.suites, result.metrics = ["mmlu"], MMLU().score(records).metrics
        run_dir = store_result(tmp_path, result)
        write_items(run_dir / "items.jsonl", records)
        runs.append((result, run_dir))
    (base_run, base_dir), (tuned_run, tuned_dir) = runs
    return base_run, base_dir, tuned_run, tuned_dir


def _drop_of_ten_percent(n: int = 228) -> tuple[list[bool], list[bool]]:
    """114 of 228 right at baseline; the tuned model loses 20 items and gains 9: 103 right, 9.6% relative drop."""
    base = [i < n // 2 for i in range(n)]
    tuned = list(base)
    for i in range(20):
        tuned[i] = False
    for i in range(n // 2, n // 2 + 9):
        tuned[i] = True
    return base, tuned


def test_a_simulated_ten_percent_relative_drop_on_228_items_no_longer_passes_the_release_policy(
    tmp_path: Path,
) -> None:
    base, tuned = _drop_of_ten_percent()
    base_run, base_dir, tuned_run, tuned_dir = _store_pair(tmp_path, base, tuned)
    verdict = judge_run("lora-release", tuned_run, tuned_dir, base_run, RunStore(), base_dir)
    outcome = next(o for o in verdict.outcomes if o.rule_id == "no-forgetting")
    assert outcome.test == "non-inferiority" and outcome.outcome == "fail" and outcome.blocking
    assert outcome.change == pytest.approx(103 / 228 - 114 / 228)
    assert outcome.tolerance == pytest.approx(0.05 * 0.5)
    assert outcome.change_ci_low is not None and outcome.change_ci_low < -outcome.tolerance
    assert "paired on 228 items" in outcome.evidence and "underpowered" in outcome.evidence
    psi = 29 / 228  # 20 + 9 discordant items
    expected_n = math.ceil((1.959963984540054 + 0.8416212335729143) ** 2 * psi / 0.025**2)
    assert outcome.items_needed == expected_n and f"about {expected_n:,} paired items" in outcome.evidence
    # the same data under the old difference test: p = 0.06, "not significant, so not a regression"
    policy, _ = load_policy("lora-release")
    old = Policy.model_validate(
        policy.model_dump() | {"rules": [r.model_dump() | {"test": "difference"} for r in policy.rules]}
    )
    from harness.comparison import load_comparison

    comparison = load_comparison(tuned_dir, "base")
    before = evaluate_policy(old, tuned_run, base_run, comparison=comparison)
    assert next(o for o in before.outcomes if o.rule_id == "no-forgetting").outcome == "pass"


def _paired_row(change: float, low: float, high: float, n: int, b: int, c: int) -> PairedComparison:
    return PairedComparison(
        metric="mmlu.accuracy",
        paired=True,
        n=n,
        reference=0.5,
        candidate=0.5 + change,
        change=change,
        relative_change=change / 0.5,
        relative_drop=-change / 0.5,
        ci_low=low,
        ci_high=high,
        only_reference_correct=b,
        only_candidate_correct=c,
        p_value=1.0,
        test="mcnemar-exact",
    )


class _Rows:
    def __init__(self, row: PairedComparison) -> None:
        self.row = row

    def get(self, metric: str) -> PairedComparison | None:
        return self.row if metric == self.row.metric else None


NON_INFERIORITY = {"id": "nf", "metric": "mmlu.accuracy", "max_drop": 0.05, "relative": True}


def _ni_outcome(row: PairedComparison | None, base: tuple[int, int], tuned: tuple[int, int]):
    policy = Policy.model_validate({"name": "p", "rules": [NON_INFERIORITY | {"test": "non-inferiority"} | ARTICLE]})
    return evaluate_policy(
        policy,
        make_result("t", {"mmlu.accuracy": tuned}),
        make_result("b", {"mmlu.accuracy": base}),
        comparison=_Rows(row) if row else None,  # type: ignore[arg-type]
    ).outcomes[0]


def test_non_inferiority_passes_when_a_large_paired_set_rules_out_the_drop() -> None:
    # 20,000 items at 50%: 200 lost and 180 gained, interval about [-0.0035, +0.0015], margin -0.025
    outcome = _ni_outcome(_paired_row(-0.001, -0.0035, 0.0015, 20_000, 200, 180), (10_000, 20_000), (9_980, 20_000))
    assert outcome.outcome == "pass" and "rules out a larger drop" in outcome.evidence
    assert outcome.items_needed is None and "underpowered" not in outcome.evidence


def test_non_inferiority_fails_a_real_drop_without_calling_it_underpowered() -> None:
    # a narrow interval wholly beyond the margin: the data show the drop, they are not too few
    outcome = _ni_outcome(_paired_row(-0.04, -0.046, -0.034, 20_000, 900, 100), (10_000, 20_000), (9_200, 20_000))
    assert outcome.outcome == "fail" and "underpowered" not in outcome.evidence and outcome.items_needed is None


def test_a_small_test_set_where_nothing_changed_cannot_show_non_inferiority() -> None:
    # 57 items (one per MMLU subject), not one answer changed: the bootstrap interval is [0, 0],
    # but 57 items cannot rule out a drop of 1.3 points (5% of 0.26)
    row = _paired_row(0.0, 0.0, 0.0, 57, 0, 0)
    outcome = _ni_outcome(row, (15, 57), (15, 57))
    assert outcome.outcome == "fail" and "Agresti-Min" in outcome.evidence and "underpowered" in outcome.evidence
    assert outcome.change_ci_low is not None and outcome.change_ci_low < -0.03
    assert outcome.items_needed == math.ceil(7.848879734349088 * (1 / 59) / (0.05 * 15 / 57) ** 2)


def test_non_inferiority_without_paired_records_uses_newcombes_unpaired_interval() -> None:
    # 500 of 1000 in both runs: Wilson half-widths 0.031 each, Newcombe's lower end -0.0438; margin 0.05 * 0.5
    outcome = _ni_outcome(None, (500, 1000), (500, 1000))
    assert "unpaired (Newcombe" in outcome.evidence
    assert outcome.change_ci_low is not None and outcome.change_ci_low == pytest.approx(-0.0438, abs=5e-4)
    assert outcome.outcome == "fail" and "items in each run" in outcome.evidence
    larger = _ni_outcome(None, (5_000, 10_000), (5_000, 10_000))  # lower end -0.0139: a drop of 0.025 ruled out
    assert larger.outcome == "pass"


def test_a_tolerance_of_zero_can_only_be_met_by_an_improvement() -> None:
    policy = Policy.model_validate(
        {"name": "p", "rules": [{"metric": "mmlu.accuracy", "max_drop": 0.0, "test": "non-inferiority"} | ARTICLE]}
    )
    flat = _paired_row(0.0, -0.01, 0.01, 1000, 10, 10)
    outcome = evaluate_policy(
        policy,
        make_result("t", {"mmlu.accuracy": (500, 1000)}),
        make_result("b", {"mmlu.accuracy": (500, 1000)}),
        comparison=_Rows(flat),  # type: ignore[arg-type]
    ).outcomes[0]
    assert outcome.outcome == "fail" and "only a significant improvement can pass" in outcome.evidence


def test_the_difference_test_stays_the_default_and_says_its_p_is_a_single_unadjusted_test() -> None:
    rule = Policy.model_validate({"name": "p", "rules": [NON_INFERIORITY | ARTICLE]}).rules[0]
    assert rule.test == "difference" and rule.describe_bound() == "drop <= 5% of baseline"
    outcome = evaluate_policy(
        Policy.model_validate({"name": "p", "rules": [NON_INFERIORITY | ARTICLE]}),
        make_result("t", {"mmlu.accuracy": (480, 1000)}),
        make_result("b", {"mmlu.accuracy": (500, 1000)}),
        comparison=_Rows(_paired_row(-0.02, -0.04, 0.0, 1000, 30, 10)),  # type: ignore[arg-type]
    ).outcomes[0]
    assert "raw p of this rule's one pre-declared test" in outcome.evidence and outcome.test == "difference"


def test_sample_size_follows_the_normal_approximation_for_paired_proportions() -> None:
    # (z_0.975 + z_0.8)^2 = 7.849; discordance 30%, margin 1.25 points
    assert non_inferiority_sample_size(0.3, 0.0125) == math.ceil(7.848879734349088 * 0.3 / 0.0125**2)
    assert non_inferiority_sample_size(0.3, 0.0) is None and non_inferiority_sample_size(0.0, 0.01) is None
    more_power = non_inferiority_sample_size(0.3, 0.0125, power=0.9)
    assert more_power is not None and more_power > 15_070


# --- 5. Temperature advice at the search bound --------------------------------------------------


def _logit_records(logits: np.ndarray, targets: np.ndarray) -> list[ItemRecord]:
    predictions = logits.argmax(axis=1)
    return [
        ItemRecord(
            suite="mmlu",
            item_id=f"mmlu/x/{i}",
            subject="x",
            prompt_hash=f"p{i}",
            loglikelihoods=[float(v) for v in logits[i]],
            prediction=int(predictions[i]),
            target=int(targets[i]),
            correct=bool(predictions[i] == targets[i]),
        )
        for i in range(len(targets))
    ]


def test_a_temperature_fitted_at_its_search_bound_is_flagged_as_no_advice() -> None:
    from harness.suites.calibration import Calibration

    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(400, 4))
    guessing = Calibration().score(_logit_records(logits, rng.integers(0, 4, size=400)))  # answers carry no signal
    scaling = guessing.details["temperature_scaling"]
    assert scaling["temperature"] == 20.0 and scaling["at_bound"] is True
    assert "no advice" in scaling["reason"] and "(20)" in scaling["reason"] and "\n" not in scaling["reason"]
    assert any(m.name == "calibration.temperature" for m in guessing.metrics)  # the metric is kept

    informative = logits.argmax(axis=1)  # confident and mostly right: a temperature inside the bounds
    targets = np.where(rng.uniform(size=400) < 0.7, informative, (informative + 1) % 4)
    advice = Calibration().score(_logit_records(logits, targets)).details["temperature_scaling"]
    assert 0.05 < advice["temperature"] < 20 and advice["at_bound"] is False and "reason" not in advice


# --- 8. Verdicts kept per policy and baseline ---------------------------------------------------


POLICY_A = "name: alpha\nrules:\n  - metric: mmlu.accuracy\n    min: 0.5\n    article: a\n    why: w\n"
POLICY_B = "name: beta\nrules:\n  - metric: mmlu.accuracy\n    min: 0.9\n    article: a\n    why: w\n"


def test_a_gate_under_another_policy_keeps_the_earlier_verdict(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(POLICY_A)
    (tmp_path / "b.yaml").write_text(POLICY_B)
    run = make_result()
    run_dir = store_result(tmp_path, run)
    store = RunStore()
    first = judge_run(tmp_path / "a.yaml", run, run_dir, None, store)
    second = judge_run(tmp_path / "b.yaml", run, run_dir, None, store)
    assert (first.verdict, second.verdict) == ("pass", "fail")
    latest = json.loads((run_dir / VERDICT_FILE).read_text())
    assert latest["policy"] == "beta"  # verdict.json is the latest, as the report reads it
    kept = {p.name for p in (run_dir / VERDICTS_DIR).iterdir()}
    assert kept == {"alpha--none.json", "beta--none.json"}
    assert [(v.policy, v.verdict) for v in list_verdicts(run_dir)] == [("alpha", "pass"), ("beta", "fail")]
    assert [Path(row["path"]).name for row in store.verdicts(run.run_id)] == ["alpha--none.json", "beta--none.json"]


def test_a_verdict_is_kept_per_baseline_and_replaced_only_by_the_same_policy_and_baseline(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(POLICY_A)
    run = make_result("tuned")
    run_dir = store_result(tmp_path, run)
    store = RunStore()
    for baseline in ("base-1", "base-2", "base-1"):
        judge_run(tmp_path / "a.yaml", run, run_dir, make_result(baseline), store)
    assert {p.name for p in (run_dir / VERDICTS_DIR).iterdir()} == {"alpha--base-1.json", "alpha--base-2.json"}
    assert len(list_verdicts(run_dir)) == 2 and len(store.verdicts("tuned")) == 3


def test_a_verdict_json_written_before_verdicts_were_kept_is_kept_when_another_policy_gates(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(POLICY_A)
    (tmp_path / "b.yaml").write_text(POLICY_B)
    run = make_result()
    run_dir = store_result(tmp_path, run)
    store = RunStore()
    judge_run(tmp_path / "a.yaml", run, run_dir, None, store)
    for kept in (run_dir / VERDICTS_DIR).iterdir():  # as an older harness left it: verdict.json alone
        kept.unlink()
    (run_dir / VERDICTS_DIR).rmdir()
    assert [v.policy for v in list_verdicts(run_dir)] == ["alpha"]
    judge_run(tmp_path / "b.yaml", run, run_dir, None, store)
    assert sorted(v.policy for v in list_verdicts(run_dir)) == ["alpha", "beta"]


def test_verdict_file_names_are_plain_for_any_policy_name() -> None:
    assert verdict_file_name("eu-ai-act-high-risk", "20261122T063301Z-4108a1d3") == (
        "eu-ai-act-high-risk--20261122T063301Z-4108a1d3.json"
    )
    assert verdict_file_name("../x y", None) == "_x_y--none.json"
