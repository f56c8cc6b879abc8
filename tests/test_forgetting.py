"""Paired comparisons and the significance-aware gate, from scripted item records."""

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest

from harness.comparison import compare_outcomes, compare_run_dirs
from harness.gate.evaluate import evaluate_policy
from harness.gate.policy import Policy
from harness.schema.results import ItemRecord, Metric, write_items
from harness.stats import paired_difference_interval
from tests.helpers import make_result, store_result

DROP_RULE = {
    "id": "no-forgetting",
    "metric": "mmlu.accuracy",
    "max_drop": 0.05,
    "relative": True,
    "article": "a",
    "why": "w",
}


def outcomes(pattern: str) -> dict[str, bool]:
    return {f"mmlu/x/{i}": c == "1" for i, c in enumerate(pattern)}


def test_the_same_answers_twice_show_no_change_and_no_significance() -> None:
    same = outcomes("1101001110" * 10)
    c = compare_outcomes(same, same, "mmlu.accuracy")
    assert c.change == 0 and c.p_value == 1.0 and c.significant is False
    assert c.ci_low == 0 and c.ci_high == 0 and c.relative_drop == 0


def test_mcnemar_counts_only_discordant_items_and_equals_scipy() -> None:
    ref = outcomes("1" * 30 + "0" * 70)
    cand = outcomes("1" * 18 + "0" * 12 + "1" * 3 + "0" * 67)  # 12 lost, 3 gained
    c = compare_outcomes(ref, cand, "mmlu.accuracy")
    assert (c.only_reference_correct, c.only_candidate_correct, c.n) == (12, 3, 100)
    assert c.p_value == pytest.approx(binomtest(3, 15, 0.5).pvalue, abs=1e-12)
    assert c.change == pytest.approx(-0.09) and c.relative_drop == pytest.approx(0.3)
    assert c.significant is True


def test_paired_bootstrap_matches_resampling_items() -> None:
    rng = np.random.default_rng(0)
    ref = rng.uniform(size=400) < 0.6
    cand = np.where(rng.uniform(size=400) < 0.8, ref, ~ref)
    low, high = paired_difference_interval(ref, cand, n_boot=20_000)
    draws = rng.integers(0, 400, size=(20_000, 400))
    brute = cand[draws].mean(1) - ref[draws].mean(1)
    assert low == pytest.approx(np.percentile(brute, 2.5), abs=0.006)
    assert high == pytest.approx(np.percentile(brute, 97.5), abs=0.006)


def test_items_pair_by_id_only_where_the_prompt_is_the_same(tmp_path: Path) -> None:
    def record(i: int, correct: bool, prompt: str = "p") -> ItemRecord:
        return ItemRecord(
            suite="mmlu", item_id=f"mmlu/x/{i}", subject="x", prompt_hash=f"{prompt}{i}", target=0, correct=correct
        )

    base_dir = store_result(tmp_path, make_result("base", {"mmlu.accuracy": (3, 4)}))
    tuned_dir = store_result(tmp_path, make_result("tuned", {"mmlu.accuracy": (1, 4)}))
    write_items(base_dir / "items.jsonl", [record(0, True), record(1, True), record(2, True), record(3, False)])
    write_items(tuned_dir / "items.jsonl", [record(0, False), record(1, False), record(2, True, "q"), record(4, True)])
    comparison = compare_run_dirs(base_dir, tuned_dir)
    paired = comparison.get("mmlu.accuracy")
    assert paired is not None and paired.paired and paired.n == 2  # items 0 and 1 only
    assert comparison.unmatched_items == 4


def _drop_verdict(only_ref: int, only_cand: int, n: int = 200):
    ref = outcomes("1" * only_ref + "0" * only_cand + "1" * 60 + "0" * (n - 60 - only_ref - only_cand))
    cand = outcomes("0" * only_ref + "1" * only_cand + "1" * 60 + "0" * (n - 60 - only_ref - only_cand))
    policy = Policy.model_validate({"name": "p", "rules": [DROP_RULE]})
    comparison_row = compare_outcomes(ref, cand, "mmlu.accuracy", alpha=policy.alpha)

    class OneRow:
        def get(self, metric: str):
            return comparison_row if metric == "mmlu.accuracy" else None

    base = make_result("base", {"mmlu.accuracy": (sum(ref.values()), n)})
    tuned = make_result("tuned", {"mmlu.accuracy": (sum(cand.values()), n)})
    return evaluate_policy(policy, tuned, base, comparison=OneRow())  # type: ignore[arg-type]


def test_a_drop_beyond_tolerance_that_is_noise_passes() -> None:
    verdict = _drop_verdict(only_ref=8, only_cand=3)  # 68 -> 63 correct: 7% relative, p = 0.23
    outcome = verdict.outcomes[0]
    assert outcome.outcome == "pass" and outcome.significant is False
    assert outcome.p_value == pytest.approx(binomtest(3, 11, 0.5).pvalue)
    assert "not significant" in outcome.evidence and verdict.exit_code == 0


