"""``harness report``: a stored run rendered as HTML and PDF."""

from __future__ import annotations

from pathlib import Path

import click

from harness.cli.app import App, pass_app
from harness.cli.options import PathType, Text


@click.command()
@click.argument("run_ref", metavar="RUN", type=Text())
@click.option("--out", "out_dir", required=True, type=PathType(file_okay=False, path_type=Path), help="Output folder.")
@click.option("--no-pdf", is_flag=True, help="Write the HTML only.")
@pass_app
def report(app: App, run_ref: str, out_dir: Path, no_pdf: bool) -> None:
    """Render RUN's results (and its gate verdict, if any) as HTML and an archival PDF (PDF/A-3b).

    The rendering is appended to the signed audit log with its files' SHA-256.
    """
    from harness.reports.render import render_report

    paths = render_report(app.resolve_run(run_ref), out_dir, pdf=not no_pdf, store=app.store)
    click.echo(f"html     {paths.html}")
    if paths.pdf:
        click.echo(f"pdf      {paths.pdf}  (PDF/A-3b)")
