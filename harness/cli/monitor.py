"""``harness monitor``: production logs judged against a monitoring policy (EU AI Act Art. 72).

``harness monitor LOGS... --baseline RUN`` (the default command, ``check``) windows the
logs, raises the policy's alerts, compares two versions (A/B) and places a canary in its
rollout plan; exit 1 when a rollback rule fires or the plan says roll back, else 0.
``harness monitor sample-logs OUT`` writes seeded sample logs; ``harness monitor plan``
prints the post-market monitoring plan of a policy.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from harness.cli.app import App
from harness.cli.options import SEED, Count, PathType, Text

if TYPE_CHECKING:
    from harness.monitoring.results import MonitoringReport

WINDOW = Count(1, 10**7, "a positive number of requests (at most 10000000)")
REQUESTS = Count(1, 10**8, "a positive number of requests (at most 100000000)")
SHOWN_WINDOWS = 40  # alerting windows printed per model; the rest are in monitoring.json


class MonitorGroup(click.Group):
    """A group whose default command is ``check``: ``harness monitor LOGS...`` means ``harness monitor check LOGS...``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["check", *args]
        return super().parse_args(ctx, args)


@click.group(cls=MonitorGroup)
def monitor() -> None:
    """Post-market monitoring: judge production logs (default), make sample logs, print the plan.

    \b
      harness monitor LOGS... --baseline RUN [--policy monitoring] [--window 100 | --window-time 1h] [--out DIR]
      harness monitor sample-logs OUT --seed 0 [--drift-at 1500] [--incident-at 2400] [--ab | --canary]
      harness monitor plan [--policy monitoring] [--json]

    Exit codes: 0 no rollback, 1 a rollback rule fired or the canary plan says roll back, 2 bad input.
    """


@monitor.command()
@click.argument("logs", nargs=-1, required=True, type=PathType(dir_okay=False, path_type=Path))
@click.option(
    "--baseline",
    "baseline_ref",
    required=True,
    type=Text(),
    help="The released model's evaluated run (directory, results.json or run id).",
)
@click.option(
    "--policy",
    "policy_ref",
    default="monitoring",
    show_default=True,
    type=Text(),
    help="Monitoring policy YAML, or a shipped name.",
)
@click.option(
    "--baseline-metric", type=Text(), help="The baseline run's accuracy metric [default: the policy's baseline_metric]."
)
@click.option("--window", "window_requests", type=WINDOW, help="Requests per window [default: the policy's, 100].")
@click.option("--window-time", type=Text(), metavar="DURATION", help="Windows of a time span instead (30m, 1h, 1d).")
@click.option(
    "--candidate",
    type=Text(),
    help="The new version (a model value in the logs) [default: the one that started last; of two that started within an hour, the one with fewer requests].",
)
@click.option("--incumbent", type=Text(), help="The version it replaces [default: the other one].")
@click.option(
    "--out",
    "out_dir",
    type=PathType(file_okay=False, path_type=Path),
    help="Write monitoring.json, .html and .pdf here.",
)
@click.option("--no-pdf", is_flag=True, help="With --out: write JSON and HTML only.")
@click.option("--json", "as_json", is_flag=True, help="Print the monitoring results as JSON.")
@click.pass_context
def check(
    ctx: click.Context,
    logs: tuple[Path, ...],
    baseline_ref: str,
    policy_ref: str,
    baseline_metric: str | None,
    window_requests: int | None,
    window_time: str | None,
    candidate: str | None,
    incumbent: str | None,
    out_dir: Path | None,
    no_pdf: bool,
    as_json: bool,
) -> None:
    """Judge production LOGS (JSONL, one request per line) against the baseline run and the policy."""
    from harness.errors import InputError
    from harness.monitoring.analysis import analyse
    from harness.monitoring.logs import read_logs
    from harness.monitoring.policy import load_monitoring_policy
    from harness.monitoring.render import write_monitoring
    from harness.monitoring.windows import parse_duration

    if window_requests is not None and window_time is not None:
        raise InputError("give --window (requests) or --window-time (a span), not both")
    app = ctx.find_object(App)
    assert app is not None
    seconds = parse_duration(window_time, "--window-time") if window_time is not None else None
    policy, policy_path = load_monitoring_policy(policy_ref)
    baseline, _ = app.load_run(baseline_ref)
    requests = read_logs(list(logs))
    report = analyse(
        requests,
        policy=policy,
        policy_path=policy_path,
        baseline_run=baseline,
        baseline_metric=baseline_metric,
        window_requests=window_requests,
        window_seconds=seconds,
        candidate=candidate,
        incumbent=incumbent,
    )
    app.say(
        f"{len(requests):,} requests from {len(logs)} log file(s); {len(requests.models)} model version(s)",
        tag="monitor",
    )
    if out_dir is not None:
        paths = write_monitoring(report, out_dir, pdf=not no_pdf)
        for name, path in (("json", paths.json), ("html", paths.html), ("pdf", paths.pdf)):
            if path is not None:
                app.say(f"{name:<5} {path}", tag="monitor")
    if as_json:
        app.emit_json(report.model_dump(mode="json"))
    else:
        print_report(report)
    ctx.exit(report.exit_code)


