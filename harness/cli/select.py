"""``harness select``: choose a base model from measured candidates and write the decision record."""

from __future__ import annotations

from pathlib import Path

import click

from harness.cli.app import App
from harness.cli.options import PathType, Text


@click.command("select")
@click.argument("candidates", metavar="CANDIDATE...", nargs=-1, required=True, type=Text())
@click.option(
    "--policy",
    "policy_ref",
    default="selection",
    show_default=True,
    type=Text(),
    help="Selection policy YAML file, or the name of a shipped one.",
)
@click.option(
    "--out",
    "out_dir",
    default="selection",
    show_default=True,
    type=PathType(file_okay=False, path_type=Path),
    help="Folder for the decision record (Markdown, HTML, PDF/A-3b) and its JSON evidence.",
)
@click.option("--no-pdf", is_flag=True, help="Write Markdown and HTML only.")
@click.option("--json", "as_json", is_flag=True, help="Print the selection record as JSON.")
@click.pass_context
def select(
    ctx: click.Context, candidates: tuple[str, ...], policy_ref: str, out_dir: Path, no_pdf: bool, as_json: bool
) -> None:
    """Compare candidate base models and write a decision record from the evidence.

    A CANDIDATE is a model directory or a stored run (folder, results.json or run id);
    every finished run of the same model (same fingerprint) in the run store counts as
    its benchmark evidence. The record holds the decision matrix (the policy's weighted
    criteria, each cell a measured value with its interval and outcome), paired
    comparisons on shared items (a candidate is called better only when the Holm-adjusted
    test is significant), the alternatives with measured pros and cons, consequences and
    the metrics to track after fine-tuning.

    Exit 0 when a candidate is chosen, 1 when none is (none eligible, or a person must choose).
    """
    from harness.intake.render import write_decision_record
    from harness.intake.selection import select as run_selection

    app = ctx.find_object(App)
    assert app is not None
    record, resolved = run_selection(list(candidates), policy=policy_ref, store=app.store)
    paths = write_decision_record(record, resolved, out_dir, pdf=not no_pdf)
    selection_id = keep_selection(app, record)
    app.say(f"selection record {selection_id} kept in the run store")
    app.say(f"decision record {paths.markdown}, {paths.html}" + (f", {paths.pdf}" if paths.pdf else ""))
    if as_json:
        app.emit_json(record.model_dump(mode="json", by_alias=True))
    else:
        click.echo(f"status   {record.status}")
        click.echo(f"decision {record.decision}")
        for line in record.rationale:
            click.echo(f"  {line}")
        for candidate in record.candidates:
            eligible = "eligible" if candidate.eligible else "not eligible"
            click.echo(f"  {candidate.label}: score {candidate.score:.0%}, {eligible}")
    ctx.exit(0 if record.chosen else 1)


def keep_selection(app: App, record: object) -> int:
    """Keep the selection record in the run store and append a ``selection`` event to the audit log; its id.

    The chosen candidate is kept by its model's fingerprint, so a run of that model finds the decision.
    """
    from harness.cli.intake import canonical_sha256
    from harness.intake.record import SelectionRecord
    from harness.store.audit import record_event

    assert isinstance(record, SelectionRecord)
    data = record.model_dump(mode="json", by_alias=True)
    chosen = next((c for c in record.candidates if c.label == record.chosen), None)
    fingerprint = chosen.model.fingerprint if chosen is not None else None
    selection_id = app.store.add_selection(
        data, created_at=record.created_at, chosen_fingerprint=fingerprint, policy=record.policy.name
    )
    payload = {
        "selection_id": selection_id,
        "status": record.status,
        "chosen": record.chosen,
        "chosen_fingerprint": fingerprint,
        "candidates": [c.label for c in record.candidates],
        "policy": record.policy.name,
        "record_sha256": canonical_sha256(data),
    }
    record_event(app.store, f"selection/{selection_id}", "selection", payload)
    return selection_id
