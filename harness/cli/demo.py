"""``harness demo``: the whole life cycle on an embedded tiny model, offline."""

from __future__ import annotations

from pathlib import Path

import click

from harness.cli.app import App, pass_app
from harness.cli.options import LIMIT, PathType


@click.command()
@click.option(
    "--out", "out_dir", default="harness-demo", show_default=True, type=PathType(file_okay=False, path_type=Path)
)
@click.option("--data-dir", type=PathType(path_type=Path), help="Benchmark data [default: $HARNESS_DATA_DIR].")
@click.option("--limit", default=4, show_default=True, type=LIMIT, help="Items per MMLU subject and of GSM8K.")
@pass_app
def demo(app: App, out_dir: Path, data_dir: Path | None, limit: int) -> None:
    """The whole flow offline on an embedded tiny model: build, evaluate, gate, report, monitor, dossier.

    Suites whose data cannot be found are skipped and show as not measured in the gate.
    Everything the demo writes stays under --out, its run store, caches and audit key
    included (in OUT/home), unless HARNESS_HOME or --store says where they go.
    """
    import os

    from harness.cli.printing import print_verdict
    from harness.data.registry import provenance_path
    from harness.demo import run_demo

    prefix = ""
    if not os.environ.get("HARNESS_HOME") and app.store_url is None:
        os.environ["HARNESS_HOME"] = str((out_dir / "home").resolve())
        prefix = f"HARNESS_HOME={os.environ['HARNESS_HOME']} "
        app.say(f"state (store, caches, audit key) under {os.environ['HARNESS_HOME']}", tag="demo")

    record = run_demo(
        out_dir=out_dir,
        data_dir=data_dir,
        limit=limit,
        store=app.store,
        say=lambda message: app.say(message, tag="demo"),
    )
    training = record.training
    click.echo("")
    print_verdict(record.verdict)
    click.echo("")
    losses = record.eval_losses
    click.echo(
        f"training      {training.record['steps']} steps in {training.record['seconds']:.0f} s, eval loss "
        f"{losses[0]:.3f} -> {min(losses):.3f}"
        if losses
        else "training      (no evaluation)"
    )
    click.echo(
        f"decision      {training.decision.upper()}"
        + (f": {training.registry_entry}" if training.registry_entry else "")
    )
    json_line = _json_story(record.tuned_run, record.base_run.name)
    if json_line:
        click.echo(f"JSON answers  {json_line}")
    click.echo(f"base run      {record.base_run}")
    click.echo(f"tuned run     {record.tuned_run}")
    click.echo(f"report        {record.report.html}")
    click.echo(f"              {record.report.pdf}")
    click.echo(f"gate (CI)     {record.junit}, {record.markdown}")
    click.echo(f"data          {record.dataset}: provenance {provenance_path(record.dataset)}")
    report = record.monitoring_report
    click.echo(
        f"monitoring    {record.monitoring.json}: {len(report.alerts)} alert(s), recommendation {report.recommendation}"
    )
    for reason in report.rollback.reasons[:3]:
        click.echo(f"              rollback: {reason}")
    if len(report.rollback.reasons) > 3:
        click.echo(
            f"              ... and {len(report.rollback.reasons) - 3} more rollback reason(s) in monitoring.json"
        )
    click.echo(
        f"dossier       {record.dossier.pdf} (PDF/A-3b), {record.dossier.html} (Art. 72 with monitoring results)"
    )
    click.echo(f"              {len(record.dossier.placeholders)} items need human input: harness dossier init, then")
    click.echo(
        f"              {prefix}harness dossier {record.tuned_run} --input provider.yaml --dataset {record.dataset} "
        "--out DIR"
    )
    click.echo(f"demo done in {record.seconds:.0f} s; the gate's exit code would be {record.verdict.exit_code}")


def _json_story(tuned_run: Path, base_run_id: str) -> str | None:
    """Strict JSON validity of base and adapter on the same items, with McNemar's exact p-value."""
    from harness.comparison import load_comparison

    comparison = load_comparison(tuned_run, base_run_id)
    row = next((c for c in comparison.comparisons if c.metric == "structured.valid_json"), None) if comparison else None
    if row is None or row.reference is None or row.candidate is None:
        return None
    p = (
        ""
        if row.p_value is None
        else f", McNemar exact p = {row.p_value:.2g} ({row.only_candidate_correct} items better, {row.only_reference_correct} worse)"
    )
    return f"valid JSON {row.reference:.1%} (base) -> {row.candidate:.1%} (adapter) on {row.n} paired items{p}"
