"""``harness intake``: can this base model be fine-tuned? A scorecard from its files, weights never loaded."""

from __future__ import annotations

from pathlib import Path

import click

from harness.cli.app import App
from harness.cli.options import PathType, Text


@click.command()
@click.argument("model", metavar="MODEL", type=Text())
@click.option("--adapter", type=Text(), help="PEFT (LoRA) adapter directory on top of MODEL.")
@click.option(
    "--policy",
    "policy_ref",
    default="base-model-minimums",
    show_default=True,
    type=Text(),
    help="Intake policy YAML file, or the name of a shipped one.",
)
@click.option(
    "--run",
    "run_refs",
    multiple=True,
    type=Text(),
    metavar="RUN",
    help="A stored run of this model (folder, results.json or run id) whose metrics fill the benchmark rows. Repeatable.",
)
@click.option("--files-only", is_flag=True, help="Judge the files alone: leave the benchmark minimums out.")
@click.option("--json", "as_json", is_flag=True, help="Print the intake record as JSON.")
@click.option(
    "--out",
    "out_dir",
    type=PathType(file_okay=False, path_type=Path),
    help="Also write intake.json (schema harness.intake) and intake.md here.",
)
@click.pass_context
def intake(
    ctx: click.Context,
    model: str,
    adapter: str | None,
    policy_ref: str,
    run_refs: tuple[str, ...],
    files_only: bool,
    as_json: bool,
    out_dir: Path | None,
) -> None:
    """Check a base model against the methodology's requirements before anyone fine-tunes it.

    Reads config.json, the tokenizer files, the safetensors headers and the model card or
    LICENSE, never the weights: licence, architecture, size and memory, context length,
    vocabulary and tokenizer, chat template, characters per token in English and Greek,
    number and whitespace handling, unknown tokens. Benchmark minimums (MMLU, BBH,
    HumanEval, TruthfulQA) come from stored runs of the same model (--run).

    Exit 0 when the verdict is pass or warn, 1 when it is fail, incomplete (a row not
    measured) or review (a person must decide a row), 2 on bad input.
    """
    from harness.intake.render import write_intake
    from harness.intake.scorecard import exit_code, run_intake

    app = ctx.find_object(App)
    assert app is not None
    runs = [app.load_run(ref)[0] for ref in run_refs]
    record = run_intake(model, adapter=adapter, policy=policy_ref, runs=runs, files_only=files_only)
    intake_id = keep_intake(app, record)
    app.say(f"intake record {intake_id} kept in the run store")
    if out_dir is not None:
        data, markdown = write_intake(record, out_dir)
        app.say(f"intake record {data}, scorecard {markdown}")
    if as_json:
        app.emit_json(record.model_dump(mode="json", by_alias=True))
    else:
        print_intake(record)
    ctx.exit(exit_code(record.verdict))


def keep_intake(app: App, record: object) -> int:
    """Keep the intake record in the run store and append an ``intake`` event to the audit log; its id."""
    from harness.intake.record import IntakeRecord
    from harness.store.audit import record_event

    assert isinstance(record, IntakeRecord)
    data = record.model_dump(mode="json", by_alias=True)
    model = record.model.base + (f" + {record.model.adapter}" if record.model.adapter else "")
    intake_id = app.store.add_intake(
        data, created_at=record.created_at, fingerprint=record.model.fingerprint, model=model, verdict=record.verdict
    )
    payload = {
        "intake_id": intake_id,
        "model": model,
        "fingerprint": record.model.fingerprint,
        "verdict": record.verdict,
        "policy": record.policy.name,
        "record_sha256": canonical_sha256(data),
    }
    record_event(app.store, f"intake/{intake_id}", "intake", payload)
    return intake_id


def canonical_sha256(data: dict[str, object]) -> str:
    """SHA-256 of the record's canonical JSON (sorted keys, no spaces): what the audit entry vouches for."""
    import hashlib
    import json

    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def print_intake(record: object) -> None:
    from harness.intake.record import IntakeRecord
    from harness.intake.selection import outcome_mark

    assert isinstance(record, IntakeRecord)
    rows = [("OUTCOME", "CHECK", "MEASURED", "THRESHOLD")]
    rows += [(outcome_mark(r.outcome), r.label, r.value, r.threshold) for r in record.rows]
    App.table(rows)
    for row in record.rows:
        if row.outcome in ("fail", "warn", "review", "not-measured"):
            click.echo(f"  {row.label}: {row.evidence}")
    counts = {o: sum(r.outcome == o for r in record.rows) for o in ("pass", "warn", "fail", "review", "not-measured")}
    click.echo(
        f"verdict  {record.verdict.upper()} ({counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail, "
        f"{counts['review']} review, {counts['not-measured']} not measured) policy {record.policy.name}; "
        f"model {record.model.fingerprint}; weights not loaded"
    )
