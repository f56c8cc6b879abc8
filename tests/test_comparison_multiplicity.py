"""`harness compare` tests about sixty metrics at once: significance holds after Holm's adjustment."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from harness.comparison import adjust_for_multiplicity, compare_outcomes, compare_runs
from harness.gate.evaluate import evaluate_policy
from harness.gate.policy import Policy
from harness.schema.comparison import PairedComparison, RunComparison
from harness.schema.results import ItemRecord, RunResult
from harness.stats import holm_adjusted
from harness.suites.mmlu import MMLU, SUBJECTS
from tests.helpers import make_result

ITEMS_PER_SUBJECT = 20  # 1140 MMLU items: enough discordant pairs per subject for McNemar to reach alpha


@pytest.mark.parametrize("seed", range(5))
def test_holm_adjusted_p_values_equal_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(size=40), rng.uniform(0, 0.01, size=10), [0.0, 1.0, 0.03, 0.03, 0.03]])
    rng.shuffle(p)
    expected = multipletests(p, alpha=0.05, method="holm")[1]
    np.testing.assert_allclose(holm_adjusted(list(p)), expected, rtol=0, atol=1e-15)


def test_holm_of_nothing_is_nothing_and_invalid_p_values_are_refused() -> None:
    assert holm_adjusted([]) == []
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm_adjusted([0.5, 1.2])


def _chance_model(seed: int, targets: np.ndarray) -> list[ItemRecord]:
    """A model that guesses: random log-likelihoods over four choices, the same items and prompts."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(targets.size, 4))
    records = []
    for i, (subject, row) in enumerate((s, r) for s in SUBJECTS for r in range(ITEMS_PER_SUBJECT)):
        prediction = int(logits[i].argmax())
        records.append(
            ItemRecord(
                suite="mmlu",
                item_id=f"mmlu/{subject}/{row}",
                subject=subject,
                prompt_hash=f"{subject}-{row}",
                choices=["A", "B", "C", "D"],
                loglikelihoods=[float(v) for v in logits[i]],
                prediction=prediction,
                target=int(targets[i]),
                correct=prediction == int(targets[i]),
            )
        )
    return records


def _run(run_id: str, records: list[ItemRecord]) -> RunResult:
    result = make_result(run_id, {})
    result.suites = ["mmlu", "calibration"]
    result.metrics = MMLU().score(records).metrics
    return result


def _chance_comparison(seed: int) -> RunComparison:
    targets = np.random.default_rng(10_000 + seed).integers(0, 4, size=len(SUBJECTS) * ITEMS_PER_SUBJECT)
    a, b = _chance_model(2 * seed, targets), _chance_model(2 * seed + 1, targets)
    return compare_runs(_run("a", a), a, _run("b", b), b)


@pytest.mark.slow  # seconds: kept out of the fast lane
def test_two_chance_level_models_show_no_significant_row_after_adjustment() -> None:
    comparisons = [_chance_comparison(seed) for seed in range(20)]
    tested = [c for c in comparisons[0].comparisons if c.p_value is not None]
    assert len(tested) >= 60  # overall, 57 subjects, ECE, Brier, NLL
    with_raw_hit = sum(any(c.p_value < 0.05 for c in run.comparisons if c.p_value is not None) for run in comparisons)
    with_adjusted_hit = sum(any(c.significant for c in run.comparisons) for run in comparisons)
    assert with_raw_hit >= 10  # unadjusted, chance alone "finds" a difference in most comparisons (16 of 20 here)
    assert with_adjusted_hit <= 1  # Holm holds the family-wise error rate at alpha


def test_a_comparison_records_holm_and_keeps_each_raw_p() -> None:
    comparison = _chance_comparison(0)
    assert comparison.adjustment == "holm" and comparison.schema_version == "2"
    tested = [c for c in comparison.comparisons if c.p_value is not None]
    expected = multipletests([c.p_value for c in tested], method="holm")[1]
    np.testing.assert_allclose([c.p_adjusted for c in tested], expected, rtol=0, atol=1e-15)
    assert all(c.significant == ((c.p_adjusted or 1.0) < comparison.alpha) for c in tested)
    assert all(c.p_adjusted is not None and c.p_value is not None and c.p_adjusted >= c.p_value for c in tested)
    untested = [c for c in comparison.comparisons if c.p_value is None]
    assert all(c.p_adjusted is None for c in untested)


def test_a_strong_effect_stays_significant_after_adjustment() -> None:
    ref = {f"mmlu/x/{i}": i < 600 for i in range(1000)}
    cand = {f"mmlu/x/{i}": i < 400 for i in range(1000)}
    strong = compare_outcomes(ref, cand, "mmlu.accuracy")
    noise = [
        compare_outcomes(ref, {k: v if j % 97 else not v for j, (k, v) in enumerate(ref.items())}, f"m{i}")
        for i in range(59)
    ]
    rows = adjust_for_multiplicity([strong, *noise], 0.05)
    assert rows[0].significant and rows[0].p_adjusted == pytest.approx(min(1.0, 60 * strong.p_value), rel=1e-9)
    assert not any(r.significant for r in rows[1:])


def test_a_comparison_file_written_before_the_adjustment_reads_as_unadjusted() -> None:
    old = {
        "schema_version": "1",
        "reference_run": "a",
        "candidate_run": "b",
        "reference_fingerprint": "sha256:" + "0" * 64,
        "candidate_fingerprint": "sha256:" + "1" * 64,
        "alpha": 0.05,
        "unmatched_items": 0,
        "comparisons": [],
    }
    assert RunComparison.model_validate(old).adjustment == "none"


def test_the_gate_judges_its_rule_on_the_raw_p_of_its_one_pre_declared_test() -> None:
    # raw p 0.004: significant alone, but not after adjusting for 60 rows (0.24)
    row = PairedComparison(
        metric="mmlu.accuracy",
        paired=True,
        n=1000,
        reference=0.7,
        candidate=0.6,
        change=-0.1,
        relative_change=-0.1 / 0.7,
        relative_drop=0.1 / 0.7,
        ci_low=-0.15,
        ci_high=-0.05,
        p_value=0.004,
        p_adjusted=0.24,
        test="mcnemar-exact",
        significant=False,
    )

    class OneRow:
        def get(self, metric: str) -> PairedComparison | None:
            return row if metric == "mmlu.accuracy" else None

    policy = Policy.model_validate(
        {
            "name": "p",
            "rules": [
                {"metric": "mmlu.accuracy", "max_drop": 0.05, "relative": True, "article": "a", "why": "w"},
            ],
        }
    )
    outcome = evaluate_policy(
        policy,
        make_result("t", {"mmlu.accuracy": (600, 1000)}),
        make_result("b", {"mmlu.accuracy": (700, 1000)}),
        comparison=OneRow(),  # type: ignore[arg-type]
    ).outcomes[0]
    assert outcome.outcome == "fail" and outcome.significant is True and outcome.p_value == 0.004
    assert "raw p of this rule's one pre-declared test" in outcome.evidence
