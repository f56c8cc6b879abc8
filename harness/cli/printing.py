"""Plain-text renderings shared by several commands (gate, train, demo)."""

from __future__ import annotations

import click

from harness.cli.app import App
from harness.schema.format import format_metric
from harness.schema.verdict import RuleOutcome, Verdict


def print_verdict(verdict: Verdict) -> None:
    rows = [("OUTCOME", "RULE", "MEASURED (95% CI, n)", "BOUND", "VS BASELINE (95% CI, p)", "ARTICLE")]
    rows += [
        (o.outcome.upper(), o.rule_id, format_metric(o), format_bound(o), format_change(o), o.article)
        for o in verdict.outcomes
    ]
    App.table(rows)
    for o in verdict.outcomes:
        if o.outcome != "pass" or o.change is not None:
            click.echo(f"  {o.rule_id}: {o.evidence}")
    counts = verdict.counts()
    click.echo(
        f"verdict  {verdict.verdict.upper()} ({counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail, "
        f"{counts['not-measured']} not measured) policy {verdict.policy}, exit {verdict.exit_code}"
    )


def format_bound(outcome: RuleOutcome) -> str:
    """The rule's bound, with the chance level an above-chance rule compares with."""
    if outcome.chance is not None:
        return f"{outcome.bound} {outcome.chance:.3g}"
    return outcome.bound


def format_change(outcome: RuleOutcome) -> str:
    if outcome.change is None:
        return ""
    text = f"{outcome.change:+.4f}"
    if outcome.change_ci_low is not None and outcome.change_ci_high is not None:
        text += f" [{outcome.change_ci_low:+.4f}, {outcome.change_ci_high:+.4f}]"
    if outcome.p_value is not None:
        text += f" p={outcome.p_value:.3g}"
    return text
