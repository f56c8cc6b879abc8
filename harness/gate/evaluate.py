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
    paired by item) lets them block only on a drop that is also significant at the
    policy's alpha. Without it a drop is judged on the plain difference, and says so.
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
        return _judge_drop(
            rule, common, measured, base_metric, comparison.get(rule.metric) if comparison else None, alpha
        )

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


def _judge_drop(
    rule: Rule,
    common: dict[str, Any],
    measured: dict[str, Any],
    base_metric: Metric,
    paired: PairedComparison | None,
    alpha: float,
) -> RuleOutcome:
    """A drop fails only when it exceeds the tolerance and, where items pair, is significant."""
    assert rule.max_drop is not None
    base_value, value = base_metric.value or 0.0, measured["value"]
    drop = base_value - value
    if rule.relative:
        drop = drop / base_value if base_value else drop
    unit = f"{drop:.1%} relative" if rule.relative else f"{drop:.4f}"
    over = drop > rule.max_drop + 1e-12
    facts = measured | {"baseline_value": base_value, "change": value - base_value}
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
            f"{test} p={paired.p_value:.3g} ({'<' if significant else '>='} alpha {alpha:g})"
        )
        if over and not facts["significant"]:
            evidence += "; not significant, so not a regression"
        return _bounded(rule, common, facts, not (over and facts["significant"]), evidence)
    if over:
        evidence += "; no paired item records, so significance was not tested"
    return _bounded(rule, common, facts, not over, evidence)


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
