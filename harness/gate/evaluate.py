"""The gate: a policy applied to a stored run (and optionally a baseline run).

Pure over stored results: no model, no engine. A required metric that was not measured
fails the gate; it is never a pass.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from harness.gate.policy import Policy, Rule
from harness.schema.comparison import PairedComparison, RunComparison
from harness.schema.format import format_metric
from harness.schema.results import Metric, RunResult
from harness.schema.verdict import EXIT_FAIL, EXIT_PASS, EXIT_USAGE, Outcome, RuleOutcome, Verdict
from harness.stats import (
    Z_95,
    newcombe_difference_interval,
    non_inferiority_sample_size,
    paired_proportions_interval,
)

__all__ = [
    "EXIT_FAIL",
    "EXIT_PASS",
    "EXIT_USAGE",
    "Outcome",
    "RuleOutcome",
    "Verdict",
    "evaluate_policy",
    "format_metric",
]


def evaluate_policy(
    policy: Policy,
    run: RunResult,
    baseline: RunResult | None = None,
    *,
    policy_path: str = "",
    policy_sha256: str = "",
    comparison: RunComparison | None = None,
    datasets: dict[str, list[Metric]] | None = None,
) -> Verdict:
    """Apply every rule of ``policy`` to ``run``.

    ``baseline`` serves the ``max_drop`` rules; ``comparison`` (run against baseline,
    paired by item) lets a difference rule block only on a drop that is also significant
    at the policy's alpha, and gives a non-inferiority rule its paired interval. Without
    it a difference rule judges the plain difference, and a non-inferiority rule the
    runs' unpaired interval, and each says so.
    """
    datasets = datasets or {}
    if datasets:
        run = run.model_copy(update={"metrics": run.metrics + [m for ms in datasets.values() for m in ms]})
    rules = [r for rule in policy.rules for r in _expand_dataset_rule(rule, datasets)]
    outcomes = [_judge(rule, run, baseline, comparison, policy.alpha) for rule in rules]
    failed = any(o.blocking for o in outcomes)
    return Verdict(
        run_id=run.run_id,
        baseline_run_id=baseline.run_id if baseline else None,
        policy=policy.name,
        policy_path=policy_path,
        policy_sha256=policy_sha256,
        datasets=sorted(datasets),
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        verdict="fail" if failed else "pass",
        exit_code=EXIT_FAIL if failed else EXIT_PASS,
        outcomes=outcomes,
    )


def _judge(
    rule: Rule, run: RunResult, baseline: RunResult | None, comparison: RunComparison | None, alpha: float
) -> RuleOutcome:
    metric = run.metric(rule.metric)
    common = {
        "rule_id": rule.rule_id,
        "metric": rule.metric,
        "bound": rule.describe_bound(),
        "severity": rule.severity,
        "article": rule.article,
        "why": rule.why,
    }
    if metric is None or metric.value is None:
        reason = _missing_reason(rule.metric, run)
        return RuleOutcome(**common, outcome="not-measured", blocking=rule.severity == "block", evidence=reason)
    measured = {"value": metric.value, "n": metric.n, "ci_low": metric.ci_low, "ci_high": metric.ci_high}

    if rule.kind == "above_chance":
        return _judge_chance(rule, common, measured, metric)

    if rule.kind == "max_drop":
        base_metric = baseline.metric(rule.metric) if baseline else None
        if baseline is None or base_metric is None or base_metric.value is None:
            reason = (
                "no baseline run given (--baseline)"
                if baseline is None
                else f"baseline run {baseline.run_id} did not measure {rule.metric}"
            )
            return RuleOutcome(
                **common, **measured, outcome="not-measured", blocking=rule.severity == "block", evidence=reason
            )
        paired = comparison.get(rule.metric) if comparison else None
        if rule.test == "non-inferiority":
            return _judge_non_inferiority(rule, common, measured, metric, base_metric, paired)
        return _judge_drop(rule, common, measured, base_metric, paired, alpha)

    value = metric.value
    if rule.min is not None:
        ok = value >= rule.min
        warn_only = not ok and rule.warn_until is not None and value >= rule.warn_until
        evidence = f"{value:.4f} {'>=' if ok else '<'} {rule.min:g} (n={metric.n})"
    else:
        assert rule.max is not None
        ok = value <= rule.max
        warn_only = not ok and rule.warn_until is not None and value <= rule.warn_until
        evidence = f"{value:.4f} {'<=' if ok else '>'} {rule.max:g} (n={metric.n})"
    if warn_only:
        evidence += f"; inside the warning band up to {rule.warn_until:g}"
        return RuleOutcome(**common, **measured, outcome="warn", blocking=False, evidence=evidence)
    return _bounded(rule, common, measured, ok, evidence)


def _judge_chance(rule: Rule, common: dict[str, Any], measured: dict[str, Any], metric: Metric) -> RuleOutcome:
    """Better than guessing: the 95% interval's lower bound must lie above the metric's chance level.

    A point estimate above chance is not enough: on a small test set a model that guesses
    scores above chance half the time. Only an interval wholly above chance rules guessing
    out (at the 2.5% one-sided level of a 95% interval). A metric that declares no chance
    level (:attr:`Metric.chance`) or has no interval is not measured for this rule.
    """
    facts = measured | {"chance": metric.chance}
    if metric.chance is None:
        evidence = f"{rule.metric} declares no chance level, so whether it beats guessing cannot be judged"
        return RuleOutcome(
            **common, **facts, outcome="not-measured", blocking=rule.severity == "block", evidence=evidence
        )
    if metric.ci_low is None:
        evidence = f"{rule.metric} has no 95% interval, so it cannot be shown to lie above chance {metric.chance:.3f}"
        return RuleOutcome(
            **common, **facts, outcome="not-measured", blocking=rule.severity == "block", evidence=evidence
        )
    ok = bool(metric.above_chance)
    evidence = f"lower bound {metric.ci_low:.3f} vs chance {metric.chance:.3f} (n={metric.n})"
    evidence += (
        "; the 95% interval lies above chance"
        if ok
        else f"; the 95% interval reaches chance: the data do not rule out guessing (value {metric.value:.3f})"
    )
    return _bounded(rule, common, facts, ok, evidence)


def _judge_drop(
    rule: Rule,
    common: dict[str, Any],
    measured: dict[str, Any],
    base_metric: Metric,
    paired: PairedComparison | None,
    alpha: float,
) -> RuleOutcome:
    """A drop fails only when it exceeds the tolerance and, where items pair, is significant.

    The paired test is the rule's own, declared in the policy before the data: its raw p is
    compared with alpha (no multiplicity adjustment, unlike ``harness compare``, which tests
    every metric at once). Absence of significance is not evidence of no drop: for that, use
    ``test: non-inferiority``.
    """
    assert rule.max_drop is not None
    base_value, value = base_metric.value or 0.0, measured["value"]
    drop = base_value - value
    if rule.relative:
        drop = drop / base_value if base_value else drop
    unit = f"{drop:.1%} relative" if rule.relative else f"{drop:.4f}"
    over = drop > rule.max_drop + 1e-12
    facts = measured | {"baseline_value": base_value, "change": value - base_value, "test": rule.test}
    evidence = f"drop {unit} against baseline {base_value:.4f} (limit {rule.describe_bound()})"
    if paired is not None and paired.paired and paired.n:
        significant = paired.p_value is not None and paired.p_value < alpha  # p can be exactly 0.0 on large n
        facts |= {
            "change_ci_low": paired.ci_low,
            "change_ci_high": paired.ci_high,
            "p_value": paired.p_value,
            "significant": significant,
        }
        test = "McNemar" if paired.test == "mcnemar-exact" else (paired.test or "paired test")
        evidence += (
            f"; paired on {paired.n} items: change {paired.change:+.4f} [{paired.ci_low:+.4f}, {paired.ci_high:+.4f}], "
            f"{test} p={paired.p_value:.3g} ({'<' if significant else '>='} alpha {alpha:g}, "
            "raw p of this rule's one pre-declared test)"
        )
        if over and not facts["significant"]:
            evidence += "; not significant, so not a regression"
        return _bounded(rule, common, facts, not (over and facts["significant"]), evidence)
    if over:
        evidence += "; no paired item records, so significance was not tested"
    return _bounded(rule, common, facts, not over, evidence)


def _judge_non_inferiority(
    rule: Rule,
    common: dict[str, Any],
    measured: dict[str, Any],
    metric: Metric,
    base_metric: Metric,
    paired: PairedComparison | None,
) -> RuleOutcome:
    """Non-inferiority: pass only when the data rule out a drop larger than the tolerance.

    With tolerance t (max_drop, times the baseline value when relative), the rule passes
    when the lower end of the 95% interval of the change (candidate minus baseline) lies
    above -t; otherwise it fails, however small the observed drop (the burden of proof is
    on the candidate; e.g. Wellek 2010, *Testing Statistical Hypotheses of Equivalence and
    Noninferiority*). The interval is a paired one over the items both runs answered: for
    per-item correctness, Agresti & Min's (2005) interval from the 2x2 table
    (:func:`harness.stats.paired_proportions_interval`; the comparison's percentile
    bootstrap collapses to a point when no item changed, which would let a small test set
    rule out any drop); for other paired metrics, the comparison's paired bootstrap.
    Without paired records, Newcombe's (1998) interval for two independent proportions
    from the runs' own intervals, which is wider, so conservative.

    When the interval's lower half (change minus its lower end) is at least t, even an
    unchanged model could not have passed on this many items: the evidence says the
    comparison is underpowered and how many items would do, by
    :func:`harness.stats.non_inferiority_sample_size`: n = (z_0.975 + z_0.8)^2 * v / t^2,
    with v the discordance rate (b + c) / n for paired correctness (Connor 1987; 1 / (n + 2),
    the two added half-items, when no item changed), else the
    per-item variance the interval implies, n * ((high - low) / (2 * 1.96))^2 (for two
    unpaired runs, the sum of both runs').
    """
    assert rule.max_drop is not None
    base_value, value = base_metric.value or 0.0, measured["value"]
    tolerance = rule.tolerance(base_value)
    facts = measured | {
        "baseline_value": base_value,
        "change": value - base_value,
        "test": rule.test,
        "tolerance": tolerance,
    }
    margin = f"-{tolerance:.4f}" + (f" ({rule.max_drop:.0%} of baseline {base_value:.4f})" if rule.relative else "")
    interval = _change_interval(metric, base_metric, paired)
    if interval is None:
        evidence = (
            f"change {value - base_value:+.4f} against baseline {base_value:.4f}; no interval for the change "
            f"(neither paired item records nor both runs' intervals), so a drop beyond {margin} cannot be ruled out"
        )
        return _bounded(rule, common, facts, False, evidence)
    change, low, high, source, variance, n = interval
    per = "paired items" if source.startswith("paired") else "items in each run"
    facts |= {"change": change, "change_ci_low": low, "change_ci_high": high}
    ok = low > -tolerance
    evidence = f"change {change:+.4f} [{low:+.4f}, {high:+.4f}] {source}; non-inferiority margin {margin}: "
    if ok:
        evidence += "the 95% interval rules out a larger drop"
        return _bounded(rule, common, facts, True, evidence)
    evidence += "the 95% interval does not rule out a larger drop"
    if change - low >= tolerance:
        needed = non_inferiority_sample_size(variance, tolerance)
        evidence += (
            f"; underpowered: the interval extends {change - low:.4f} below the observed change, no less than the "
            f"tolerance {tolerance:.4f}, so on {n} items even an unchanged model could not pass"
        )
        if needed is not None:
            facts["items_needed"] = needed
            evidence += f"; about {needed:,} {per} would be needed (80% power if there is no true change)"
        elif tolerance <= 0:
            evidence += "; with a tolerance of 0 only a significant improvement can pass"
    return _bounded(rule, common, facts, False, evidence)


def _change_interval(
    metric: Metric, base_metric: Metric, paired: PairedComparison | None
) -> tuple[float, float, float, str, float, int] | None:
    """(change, low, high, where from, per-item variance, items) of candidate minus baseline; None without one."""
    if paired is not None and paired.paired and paired.n and paired.change is not None:
        b, c = paired.only_reference_correct, paired.only_candidate_correct
        where = f"paired on {paired.n} items"
        if b is not None and c is not None:
            low, high = paired_proportions_interval(b, c, paired.n)
            discordance = (
                (b + c) / paired.n if b + c else 1 / (paired.n + 2)
            )  # none seen: Agresti-Min's added half-items
            return paired.change, low, high, f"{where} (Agresti-Min interval)", discordance, paired.n
        if paired.ci_low is not None and paired.ci_high is not None:
            variance = paired.n * ((paired.ci_high - paired.ci_low) / (2 * Z_95)) ** 2
            return paired.change, paired.ci_low, paired.ci_high, f"{where} (paired bootstrap)", variance, paired.n
    c_low, c_high, b_low, b_high = metric.ci_low, metric.ci_high, base_metric.ci_low, base_metric.ci_high
    if metric.value is None or base_metric.value is None or c_low is None or c_high is None:
        return None
    if b_low is None or b_high is None:
        return None
    low, high = newcombe_difference_interval((base_metric.value, b_low, b_high), (metric.value, c_low, c_high))
    variance = sum(
        m.n * ((hi - lo) / (2 * Z_95)) ** 2 for m, lo, hi in ((metric, c_low, c_high), (base_metric, b_low, b_high))
    )
    source = "unpaired (Newcombe's interval: no paired item records)"
    return metric.value - base_metric.value, low, high, source, variance, min(metric.n, base_metric.n)


def _bounded(rule: Rule, common: dict[str, Any], measured: dict[str, Any], ok: bool, evidence: str) -> RuleOutcome:
    if ok:
        return RuleOutcome(**common, **measured, outcome="pass", blocking=False, evidence=evidence)
    outcome: Outcome = "fail" if rule.severity == "block" else "warn"
    return RuleOutcome(**common, **measured, outcome=outcome, blocking=rule.severity == "block", evidence=evidence)


def _expand_dataset_rule(rule: Rule, datasets: dict[str, list[Metric]]) -> list[Rule]:
    """A rule on ``data.*.<metric>`` applies to every dataset given to the gate, one outcome each."""
    if not rule.metric.startswith("data.*."):
        return [rule]
    if not datasets:
        return [rule]
    tail = rule.metric.removeprefix("data.*.")
    return [
        rule.model_copy(update={"metric": f"data.{ref.split('@')[0]}.{tail}", "id": f"{rule.rule_id}[{ref}]"})
        for ref in sorted(datasets)
    ]


def _missing_reason(name: str, run: RunResult) -> str:
    if name.startswith("data."):
        if name.startswith("data.*."):
            return "no dataset given to the gate (--dataset NAME@VERSION)"
        return (
            f"no evidence for {name}: give the gate --dataset NAME@VERSION and store the check with it "
            "(harness data validate/agreement/resolve --dataset)"
        )
    suite = name.split(".", 1)[0]
    status = run.suite_status.get(suite)
    if status is not None and status.status == "skipped":
        return f"suite {suite} was skipped: {status.reason}"
    if suite not in run.suites:
        return f"suite {suite} was not part of run {run.run_id}"
    return f"metric {name} is not in run {run.run_id}"