def print_report(report: MonitoringReport) -> None:
    """The results as a reader at a terminal wants them: what was judged, what fired, what to do."""
    base = report.baseline
    click.echo(
        f"policy     {report.policy.name} v{report.policy.version}; baseline {base.run_id}: "
        f"{base.metric} {base.value:.1%} (n = {base.n})"
    )
    click.echo(f"windows    {report.window.description}. {report.drift_method.statement}")
    for stream in report.streams:
        alerted = [w for w in stream.windows if w.alerts]
        click.echo(
            f"\nmodel {stream.model}: {stream.requests:,} requests in {len(stream.windows)} windows "
            f"({stream.begins} to {stream.ends}); {len(alerted)} window(s) raised alerts"
        )
        if alerted:
            rows = [["window", "begins", "accuracy", "mean conf", "errors", "p95 ms", "alerts"]]
            for w in alerted[:SHOWN_WINDOWS]:
                acc = w.accuracy.accuracy.value if w.accuracy else None
                rows.append(
                    [
                        str(w.index),
                        w.begins,
                        "-" if acc is None else f"{acc:.1%}",
                        "-" if w.mean_confidence.value is None else f"{w.mean_confidence.value:.3f}",
                        "-" if w.error_rate.value is None else f"{w.error_rate.value:.1%}",
                        "-" if w.latency_p95.value is None else f"{w.latency_p95.value:.0f}",
                        ", ".join(w.alerts),
                    ]
                )
            App.table(rows)
            if len(alerted) > SHOWN_WINDOWS:
                click.echo(f"... and {len(alerted) - SHOWN_WINDOWS} more (all in --json or monitoring.json)")
    if report.ab is not None:
        click.echo(f"\nA/B        {report.ab.incumbent} vs {report.ab.candidate}: {report.ab.conclusion}")
    if report.canary is not None:
        c = report.canary
        of = f" of {c.required_hours:.0f} h" if c.required_hours else ""
        click.echo(
            f"\ncanary     {c.candidate} in phase {c.phase} ({c.observed_share:.1%} of traffic) for {c.elapsed_hours:.1f} h{of}"
        )
        for criterion in c.criteria:
            click.echo(f"  {criterion.status:<20} {criterion.evidence}")
        click.echo(f"  recommendation: {c.recommendation}: " + "; ".join(c.reasons))
    if report.rollback.triggered:
        click.echo("\nROLLBACK")
        for reason in report.rollback.reasons[:SHOWN_WINDOWS]:
            click.echo(f"  {reason}")
        if len(report.rollback.reasons) > SHOWN_WINDOWS:
            click.echo(f"  ... and {len(report.rollback.reasons) - SHOWN_WINDOWS} more")
    click.echo(f"\nrecommendation: {report.recommendation} (exit {report.exit_code})")


