"""``harness gate``: a policy applied to a stored run; the exit code CI reads."""

from __future__ import annotations

from pathlib import Path

import click

from harness.cli.app import App
from harness.cli.options import CI_SUMMARY_HINT, PathType, Text
from harness.files.shipped import shipped_policy_names


@click.command()
@click.argument("run_ref", metavar="RUN", type=Text())
@click.option(
    "--policy",
    "policy_ref",
    required=True,
    type=Text(),
    help="Policy YAML file, or the name of a shipped policy: " + ", ".join(shipped_policy_names()) + ".",
)
@click.option(
    "--baseline",
    "baseline_ref",
    type=Text(),
    help="Baseline run for max_drop rules (directory, results.json or run id).",
)
@click.option(
    "--dataset",
    "datasets",
    multiple=True,
    metavar="NAME@VERSION",
    help="A registered dataset whose evidence rules on data.<name>.* (or data.*.*) judge. Repeatable.",
)
@click.option("--junit", "junit_path", type=PathType(dir_okay=False, path_type=Path), help="Write JUnit XML here.")
@click.option(
    "--markdown",
    "markdown_path",
    type=PathType(dir_okay=False, path_type=Path, empty_hint=CI_SUMMARY_HINT),
    help="Write a Markdown summary here (e.g. $GITHUB_STEP_SUMMARY).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@click.option(
    "--server",
    metavar="URL",
    type=Text(),
    help="Gate on a `harness serve` service (token from HARNESS_TOKEN): the run is named by its id when the "
    "service's store has it (nothing is uploaded), else by its folder, which the service must reach.",
)
@click.pass_context
def gate(
    ctx: click.Context,
    run_ref: str,
    policy_ref: str,
    baseline_ref: str | None,
    datasets: tuple[str, ...],
    junit_path: Path | None,
    markdown_path: Path | None,
    as_json: bool,
    server: str | None,
) -> None:
    """Judge a stored RUN against a policy; exit 0 pass, 1 fail, 2 bad input.

    A blocking rule whose metric was not measured fails the gate. The verdict is kept as
    verdicts/<policy>--<baseline>.json in the run directory (verdict.json is the latest),
    recorded in the run store and appended to the audit log. With --server, the service's
    gate job does all of that in the service's store, and this command prints the same
    verdict and exits with the same code.
    """
    from harness.cli.printing import print_verdict
    from harness.files.atomic import atomic_write_text
    from harness.gate.ci_exports import verdict_to_junit, verdict_to_markdown
    from harness.gate.judging import judge_run

    app = ctx.find_object(App)
    assert app is not None
    if server is not None:
        from harness.service.client import remote_gate

        verdict = remote_gate(
            server, run_ref, policy_ref, baseline_ref, list(datasets), lambda line: app.say(line, tag="server")
        )
    else:
        result, run_dir = app.load_run(run_ref)
        baseline, baseline_dir = app.load_run(baseline_ref) if baseline_ref else (None, None)
        verdict = judge_run(policy_ref, result, run_dir, baseline, app.store, baseline_dir, list(datasets))
    if junit_path:
        atomic_write_text(junit_path, verdict_to_junit(verdict))
    if markdown_path:
        atomic_write_text(markdown_path, verdict_to_markdown(verdict))
    if as_json:
        app.emit_json(verdict.model_dump(mode="json"))
    else:
        print_verdict(verdict)
    ctx.exit(verdict.exit_code)
