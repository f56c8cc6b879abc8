"""``harness dossier``, ``harness signoff`` and ``harness audit``: documentation, sign-off, audit trail."""

from __future__ import annotations

import json
from pathlib import Path

import click

from harness.cli.app import App, pass_app
from harness.cli.options import PathType, Probability, Text
from harness.errors import HarnessError


class DossierGroup(click.Group):
    """``harness dossier RUN ...`` builds; ``harness dossier init|diff`` are subcommands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["build", *args]
        return super().parse_args(ctx, args)


@click.group(cls=DossierGroup)
def dossier() -> None:
    """EU AI Act documentation of a run: HTML and archival PDF (PDF/A-3b).

    \b
    harness dossier RUN --out DIR [--baseline RUN] [--dataset NAME@VERSION]... [--input provider.yaml] [--kind system|model] [--monitoring DIR]
    harness dossier init [provider.yaml]       commented template of the human input
    harness dossier diff OLD NEW               what changed between two releases
    harness dossier status RUN [FILE]          which renderings are signed
    """


@dossier.command("build")
@click.argument("run_ref", metavar="RUN", type=Text())
@click.option("--out", "out_dir", required=True, type=PathType(file_okay=False, path_type=Path), help="Output folder.")
@click.option(
    "--baseline",
    "baseline_ref",
    type=Text(),
    help="Baseline run: compared item by item for the change log (as harness gate --baseline).",
)
@click.option(
    "--dataset",
    "datasets",
    multiple=True,
    metavar="NAME@VERSION",
    help="Registered dataset for the provenance log. Repeatable.",
)
@click.option(
    "--input",
    "provider_path",
    type=PathType(dir_okay=False, path_type=Path),
    help="provider.yaml with the human input.",
)
@click.option(
    "--kind",
    type=click.Choice(["system", "model"]),
    help="Annex IV (system) or Annexes XI and XII (model) [default: system].",
)
@click.option(
    "--monitoring",
    "monitoring_path",
    type=PathType(path_type=Path),
    help="monitoring.json (or its folder) from harness monitor --out: the Art. 72 section shows its results.",
)
@click.option("--no-pdf", is_flag=True, help="Write the HTML only.")
@pass_app
def build(
    app: App,
    run_ref: str,
    out_dir: Path,
    baseline_ref: str | None,
    datasets: tuple[str, ...],
    provider_path: Path | None,
    kind: str | None,
    monitoring_path: Path | None,
    no_pdf: bool,
) -> None:
    """Write dossier.html, dossier.pdf, dossier.json and the Hugging Face README.md for RUN.

    With --baseline, the change log shows RUN against that baseline, compared item by
    item; without it, the comparison the gate's verdict was judged with.
    """
    from harness.gate.judging import paired_comparison
    from harness.gate.policy import load_policy
    from harness.reports.dossier import render_dossier
    from harness.reports.render import load_verdict

    result, run_dir = app.load_run(run_ref)
    comparison = None
    if baseline_ref:
        baseline, baseline_dir = app.load_run(baseline_ref)
        verdict = load_verdict(run_dir)
        alpha = load_policy(verdict.policy_path)[0].alpha if verdict and Path(verdict.policy_path).is_file() else 0.05
        comparison = paired_comparison(baseline, baseline_dir, result, run_dir, alpha=alpha)
        if comparison is None:
            raise HarnessError(f"{baseline_ref}: no item records beside the run, so no paired comparison can be made")
    paths = render_dossier(
        run_dir,
        out_dir,
        store=app.store,
        datasets=list(datasets),
        provider_path=provider_path,
        kind=kind,
        comparison=comparison,
        pdf=not no_pdf,
        monitoring=monitoring_path,
    )
    click.echo(f"html     {paths.html}")
    if paths.pdf:
        click.echo(f"pdf      {paths.pdf}  (PDF/A-3b)")
    click.echo(f"json     {paths.json}")
    click.echo(f"card     {paths.readme}  (Hugging Face README form)")
    click.echo(f"release  {paths.release}")
    if paths.placeholders:
        click.echo(f"{len(paths.placeholders)} item(s) need human input:")
        for number, label in enumerate(paths.placeholders, start=1):
            click.echo(f"  [{number}] {label}")
    click.echo("this rendering is not signed: harness signoff binds a decision to its SHA-256")


@dossier.command("init")
@click.argument("path", default="provider.yaml", type=PathType(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented provider.yaml template (every field the dossier asks a person for)."""
    from harness.files.atomic import atomic_write_text
    from harness.reports.provider import template_text

    if path.exists() and not force:
        raise HarnessError(f"{path} exists; pass --force to overwrite it")
    atomic_write_text(path, template_text())
    click.echo(f"written  {path}")