def test_a_significant_drop_beyond_tolerance_fails() -> None:
    verdict = _drop_verdict(only_ref=20, only_cand=4)  # 80 -> 64: 20% relative, p < 0.01
    outcome = verdict.outcomes[0]
    assert outcome.outcome == "fail" and outcome.significant is True and verdict.exit_code == 1
    assert outcome.change_ci_high is not None and outcome.change_ci_high < 0


def test_a_significant_drop_within_tolerance_passes() -> None:
    ref = outcomes("1" * 1000 + "0" * 1000)
    cand = dict(ref)
    for i in range(30):  # 1000 -> 970 correct: 3% relative, but all 30 discordant one way
        cand[f"mmlu/x/{i}"] = False
    policy = Policy.model_validate({"name": "p", "rules": [DROP_RULE]})
    row = compare_outcomes(ref, cand, "mmlu.accuracy")
    assert row.significant

    class OneRow:
        def get(self, metric: str):
            return row

    verdict = evaluate_policy(
        policy,
        make_result("t", {"mmlu.accuracy": (970, 2000)}),
        make_result("b", {"mmlu.accuracy": (1000, 2000)}),
        comparison=OneRow(),  # type: ignore[arg-type]
    )
    assert verdict.outcomes[0].outcome == "pass"


def test_without_item_records_a_drop_is_judged_on_the_plain_difference_and_says_so() -> None:
    policy = Policy.model_validate({"name": "p", "rules": [DROP_RULE]})
    verdict = evaluate_policy(
        policy, make_result("t", {"mmlu.accuracy": (60, 100)}), make_result("b", {"mmlu.accuracy": (70, 100)})
    )
    assert verdict.outcomes[0].outcome == "fail"
    assert "significance was not tested" in verdict.outcomes[0].evidence


def test_warn_band_between_target_and_limit() -> None:
    rule = {"id": "ece", "metric": "calibration.ece", "max": 0.10, "warn_until": 0.15, "article": "a", "why": "w"}
    policy = Policy.model_validate({"name": "p", "rules": [rule]})

    def outcome(value: float) -> str:
        result = make_result("r", {})
        result.metrics.append(Metric(name="calibration.ece", value=value, n=300))
        return evaluate_policy(policy, result).outcomes[0].outcome

    assert [outcome(v) for v in (0.08, 0.12, 0.2)] == ["pass", "warn", "fail"]
    with pytest.raises(ValueError, match="warn_until must lie above max"):
        Policy.model_validate({"name": "p", "rules": [rule | {"warn_until": 0.05}]})


def _mc_records(confidence: float, correct_share: float, n: int = 400, seed: int = 0) -> list[ItemRecord]:
    """Scripted 4-choice records: the top choice has ``confidence``; it is right for ``correct_share`` of items."""
    import math

    rng = np.random.default_rng(seed)
    rest = (1 - confidence) / 3
    records = []
    for i in range(n):
        right = rng.uniform() < correct_share
        lls = [math.log(confidence)] + [math.log(rest)] * 3
        records.append(
            ItemRecord(
                suite="mmlu",
                item_id=f"mmlu/x/{i}",
                subject="x",
                prompt_hash=f"p{i}",
                loglikelihoods=lls,
                prediction=0,
                target=0 if right else 1,
                correct=right,
                confidence=confidence,
            )
        )
    return records


def test_calibration_is_compared_by_a_paired_bootstrap() -> None:
    from harness.comparison import paired_bootstrap_comparisons
    from harness.suites.calibration import Calibration

    calibrated = _mc_records(0.6, 0.6)
    same = {c.metric: c for c in paired_bootstrap_comparisons(Calibration(), calibrated, calibrated, alpha=0.05)}
    assert set(same) == {"calibration.ece", "calibration.brier", "calibration.nll"}
    assert same["calibration.ece"].change == 0 and same["calibration.ece"].p_value == 1.0
    overconfident = _mc_records(0.95, 0.6)  # same answers, far more confident
    rows = {c.metric: c for c in paired_bootstrap_comparisons(Calibration(), calibrated, overconfident, alpha=0.05)}
    ece = rows["calibration.ece"]
    assert ece.change > 0.25 and ece.significant and ece.ci_low > 0 and ece.test == "paired-bootstrap"


def test_a_p_value_of_exactly_zero_counts_as_significant() -> None:
    ref = outcomes("1" * 3000 + "0" * 1000)
    cand = outcomes("0" * 3000 + "0" * 1000)  # every right answer lost: the exact p underflows to 0.0
    row = compare_outcomes(ref, cand, "mmlu.accuracy")
    assert row.p_value == 0.0 and row.significant

    class OneRow:
        def get(self, metric: str):
            return row

    policy = Policy.model_validate({"name": "p", "rules": [DROP_RULE]})
    verdict = evaluate_policy(
        policy,
        make_result("t", {"mmlu.accuracy": (0, 4000)}),
        make_result("b", {"mmlu.accuracy": (3000, 4000)}),
        comparison=OneRow(),  # type: ignore[arg-type]
    )
    assert verdict.outcomes[0].outcome == "fail" and "McNemar p=0 (< alpha" in verdict.outcomes[0].evidence
