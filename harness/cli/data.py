"""``harness data``: register, verify, validate and audit the data a model is trained and tested on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from harness.cli.app import App, pass_app
from harness.cli.options import BOOTSTRAP, PathType, Text
from harness.errors import HarnessError

_echo_json = App.emit_json


@click.group()
def data() -> None:
    """Versioned datasets and their evidence (EU AI Act Art. 10).

    \b
    harness data register FILE --name NAME [--version X.Y.Z] [--source TYPE:ID[:EXPERT]]...
    harness data verify NAME@VERSION FILE
    harness data validate FILE --expectations SUITE.yaml [--dataset NAME@VERSION]
    harness data agreement RATINGS.csv [--dataset NAME@VERSION]
    harness data resolve RATINGS.csv --out DIR [--items FILE] [--dataset NAME@VERSION]
    harness data lineage NAME@VERSION | list | show NAME@VERSION
    """


@data.command("register")
@click.argument("file", type=PathType(path_type=Path))
@click.option("--name", required=True, type=Text(), help="Dataset name: lowercase letters, digits, - and _.")
@click.option("--version", help="Semantic version X.Y.Z [default: 1.0.0, or the next minor for new content].")
@click.option(
    "--source",
    "sources",
    multiple=True,
    metavar="TYPE:ID[:EXPERT]",
    help="Where the data came from (interview, sop, after-action-report, oracle-labels, public-benchmark, "
    "expert-annotation, synthetic, ...). Repeatable.",
)
@click.option("--license", "license_", metavar="SPDX", help="Licence, as an SPDX identifier.")
@click.option("--contributor", "contributors", multiple=True, help="A person or team who contributed. Repeatable.")
@click.option("--description", help="One line on what the data is.")
@click.option("--parent", metavar="NAME@VERSION", help="The version this one was derived from.")
@click.option("--transform", help="How it was derived from --parent (e.g. 'dedup + conflict resolution').")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
@pass_app
def register(
    app: App,
    file: Path,
    name: str,
    version: str | None,
    sources: tuple[str, ...],
    license_: str | None,
    contributors: tuple[str, ...],
    description: str | None,
    parent: str | None,
    transform: str | None,
    as_json: bool,
) -> None:
    """Register FILE (jsonl, csv or parquet) as a dataset version: hash, rows, columns, sources, lineage.

    The same content registered again changes nothing; other content under an existing
    version is refused.
    """
    from harness.data.registry import parse_source, register_dataset

    record, created = register_dataset(
        app.store,
        file,
        name=name,
        version=version,
        sources=[parse_source(s) for s in sources],
        license=license_,
        description=description,
        contributors=list(contributors),
        parent=parent,
        transform=transform,
    )
    if as_json:
        _echo_json(record.model_dump(mode="json") | {"created": created})
        return
    verb = "registered" if created else "already registered (same content, nothing changed)"
    click.echo(f"{record.ref}  {verb}")
    click.echo(f"  sha256   {record.sha256}")
    click.echo(
        f"  rows     {record.rows}, {len(record.columns)} columns ({', '.join(c['name'] for c in record.columns)})"
    )
    if record.parent:
        click.echo(f"  parent   {record.parent} ({record.transform})")


@data.command("verify")
@click.argument("ref", metavar="NAME@VERSION")
@click.argument("file", type=PathType(path_type=Path))
@pass_app
def verify(app: App, ref: str, file: Path) -> None:
    """Check that FILE holds exactly the registered bytes of NAME@VERSION (exit 1 if not)."""
    from harness.data.registry import verify_dataset

    ok, record, actual = verify_dataset(app.store, ref, file)
    if ok:
        click.echo(f"OK  {file} is {record.ref} (sha256 {actual})")
        return
    click.echo(f"MISMATCH  {file} is not {record.ref}: sha256 {actual}, registered {record.sha256}", err=True)
    click.get_current_context().exit(1)


@data.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_datasets(app: App, as_json: bool) -> None:
    """List registered dataset versions and which evidence each has."""
    store = app.store
    records = store.datasets()
    if as_json:
        _echo_json(records)
        return
    if not records:
        click.echo("no datasets registered (harness data register FILE --name NAME)")
        return
    click.echo(f"{'dataset':<34} {'rows':>6} {'sha256':<14} {'created':<26} evidence")
    for r in records:
        evidence = ", ".join(sorted(store.evidence(r["name"], r["version"]))) or "-"
        click.echo(
            f"{r['name'] + '@' + r['version']:<34} {r['rows']:>6} {r['sha256'][:12]:<14} {r['created_at']:<26} {evidence}"
        )


@data.command("lineage")
@click.argument("ref", metavar="NAME@VERSION")
@pass_app
def lineage_command(app: App, ref: str) -> None:
    """Print where NAME@VERSION came from and what was derived from it."""
    from harness.data.registry import lineage

    ancestors, tree = lineage(app.store, ref)
    for depth, a in enumerate(ancestors):
        click.echo("  " * depth + f"{a.ref}  {a.sha256[:12]}" + (f"  <- {a.transform}" if a.transform else ""))
    base = len(ancestors)
    for depth, r in tree:
        marker = "  (this version)" if depth == 0 else ""
        click.echo(
            "  " * (base + depth)
            + f"{r.ref}  {r.sha256[:12]}"
            + (f"  <- {r.transform}" if r.transform else "")
            + marker
        )


@data.command("show")
@click.argument("ref", metavar="NAME@VERSION")
@click.option("--out", type=PathType(dir_okay=False, path_type=Path), help="Also write provenance.json here.")
@pass_app
def show(app: App, ref: str, out: Path | None) -> None:
    """Print the provenance of NAME@VERSION (record, lineage, validation, agreement, conflicts) as JSON."""
    from harness.data.registry import provenance, write_provenance

    store = app.store
    if out:
        write_provenance(store, ref, out)
    _echo_json(provenance(store, ref))


def _attach(app: App, ref: str | None, kind: str, payload: dict[str, Any]) -> None:
    if ref is None:
        return
    from harness.data.registry import add_evidence

    path = add_evidence(app.store, ref, kind, payload)
    click.echo(f"stored with {ref}; provenance: {path}")


@data.command("validate")
@click.argument("file", type=PathType(path_type=Path))
@click.option(
    "--expectations",
    "suite_path",
    required=True,
    type=PathType(path_type=Path),
    help="Expectation suite YAML (Great Expectations types and arguments).",
)
@click.option(
    "--dataset",
    "ref",
    metavar="NAME@VERSION",
    help="Store the result with this registered version (FILE must match it).",
)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def validate(app: App, file: Path, suite_path: Path, ref: str | None, as_json: bool) -> None:
    """Check FILE against an expectation suite with Great Expectations; exit 1 if any expectation fails."""
    from harness.data.expectations import load_expectation_suite, validate_frame
    from harness.data.tables import read_table

    load_expectation_suite(suite_path)  # a bad suite fails before the data is read
    if ref is not None:
        _require_match(app, ref, file)
    frame = read_table(file)
    report = validate_frame(frame, suite_path, data_label=str(file))
    _attach(app, ref, "validation", report.model_dump(mode="json"))
    if as_json:
        _echo_json(report.model_dump(mode="json"))
    else:
        click.echo(
            f"{report.suite}: {report.passed} of {report.evaluated} expectations passed on {report.rows} rows ({file})"
        )
        line_offset = 2 if file.suffix.lower() == ".csv" else 1
        for o in report.outcomes:
            where = f" [{o.column}]" if o.column else ""
            if o.success:
                click.echo(f"  PASS  {o.type}{where}")
                continue
            click.echo(
                f"  FAIL  {o.type}{where}: {o.unexpected_count if o.unexpected_count is not None else '?'} unexpected"
                + (f" (observed {o.observed_value})" if o.observed_value is not None else "")
            )
            if o.unexpected_rows:
                lines = ", ".join(str(r + line_offset) for r in o.unexpected_rows[:10])
                click.echo(f"        lines {lines}{' ...' if len(o.unexpected_rows) > 10 else ''}")
            if o.examples:
                click.echo(f"        e.g. {', '.join(repr(e)[:60] for e in o.examples[:3])}")
    click.get_current_context().exit(0 if report.success else 1)


@data.command("agreement")
@click.argument("ratings", type=PathType(path_type=Path))
@click.option("--dataset", "ref", metavar="NAME@VERSION", help="Store the result with this registered version.")
@click.option(
    "--bootstrap", default=1000, show_default=True, type=BOOTSTRAP, help="Bootstrap resamples for the intervals."
)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def agreement(app: App, ratings: Path, ref: str | None, bootstrap: int, as_json: bool) -> None:
    """Inter-rater agreement of a long-format RATINGS file (item_id, rater_id, label and/or score).

    Cohen's kappa per pair of raters and their mean (target > 0.7), Fleiss' kappa,
    Krippendorff's alpha (nominal on labels, ordinal on scores), ICC(2,1) and ICC(3,1)
    on scores, each with a bootstrap 95% interval over items.
    """
    from harness.data.agreement import agreement_report
    from harness.schema.format import format_metric

    report = agreement_report(ratings, n_boot=bootstrap)
    _attach(app, ref, "agreement", report.model_dump(mode="json"))
    if as_json:
        _echo_json(report.model_dump(mode="json"))
        return
    click.echo(f"{report.n_items} items, raters {', '.join(report.raters)}, {report.missing_ratings} missing ratings")
    for p in report.pairwise:
        click.echo(
            f"  cohen_kappa {p.rater_a} vs {p.rater_b}: {'-' if p.kappa is None else f'{p.kappa:.4f}'} (n={p.n})"
        )
    for m in report.metrics:
        click.echo(f"  {m.name:<28} {format_metric(m)}")
    click.echo(report.interpretation)


@data.command("resolve")
@click.argument("ratings", type=PathType(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=PathType(file_okay=False, path_type=Path),
    help="Folder for resolved.jsonl and conflicts.json.",
)
@click.option(
    "--items",
    "items_path",
    type=PathType(path_type=Path),
    help="The dataset (jsonl) to write back with resolved labels and dispute metadata.",
)
@click.option("--id-field", default="id", show_default=True, type=Text(), help="Item id field in --items.")
@click.option("--label-field", default="decision", show_default=True, type=Text(), help="Label field in --items.")
@click.option(
    "--dataset", "ref", metavar="NAME@VERSION", help="Store the conflict report with this registered version."
)
@pass_app
def resolve(
    app: App, ratings: Path, out_dir: Path, items_path: Path | None, id_field: str, label_field: str, ref: str | None
) -> None:
    """Apply the conflict-resolution protocol to RATINGS: majority with 3+ raters, ties to a third expert.

    A disagreement is a different label, or confidences more than 0.3 apart. Disputed
    items keep the alternative view and their agreement share.
    """
    from harness.data.conflicts import apply_resolution, resolve_ratings
    from harness.data.tables import read_records
    from harness.files.atomic import atomic_write_json, atomic_write_jsonl

    report = resolve_ratings(ratings)
    if items_path is not None:
        rows = read_records(items_path, required=(id_field,))
        resolved_rows = apply_resolution(rows, report, id_field=id_field, label_field=label_field)
    else:
        resolved_rows = [i.model_dump(mode="json") for i in report.items]
    atomic_write_jsonl(out_dir / "resolved.jsonl", resolved_rows)
    atomic_write_json(out_dir / "conflicts.json", report.model_dump(mode="json"))
    _attach(app, ref, "conflicts", report.as_evidence())
    click.echo(
        f"{report.n_items} items: {report.agreed} agreed, {report.resolved_by_majority} by majority, "
        f"{report.needs_third_expert} need a third expert, {report.needs_second_rater} have a single rating; "
        f"{report.disputed} disputed"
    )
    for item in report.items:
        if item.status == "needs-third-expert":
            click.echo(f"  third expert needed: {item.item_id}  votes {item.votes}")
    click.echo(f"written  {out_dir / 'resolved.jsonl'}, {out_dir / 'conflicts.json'}")


def _require_match(app: App, ref: str, file: Path) -> None:
    from harness.data.registry import verify_dataset

    ok, record, actual = verify_dataset(app.store, ref, file)
    if not ok:
        raise HarnessError(f"{file} is not {record.ref} (sha256 {actual[:12]}…, registered {record.sha256[:12]}…)")