@dossier.command("diff")
@click.argument("old_ref", metavar="OLD", type=Text())
@click.argument("new_ref", metavar="NEW", type=Text())
@click.option("--alpha", default=0.05, show_default=True, type=Probability())
@click.option("--json", "as_json", is_flag=True)
def diff(old_ref: str, new_ref: str, alpha: float, as_json: bool) -> None:
    """What changed between two dossiers (folders or dossier.json): model, verdict, data, risks, metrics.

    Metric changes are tested item by item when both runs are still at hand.
    """
    from harness.reports.dossier import diff_dossiers

    report = diff_dossiers(old_ref, new_ref, alpha=alpha)
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    old, new = report["old"], report["new"]
    click.echo(f"old  {old['run_id']}  {old['fingerprint'][:19]}  verdict {old['verdict']}  ({old['generated_at']})")
    click.echo(f"new  {new['run_id']}  {new['fingerprint'][:19]}  verdict {new['verdict']}  ({new['generated_at']})")
    click.echo(f"model {'changed' if report['model_changed'] else 'unchanged'}")
    if old.get("release") != new.get("release"):
        click.echo(f"release  {old.get('release')} -> {new.get('release')}")
    for change in report["human_input_changes"]:
        click.echo(f"human input {change['field']}: {_short(change['old'])} -> {_short(change['new'])}")
    if not report["human_input_compared"]:
        click.echo("human input not compared: a dossier predates recording it (render both again)")
    for ref in report["datasets_added"]:
        click.echo(f"dataset added    {ref}")
    for ref in report["datasets_removed"]:
        click.echo(f"dataset removed  {ref}")
    for r in report["risk_changes"]:
        what = ", ".join(
            f"{k} {_short(v[0])} -> {_short(v[1])}" if isinstance(v, list) else k for k, v in r["changed"].items()
        )
        click.echo(f"risk {r['id']}: {what}")
    shown = [d for d in report["metric_deltas"] if d["significant"] or (not d["breakdown"] and d["change"] != 0)]
    for d in shown:
        test = (
            f"p={d['p_value']:.3g}{' significant' if d['significant'] else ''}"
            if d["p_value"] is not None
            else "not tested"
        )
        click.echo(f"  {d['metric']:<40} {d['old']:.4f} -> {d['new']:.4f} ({d['change']:+.4f}) {test}")
    if not report["tested"]:
        click.echo("the runs are not at hand: changes are shown without significance tests")


@dossier.command("status")
@click.argument("run_ref", metavar="RUN", type=Text())
@click.argument("file", required=False, type=PathType(dir_okay=False, path_type=Path))
@pass_app
def status(app: App, run_ref: str, file: Path | None) -> None:
    """Which renderings of RUN's dossier are signed; with FILE, whether that file is the one signed.

    A rendering is signed only when the run's latest sign-off names exactly its SHA-256;
    a later rendering, with any change, is a new file and is not signed until signed.
    """
    from harness.files.hashing import sha256_file
    from harness.reports.dossier import recorded_renderings, rendering_hashes, signature_status

    result, _ = app.load_run(run_ref)
    renderings = recorded_renderings(app.store, result.run_id)
    if file is not None:
        if not file.is_file():
            raise HarnessError(f"{file}: no such dossier file")
        digest = sha256_file(file)
        if not any(digest in rendering_hashes(r) for r in renderings):
            raise HarnessError(
                f"{file} (sha256 {digest[:16]}…) is not a rendering harness recorded for run {result.run_id}"
            )
        signed, why = signature_status(app.store, result.run_id, digest)
        click.echo(f"{file}  sha256 {digest}")
        click.echo(why)
        if not signed:
            click.get_current_context().exit(1)
        return
    if not renderings:
        click.echo(f"run {result.run_id} has no dossier yet: run harness dossier {run_ref} --out DIR first")
        return
    for r in renderings:
        digest = r.get("pdf_sha256") or r.get("html_sha256") or ""
        _, why = signature_status(app.store, result.run_id, digest)
        click.echo(f"{r.get('created_at', '')}  {r.get('pdf') or r.get('html')}  sha256 {digest[:16]}…  {why}")


