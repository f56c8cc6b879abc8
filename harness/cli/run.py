"""``harness run``, ``harness runs`` and ``harness compare``: evaluate, list, compare runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from harness.cli.app import App, pass_app
from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.schema.results import RunResult


def parse_suites(value: str) -> list[str]:
    names = [s.strip() for s in value.split(",") if s.strip()]
    if not names:
        raise HarnessError("--suites names no suite")
    from harness.suites import get_suites

    get_suites(names)  # unknown names fail here, before anything heavy happens
    return names


@click.command()
@click.argument("base")
@click.option("--adapter", help="PEFT (LoRA) adapter directory applied on top of BASE.")
@click.option("--suites", "suites_text", default="mmlu,gsm8k", show_default=True, help="Comma-separated suites.")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    help="Local benchmark data (mmlu/, gsm8k/) [default: $HARNESS_DATA_DIR, else the hub].",
)
@click.option("--limit", type=int, help="First N items of each MMLU subject and of GSM8K (deterministic).")
@click.option("--num-fewshot", type=int, help="Few-shot examples [default: 0 for MMLU, 5 for GSM8K].")
@click.option(
    "--max-gen-toks", type=int, help="Cap on generated tokens for generation suites [default: lm-eval's 256]."
)
@click.option("--batch-size", default=8, show_default=True, help="Batch size for the model.")
@click.option(
    "--out",
    "out_dir",
    default="runs",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder that receives the run directory.",
)
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Continue an interrupted run directory (its suites already finished are reused).",
)
@click.option("--revision", help="Hub revision of BASE.")
@click.option(
    "--dtype", default="float32", show_default=True, type=click.Choice(["float32", "bfloat16", "float16", "auto"])
)
@click.option("--device", default="cpu", show_default=True, help="torch device, e.g. cpu, cuda:0.")
@click.option("--allow-pickle", is_flag=True, help="Accept pickle weights (*.bin); they can run code when loaded.")
@click.option("--trust-remote-code", is_flag=True, help="Run model code shipped with BASE (off by default).")
@click.option(
    "--no-cache",
    is_flag=True,
    help="Ask the model everything again: no response cache, no reuse of item records from earlier runs.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@pass_app
def run(
    app: App,
    base: str,
    adapter: str | None,
    suites_text: str,
    data_dir: Path | None,
    limit: int | None,
    num_fewshot: int | None,
    max_gen_toks: int | None,
    batch_size: int,
    out_dir: Path,
    resume_dir: Path | None,
    revision: str | None,
    dtype: str,
    device: str,
    allow_pickle: bool,
    trust_remote_code: bool,
    no_cache: bool,
    as_json: bool,
) -> None:
    """Evaluate BASE (a model directory or hub id) on the suites; write a run directory.

    The run directory holds results.json (schema in harness/schema/results.schema.json),
    items.jsonl (one record per item) and the engines' raw output. Every run is indexed
    in the run store (see `harness runs`). Items this model (same files, same dtype) has
    already answered in an earlier run are reused, so a rerun of an unchanged model asks
    it nothing.
    """
    from harness.models.modelref import ModelRef
    from harness.paths import cache_dir, resolve_data_dir
    from harness.runner.execute import execute_run
    from harness.runner.spec import RunSpec

    if limit is not None and limit < 1:
        raise HarnessError(f"--limit must be a positive number of items, got {limit}")
    if num_fewshot is not None and num_fewshot < 0:
        raise HarnessError(f"--num-fewshot must be 0 or more, got {num_fewshot}")
    if resume_dir is not None:
        spec = RunSpec.load(resume_dir)
    else:
        resolved = resolve_data_dir(data_dir)
        spec = RunSpec(
            model=ModelRef(
                base=base,
                adapter=adapter,
                revision=revision,
                dtype=dtype,
                device=device,
                allow_pickle=allow_pickle,
                trust_remote_code=trust_remote_code,
            ),
            suites=parse_suites(suites_text),
            data_dir=str(resolved) if resolved else None,
            limit=limit,
            num_fewshot=num_fewshot,
            batch_size=batch_size,
            gen_kwargs={"max_gen_toks": max_gen_toks} if max_gen_toks else {},
        )
    result, run_dir = execute_run(
        spec,
        out_dir,
        store=app.store,
        cache_root=None if no_cache else cache_dir(),
        data_cache=cache_dir(),
        resume_dir=resume_dir,
        progress=app.say,
    )
    print_run(result, run_dir, as_json)


def print_run(result: RunResult, run_dir: Path, as_json: bool) -> None:
    from harness.schema.format import format_metric

    if as_json:
        App.emit_json(
            {
                "run_id": result.run_id,
                "run_dir": str(run_dir),
                "fingerprint": result.model.fingerprint,
                "metrics": [m.model_dump() for m in result.metrics],
                "suite_status": {k: v.model_dump() for k, v in result.suite_status.items()},
            }
        )
        return
    click.echo(f"run      {result.run_id}")
    click.echo(f"model    {result.model.base}" + (f" + {result.model.adapter}" if result.model.adapter else ""))
    click.echo(f"         {result.model.fingerprint}")
    for name, status in result.suite_status.items():
        if status.status == "skipped":
            click.echo(f"{name:<8} skipped: {status.reason}")
    for m in result.metrics:
        if m.scope == "subject":
            continue
        click.echo(f"{m.name:<28} {format_metric(m)}")
    click.echo(f"written  {run_dir}")


@click.command()
@click.option("--limit", default=20, show_default=True, help="How many recent runs to list.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_app
def runs(app: App, limit: int, as_json: bool) -> None:
    """List runs in the run store, newest first."""
    rows = app.store.runs(limit=limit)
    if as_json:
        app.emit_json([row.__dict__ for row in rows])
        return
    if not rows:
        click.echo("no runs yet (harness run ... or harness demo)")
        return
    click.echo(f"{'run id':<26} {'created':<25} {'fingerprint':<16} {'model':<30} headline")
    for row in rows:
        model_name = Path(row.model_base).name + (" +" + Path(row.model_adapter).name if row.model_adapter else "")
        heads = ", ".join(
            f"{k}={v['value']:.3f} (n={v['n']})" for k, v in row.headline.items() if v.get("value") is not None
        )
        click.echo(f"{row.run_id:<26} {row.created_at:<25} {row.fingerprint[7:19]:<16} {model_name[:30]:<30} {heads}")


@click.command()
@click.argument("reference_ref", metavar="RUN_A")
@click.argument("candidate_ref", metavar="RUN_B")
@click.option(
    "--alpha",
    default=0.05,
    show_default=True,
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    help="Significance level of McNemar's exact test.",
)
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="Also list per-subject and per-group rows that did not change significantly.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@pass_app
def compare(app: App, reference_ref: str, candidate_ref: str, alpha: float, show_all: bool, as_json: bool) -> None:
    """Compare RUN_B with RUN_A item by item: an offline A/B test of two models.

    For every accuracy-like metric both runs measured: the change B - A, its paired-
    bootstrap 95% interval and McNemar's exact p-value over the items both runs saw with
    the same prompt. ECE, Brier and NLL get a paired bootstrap test; other shared
    metrics (gaps, drops) show their plain difference.
    """
    from harness.comparison import compare_run_dirs

    comparison = compare_run_dirs(app.resolve_run(reference_ref), app.resolve_run(candidate_ref), alpha=alpha)
    if as_json:
        app.emit_json(comparison.model_dump(mode="json"))
        return
    click.echo(f"A (reference)  {comparison.reference_run}  {comparison.reference_fingerprint[:19]}")
    click.echo(f"B (candidate)  {comparison.candidate_run}  {comparison.candidate_fingerprint[:19]}")
    rows = [("METRIC", "A", "B", "B - A (95% CI)", "REL.", "p", "n", "")]
    hidden = 0
    for c in comparison.comparisons:
        if c.scope in ("subject", "group") and not show_all and not c.significant:
            hidden += 1
            continue
        change = "-" if c.change is None else f"{c.change:+.4f}"
        if c.ci_low is not None and c.ci_high is not None:
            change += f" [{c.ci_low:+.4f}, {c.ci_high:+.4f}]"
        rows.append(
            (
                c.metric,
                "-" if c.reference is None else f"{c.reference:.4f}",
                "-" if c.candidate is None else f"{c.candidate:.4f}",
                change,
                "-" if c.relative_change is None else f"{c.relative_change:+.1%}",
                "unpaired"
                if not c.paired
                else "-"
                if c.p_value is None
                else f"{c.p_value:.3g}" + (" (bootstrap)" if c.test == "paired-bootstrap" else ""),
                str(c.n),
                "significant" if c.significant else "",
            )
        )
    app.table(rows)
    significant = sum(bool(c.significant) for c in comparison.comparisons)
    click.echo(
        f"{significant} significant change(s) at alpha {alpha:g}; {comparison.unmatched_items} item(s) not in both runs"
        + (f"; {hidden} unchanged detail row(s) hidden (--all shows them)" if hidden else "")
    )