@monitor.command("sample-logs")
@click.argument("out", type=PathType(path_type=Path))
@click.option("--seed", default=0, show_default=True, type=SEED)
@click.option("--requests", "n_requests", default=3000, show_default=True, type=REQUESTS)
@click.option("--rate", default=200.0, show_default=True, type=click.FloatRange(min=0.001), help="Requests per hour.")
@click.option(
    "--accuracy",
    default=0.95,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="The version's accuracy before any drift.",
)
@click.option(
    "--feedback-rate",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Share of answers a reviewer judged.",
)
@click.option(
    "--drift-at", metavar="T", type=Text(), help="Drift from request T (a number, an offset like 6h, or an ISO time)."
)
@click.option("--drift-kind", type=click.Choice(["both", "accuracy", "confidence"]), default="both", show_default=True)
@click.option("--incident-at", metavar="T", type=Text(), help="An error burst from request T (as --drift-at).")
@click.option("--ab", is_flag=True, help="Two versions 50/50, the candidate 5 points more accurate.")
@click.option(
    "--ab-difference",
    default=0.05,
    show_default=True,
    type=click.FloatRange(-1, 1),
    help="With --ab: candidate accuracy minus incumbent's.",
)
@click.option("--canary", is_flag=True, help="A canary rollout: the candidate at 5% for 24 h, then 50%.")
@click.option("--json", "as_json", is_flag=True, help="Print what was injected as JSON.")
@click.pass_context
def sample_logs(
    ctx: click.Context,
    out: Path,
    seed: int,
    n_requests: int,
    rate: float,
    accuracy: float,
    feedback_rate: float,
    drift_at: str | None,
    drift_kind: Any,
    incident_at: str | None,
    ab: bool,
    ab_difference: float,
    canary: bool,
    as_json: bool,
) -> None:
    """Write seeded emergency-response production logs (JSONL) to OUT (a file, or a folder for requests.jsonl)."""
    from dataclasses import replace

    from harness.monitoring.sample import SampleSpec, onset, write_sample_logs

    app = ctx.find_object(App)
    assert app is not None
    spec = SampleSpec(
        requests=n_requests,
        seed=seed,
        rate_per_hour=rate,
        accuracy=accuracy,
        feedback_rate=feedback_rate,
        drift_kind=drift_kind,
        ab=ab,
        ab_difference=ab_difference,
        canary=canary,
    )
    spec = replace(
        spec,
        drift_at=onset(drift_at, spec) if drift_at is not None else None,
        incident_at=onset(incident_at, spec) if incident_at is not None else None,
    )
    truth = write_sample_logs(out, spec)
    if as_json:
        app.emit_json(truth.as_dict())
        return
    click.echo(f"logs       {truth.path} ({truth.requests:,} requests; models {', '.join(truth.models)})")
    if truth.drift_at is not None:
        click.echo(f"drift      from request {truth.drift_at} ({truth.drift_time}): {drift_kind}")
    if truth.incident_at is not None:
        click.echo(f"incident   from request {truth.incident_at} ({truth.incident_time})")


@monitor.command()
@click.option(
    "--policy",
    "policy_ref",
    default="monitoring",
    show_default=True,
    type=Text(),
    help="Monitoring policy YAML, or a shipped name.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (what a dossier section reads).")
@click.pass_context
def plan(ctx: click.Context, policy_ref: str, as_json: bool) -> None:
    """Print the post-market monitoring plan (EU AI Act Art. 72) a monitoring policy sets."""
    from harness.monitoring.plan import monitoring_plan
    from harness.monitoring.policy import load_monitoring_policy

    app = ctx.find_object(App)
    assert app is not None
    policy, path = load_monitoring_policy(policy_ref)
    data = monitoring_plan(policy, path)
    if as_json:
        app.emit_json(data)
        return
    click.echo(f"{data['article']}; policy {policy.name} v{policy.version} ({path})")
    click.echo(f"windows    {data['window']['text']}")
    rows = [["indicator", "threshold", "false alarms", "action", "owner"]]
    rows += [[i["indicator"], i["threshold"], i["false_alarms"], i["action"], i["owner"]] for i in data["indicators"]]
    App.table(rows)
    for phase in data["canary"]:
        duration = phase["duration"] or "open-ended"
        click.echo(
            f"phase      {phase['phase']}: {phase['traffic']:.0%} of traffic, {duration}; {'; '.join(phase['criteria']) or '-'}"
        )
    for role, who in data["roles"].items():
        click.echo(f"role       {role}: {who}")
    if data["review"]:
        click.echo(f"review     {data['review']}")