@click.command()
@click.argument("run_ref", metavar="RUN", type=Text())
@click.option("--by", "by", required=True, type=Text(), help="Who signs (name).")
@click.option("--role", required=True, type=Text(), help="Their role, e.g. 'release manager'.")
@click.option("--decision", required=True, type=click.Choice(["approve", "reject"]))
@click.option("--note", help="Free text kept with the decision.")
@click.option(
    "--dossier",
    "dossier_path",
    type=PathType(dir_okay=False, path_type=Path),
    help="The rendering signed: a dossier.pdf or dossier.html harness recorded for RUN [default: the latest].",
)
@pass_app
def signoff(
    app: App, run_ref: str, by: str, role: str, decision: str, note: str | None, dossier_path: Path | None
) -> None:
    """Record a dated sign-off of one rendering of RUN's dossier in the signed audit log (Annex IV 2(g), Art. 14).

    The decision binds to that file's SHA-256: a later rendering, with any change, is a
    different file and is shown unsigned until it is signed itself.
    """
    from harness.files.hashing import sha256_file
    from harness.reports.dossier import recorded_renderings, rendering_hashes
    from harness.schema.results import load_results, resolve_results_path
    from harness.store.audit import append_entry

    store = app.store
    result = load_results(resolve_results_path(app.resolve_run(run_ref)))
    renderings = recorded_renderings(store, result.run_id)
    if dossier_path is None:
        if not renderings:
            raise HarnessError(f"run {result.run_id} has no dossier yet: run harness dossier {run_ref} --out DIR first")
        latest = renderings[-1]
        dossier_path = Path(latest.get("pdf") or latest["html"])
        recorded = latest.get("pdf_sha256") or latest["html_sha256"]
        if not dossier_path.is_file():
            raise HarnessError(f"{dossier_path}: the run's dossier is gone; render it again")
        digest = sha256_file(dossier_path)
        if digest != recorded:
            raise HarnessError(f"{dossier_path} changed since harness rendered it; render it again before signing")
    else:
        if not dossier_path.is_file():
            raise HarnessError(f"{dossier_path}: no such dossier file")
        digest = sha256_file(dossier_path)
        if not any(digest in rendering_hashes(r) for r in renderings):
            raise HarnessError(
                f"{dossier_path} (sha256 {digest[:16]}…) is not a rendering harness recorded for run "
                f"{result.run_id}: sign a dossier harness dossier rendered for this run, unchanged"
            )
    row = append_entry(
        store,
        result.run_id,
        "signoff",
        {
            "by": by,
            "role": role,
            "decision": decision,
            "note": note,
            "dossier": str(dossier_path.resolve()),
            "dossier_sha256": digest,
            "fingerprint": result.model.fingerprint,
        },
    )
    click.echo(f"{decision.upper()} by {by} ({role}) recorded for {result.run_id}")
    click.echo(f"dossier  {dossier_path}  sha256 {digest}")
    click.echo(f"audit head {row['entry_hash']}")


@click.group()
def audit() -> None:
    """The hash-chained, signed audit log: sign-offs, gates, trainings, promotions, renderings.

    Each entry is chained to the one before by SHA-256 and signed with the Ed25519 key in
    HARNESS_AUDIT_KEY [default: $HARNESS_HOME/keys/audit-ed25519.pem, created on first use].
    Keep that key away from whoever can write the run store: then an edited, reordered,
    deleted or forged entry is detected by ``harness audit verify``.
    """


@audit.command("verify")
@click.option("--head", help="A head hash recorded earlier: also detects entries removed from the end.")
@click.pass_context
def verify(ctx: click.Context, head: str | None) -> None:
    """Recompute the hash chain and check every signature and recorded head; exit 1 on any problem.

    Verdicts and dossiers record the head they saw, so entries removed from the end of the
    log are detected too.
    """
    from harness.store.audit import verify_chain

    app = ctx.find_object(App)
    assert app is not None
    check = verify_chain(app.store, head=head)
    if check.ok:
        click.echo(f"OK  {check.entries} entries, chain intact, head {check.head}")
        if check.key:
            click.echo(f"    signatures checked against key {check.key}")
        if check.unsigned_before_signing:
            click.echo(f"    {check.unsigned_before_signing} leading entries predate signing (hash-chained, unsigned)")
        click.echo(f"    {check.heads_checked} recorded heads (verdicts, dossiers) found in the log")
        return
    for problem in check.problems:
        click.echo(f"BROKEN  {problem}", err=True)
    ctx.exit(1)


@audit.command("log")
@click.option("--run", "run_id", help="Only this run's entries.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def log(app: App, run_id: str | None, as_json: bool) -> None:
    """List audit entries, oldest first."""
    rows = app.store.audit_rows(run_id)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        click.echo("the audit log is empty")
        return
    for r in rows:
        click.echo(
            f"{r['id']:>4} {r['created_at']} {r['run_id']:<28} {r['action']:<10} {_summary(r['entry'])}  {r['entry_hash'][:12]}"
        )


def _short(value: object, width: int = 60) -> str:
    """A changed value on one line: lists as S x L, text cut at ``width`` characters."""
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return " x ".join("?" if v is None else str(v) for v in value)
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _summary(entry: dict[str, object]) -> str:
    """One line on what an audit entry records."""
    action = entry.get("action")
    if action == "signoff":
        return f"{str(entry.get('decision', '')).upper()} by {entry.get('by', '-')} ({entry.get('role', '-')})"
    if action == "rendering":
        return f"{entry.get('kind')} {str(entry.get('pdf_sha256') or entry.get('html_sha256') or '')[:16]}…"
    if action == "gate":
        baseline = entry.get("baseline_run_id")
        return f"{str(entry.get('verdict', '')).upper()} under {entry.get('policy')}" + (
            f" vs {baseline}" if baseline else ""
        )
    details = ", ".join(
        f"{k}={v}"
        for k, v in entry.items()
        if k not in {"created_at", "run_id", "action", "signing_key"}
        and isinstance(v, (str, int, float))
        and not str(k).endswith("sha256")
    )
    return details[:100]
