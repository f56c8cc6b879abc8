"""The ``harness`` command line.

Start-up stays light: torch, lm-eval, transformers and WeasyPrint are imported inside
the commands that need them, never at module level.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from harness import __version__
from harness.errors import HarnessError

EPILOG = "Exit codes: 0 pass or success, 1 gate failed, 2 usage or input error."


class HarnessGroup(click.Group):
    """Turns every user-facing error into one line on stderr and exit code 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        argv = kwargs.get("args")
        debug = "--debug" in (argv if argv is not None else sys.argv[1:])
        try:
            kwargs.pop("standalone_mode", None)
            code = super().main(*args, standalone_mode=False, **kwargs)
            sys.exit(code if isinstance(code, int) else 0)  # ctx.exit(n) comes back as n here
        except HarnessError as exc:
            if debug:
                raise
            click.echo(f"harness: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("harness: aborted", err=True)
            sys.exit(130)
        except click.ClickException as exc:
            if debug:
                raise
            click.echo(f"harness: error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)


def _emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False))


@click.group(cls=HarnessGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harness")
@click.option("--store", "store_url", envvar="HARNESS_STORE", metavar="URL",
              help="Run store as an SQLAlchemy URL [default: SQLite file under HARNESS_HOME or the user data dir].")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def main(ctx: click.Context, store_url: str | None, debug: bool) -> None:
    """Evaluate fine-tuned language models and gate their release.

    \b
    Typical flow:
      harness run MODEL_DIR --suites mmlu,gsm8k --data-dir DATA   evaluate into runs/<run_id>/
      harness gate runs/<run_id> --policy baseline-minimums        verdict, exit code for CI
      harness report runs/<run_id> --out report/                    HTML and PDF report
      harness demo                                                  all of it on a tiny model, offline
    """
    ctx.obj = {"store_url": store_url, "debug": debug}


def _store(ctx: click.Context) -> Any:
    from harness.store import RunStore

    return RunStore(ctx.obj.get("store_url"))


# --------------------------------------------------------------------------- model
@main.group()
def model() -> None:
    """Build or inspect models."""


@model.command("tiny")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--adapter", "adapter_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write a LoRA adapter (non-zero weights) for the tiny model here.")
@click.option("--seed", default=0, show_default=True, help="Seed of the model weights.")
def model_tiny(directory: Path, adapter_dir: Path | None, seed: int) -> None:
    """Build a tiny seeded Llama-architecture model with its own BPE tokenizer.

    A few MB, built in seconds; the model of the demo and the tests. Its answers are
    noise: use it to exercise the pipeline, not to judge anything.
    """
    from harness.modelref import ModelRef
    from harness.tiny_model import build_tiny_adapter, build_tiny_model

    build_tiny_model(directory, seed=seed)
    click.echo(f"model    {directory}  {ModelRef(str(directory)).fingerprint()}")
    if adapter_dir is not None:
        build_tiny_adapter(directory, adapter_dir, seed=seed + 1)
        ref = ModelRef(str(directory), adapter=str(adapter_dir))
        click.echo(f"adapter  {adapter_dir}  {ref.fingerprint()}")


@model.command("fingerprint")
@click.argument("base")
@click.option("--adapter", help="PEFT adapter directory.")
@click.option("--allow-pickle", is_flag=True, help="Accept pickle weights (*.bin), which can run code when loaded.")
def model_fingerprint(base: str, adapter: str | None, allow_pickle: bool) -> None:
    """Print the SHA-256 fingerprint of a model (and adapter) without loading it."""
    from harness.modelref import ModelRef

    ref = ModelRef(base, adapter=adapter, allow_pickle=allow_pickle)
    ref.check()
    click.echo(ref.fingerprint())


# --------------------------------------------------------------------------- run
def _parse_suites(value: str) -> list[str]:
    names = [s.strip() for s in value.split(",") if s.strip()]
    if not names:
        raise HarnessError("--suites names no suite")
    from harness.suites import get_suites

    get_suites(names)  # unknown names fail here, before anything heavy happens
    return names


@main.command()
@click.argument("base")
@click.option("--adapter", help="PEFT (LoRA) adapter directory applied on top of BASE.")
@click.option("--suites", "suites_text", default="mmlu,gsm8k", show_default=True, help="Comma-separated suites.")
@click.option("--data-dir", type=click.Path(path_type=Path),
              help="Local benchmark data (mmlu/, gsm8k/) [default: $HARNESS_DATA_DIR, else the hub].")
@click.option("--limit", type=int, help="First N items of each MMLU subject and of GSM8K (deterministic).")
@click.option("--num-fewshot", type=int, help="Few-shot examples [default: 0 for MMLU, 5 for GSM8K].")
@click.option("--max-gen-toks", type=int, help="Cap on generated tokens for generation suites [default: lm-eval's 256].")
@click.option("--batch-size", default=8, show_default=True, help="Batch size for the model.")
@click.option("--out", "out_dir", default="runs", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder that receives the run directory.")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Continue an interrupted run directory (its suites already finished are reused).")
@click.option("--revision", help="Hub revision of BASE.")
@click.option("--dtype", default="float32", show_default=True, type=click.Choice(["float32", "bfloat16", "float16", "auto"]))
@click.option("--device", default="cpu", show_default=True, help="torch device, e.g. cpu, cuda:0.")
@click.option("--allow-pickle", is_flag=True, help="Accept pickle weights (*.bin); they can run code when loaded.")
@click.option("--trust-remote-code", is_flag=True, help="Run model code shipped with BASE (off by default).")
@click.option("--no-cache", is_flag=True, help="Do not use lm-eval's response cache.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.pass_context
def run(ctx: click.Context, base: str, adapter: str | None, suites_text: str, data_dir: Path | None, limit: int | None,
        num_fewshot: int | None, max_gen_toks: int | None, batch_size: int, out_dir: Path, resume_dir: Path | None,
        revision: str | None, dtype: str, device: str, allow_pickle: bool, trust_remote_code: bool,
        no_cache: bool, as_json: bool) -> None:
    """Evaluate BASE (a model directory or hub id) on the suites; write a run directory.

    The run directory holds results.json (schema in harness/schema/results.schema.json),
    items.jsonl (one record per item) and lm-eval's raw output. Every run is indexed
    in the run store (see `harness runs`).
    """
    from harness.data_dir import resolve_data_dir
    from harness.runner import RunSpec

    if limit is not None and limit < 1:
        raise HarnessError(f"--limit must be a positive number of items, got {limit}")
    if num_fewshot is not None and num_fewshot < 0:
        raise HarnessError(f"--num-fewshot must be 0 or more, got {num_fewshot}")
    if resume_dir is not None:
        spec = RunSpec.load(resume_dir)
    else:
        resolved = resolve_data_dir(data_dir)
        spec = RunSpec(
            base=base, adapter=adapter, suites=_parse_suites(suites_text), revision=revision, dtype=dtype,
            device=device, allow_pickle=allow_pickle, trust_remote_code=trust_remote_code,
            data_dir=str(resolved) if resolved else None, limit=limit, num_fewshot=num_fewshot,
            batch_size=batch_size, gen_kwargs={"max_gen_toks": max_gen_toks} if max_gen_toks else {},
        )
    result, run_dir = _execute(ctx, spec, out_dir, resume_dir, no_cache)
    _print_run(result, run_dir, as_json)


def _execute(ctx: click.Context, spec: Any, out_dir: Path, resume_dir: Path | None, no_cache: bool,
             engine: Any = None) -> tuple[Any, Path]:
    from harness.paths import cache_dir
    from harness.runner import execute_run

    return execute_run(
        spec, out_dir, store=_store(ctx), cache_root=None if no_cache else cache_dir(), resume_dir=resume_dir,
        engine=engine, progress=lambda message: click.echo(f"[harness] {message}", err=True),
    )


def _print_run(result: Any, run_dir: Path, as_json: bool) -> None:
    from harness.gate import format_metric

    if as_json:
        _emit_json({"run_id": result.run_id, "run_dir": str(run_dir), "fingerprint": result.model.fingerprint,
                    "metrics": [m.model_dump() for m in result.metrics],
                    "suite_status": {k: v.model_dump() for k, v in result.suite_status.items()}})
        return
    click.echo(f"run      {result.run_id}")
    click.echo(f"model    {result.model.base}" + (f" + {result.model.adapter}" if result.model.adapter else ""))
    click.echo(f"         {result.model.fingerprint}")
    for name, status in result.suite_status.items():
        if status.status == "skipped":
            click.echo(f"{name:<8} skipped: {status.reason}")
    for m in result.metrics:
        if m.name.startswith("mmlu.accuracy."):
            continue
        click.echo(f"{m.name:<28} {format_metric(m)}")
    click.echo(f"written  {run_dir}")


# --------------------------------------------------------------------------- runs
@main.command("runs")
@click.option("--limit", default=20, show_default=True, help="How many recent runs to list.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def runs_command(ctx: click.Context, limit: int, as_json: bool) -> None:
    """List runs in the run store, newest first."""
    rows = _store(ctx).runs(limit=limit)
    if as_json:
        _emit_json([row.__dict__ for row in rows])
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


# --------------------------------------------------------------------------- gate
def _resolve_run(ctx: click.Context, ref: str) -> Path:
    """A run directory, a results.json, or a run id known to the run store."""
    path = Path(ref)
    if path.exists():
        return path
    row = _store(ctx).find_run(ref)
    if row is None:
        raise HarnessError(f"{ref}: no such run directory, results file or run id")
    return Path(row.path)


@main.command()
@click.argument("run_ref", metavar="RUN")
@click.option("--policy", "policy_ref", required=True, help="Policy YAML file, or a shipped name (demo, baseline-minimums).")
@click.option("--baseline", "baseline_ref", help="Baseline run for max_drop rules (directory, results.json or run id).")
@click.option("--dataset", "datasets", multiple=True, metavar="NAME@VERSION",
              help="A registered dataset whose evidence rules on data.<name>.* (or data.*.*) judge. Repeatable.")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path), help="Write JUnit XML here.")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a Markdown summary here (e.g. $GITHUB_STEP_SUMMARY).")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@click.pass_context
def gate(ctx: click.Context, run_ref: str, policy_ref: str, baseline_ref: str | None, datasets: tuple[str, ...], junit_path: Path | None,
         markdown_path: Path | None, as_json: bool) -> None:
    """Judge a stored RUN against a policy; exit 0 pass, 1 fail, 2 bad input.

    A blocking rule whose metric was not measured fails the gate. The verdict is saved
    as verdict.json in the run directory and recorded in the run store.
    """
    from harness.atomic import atomic_write_text
    from harness.ci_exports import verdict_to_junit, verdict_to_markdown
    from harness.judging import judge_run
    from harness.results import load_results, resolve_results_path

    results_path = resolve_results_path(_resolve_run(ctx, run_ref))
    result = load_results(results_path)
    baseline, baseline_dir = None, None
    if baseline_ref:
        baseline_path = resolve_results_path(_resolve_run(ctx, baseline_ref))
        baseline, baseline_dir = load_results(baseline_path), baseline_path.parent
    verdict = judge_run(policy_ref, result, results_path.parent, baseline, _store(ctx), baseline_dir, list(datasets))
    if junit_path:
        atomic_write_text(junit_path, verdict_to_junit(verdict))
    if markdown_path:
        atomic_write_text(markdown_path, verdict_to_markdown(verdict))
    if as_json:
        _emit_json(verdict.model_dump(mode="json"))
    else:
        _print_verdict(verdict)
    ctx.exit(verdict.exit_code)


def _print_verdict(verdict: Any) -> None:
    from harness.gate import format_metric

    rows = [("OUTCOME", "RULE", "MEASURED (95% CI, n)", "BOUND", "VS BASELINE (95% CI, p)", "ARTICLE")]
    rows += [
        (o.outcome.upper(), o.rule_id, format_metric(o), o.bound, _format_change(o), o.article) for o in verdict.outcomes
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    for o in verdict.outcomes:
        if o.outcome != "pass" or o.change is not None:
            click.echo(f"  {o.rule_id}: {o.evidence}")
    counts = verdict.counts()
    click.echo(
        f"verdict  {verdict.verdict.upper()} ({counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail, "
        f"{counts['not-measured']} not measured) policy {verdict.policy}, exit {verdict.exit_code}"
    )


def _format_change(outcome: Any) -> str:
    if outcome.change is None:
        return ""
    text = f"{outcome.change:+.4f}"
    if outcome.change_ci_low is not None and outcome.change_ci_high is not None:
        text += f" [{outcome.change_ci_low:+.4f}, {outcome.change_ci_high:+.4f}]"
    if outcome.p_value is not None:
        text += f" p={outcome.p_value:.3g}"
    return text


# --------------------------------------------------------------------------- data
from harness.data_cli import data  # noqa: E402  (click groups; their commands import lazily)
from harness.dossier_cli import audit, dossier, signoff  # noqa: E402

main.add_command(data)
main.add_command(dossier)
main.add_command(signoff)
main.add_command(audit)


# --------------------------------------------------------------------------- train
@main.command()
@click.argument("config_path", metavar="CONFIG.yaml", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--resume", is_flag=True, help="Continue from the last checkpoint of an interrupted training.")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Benchmark data for the gate's runs [default: $HARNESS_DATA_DIR].")
@click.pass_context
def train(ctx: click.Context, config_path: Path, resume: bool, data_dir: Path | None) -> None:
    """LoRA-train a model and promote it only if it passes its gate.

    \b
    preflight  data registered, hash verified, expectations passed, kappa >= min_kappa
    baseline   the base model on the gate's suites (reused when already run)
    training   transformers Trainer + peft; cosine schedule with warmup and floor,
               early stopping on eval loss, checkpoints (Ctrl-C saves one; --resume)
    gate       base + adapter against the baseline, with the config's policy
    promote    <output_dir>/registry/<name>/<version>/ with model card (exit 0),
               or reject, keeping every artefact (exit 1)
    """
    from harness.data_dir import resolve_data_dir
    from harness.training.pipeline import run_pipeline

    resolved = resolve_data_dir(data_dir)
    result = run_pipeline(
        config_path, store=_store(ctx), resume=resume, data_dir=str(resolved) if resolved else None,
        say=lambda message: click.echo(f"[train] {message}", err=True),
    )
    if result.decision == "interrupted":
        click.echo(f"interrupted at step {result.record['steps']} of {result.record['max_steps']}; checkpoint saved. "
                   f"Continue with: harness train {config_path} --resume", err=True)
        ctx.exit(130)
    if result.verdict is not None:
        _print_verdict(result.verdict)
    if result.decision == "promoted":
        click.echo(f"PROMOTED  {result.registry_entry}")
        return
    click.echo(f"REJECTED  not promoted; artefacts kept in {result.work_dir}")
    for o in result.verdict.outcomes if result.verdict else []:
        if o.blocking:
            click.echo(f"  {o.rule_id}: {o.outcome}: {o.evidence}")
    ctx.exit(1)


# --------------------------------------------------------------------------- compare
@main.command()
@click.argument("reference_ref", metavar="RUN_A")
@click.argument("candidate_ref", metavar="RUN_B")
@click.option("--alpha", default=0.05, show_default=True, type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Significance level of McNemar's exact test.")
@click.option("--all", "show_all", is_flag=True, help="Also list per-subject and per-group rows that did not change significantly.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.pass_context
def compare(ctx: click.Context, reference_ref: str, candidate_ref: str, alpha: float, show_all: bool, as_json: bool) -> None:
    """Compare RUN_B with RUN_A item by item: an offline A/B test of two models.

    For every accuracy-like metric both runs measured: the change B - A, its paired-
    bootstrap 95% interval and McNemar's exact p-value over the items both runs saw with
    the same prompt. ECE, Brier and NLL get a paired bootstrap test; other shared
    metrics (gaps, drops) show their plain difference.
    """
    from harness.suites.forgetting import compare_run_dirs

    comparison = compare_run_dirs(_resolve_run(ctx, reference_ref), _resolve_run(ctx, candidate_ref), alpha=alpha)
    if as_json:
        _emit_json(comparison.model_dump(mode="json"))
        return
    click.echo(f"A (reference)  {comparison.reference_run}  {comparison.reference_fingerprint[:19]}")
    click.echo(f"B (candidate)  {comparison.candidate_run}  {comparison.candidate_fingerprint[:19]}")
    rows = [("METRIC", "A", "B", "B - A (95% CI)", "REL.", "p", "n", "")]
    hidden = 0
    for c in comparison.comparisons:
        detail = c.metric.count(".") >= 2 and not c.metric.startswith(("robustness.", "calibration."))
        if detail and not show_all and not c.significant:
            hidden += 1
            continue
        change = "-" if c.change is None else f"{c.change:+.4f}"
        if c.ci_low is not None and c.ci_high is not None:
            change += f" [{c.ci_low:+.4f}, {c.ci_high:+.4f}]"
        rows.append((
            c.metric,
            "-" if c.reference is None else f"{c.reference:.4f}",
            "-" if c.candidate is None else f"{c.candidate:.4f}",
            change,
            "-" if c.relative_change is None else f"{c.relative_change:+.1%}",
            "unpaired" if not c.paired else f"{c.p_value:.3g}" + (" (bootstrap)" if c.test == "paired-bootstrap" else ""),
            str(c.n),
            "significant" if c.significant else "",
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    significant = sum(bool(c.significant) for c in comparison.comparisons)
    click.echo(
        f"{significant} significant change(s) at alpha {alpha:g}; {comparison.unmatched_items} item(s) not in both runs"
        + (f"; {hidden} unchanged detail row(s) hidden (--all shows them)" if hidden else "")
    )


# --------------------------------------------------------------------------- report
@main.command()
@click.argument("run_ref", metavar="RUN")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
@click.option("--no-pdf", is_flag=True, help="Write the HTML only.")
@click.pass_context
def report(ctx: click.Context, run_ref: str, out_dir: Path, no_pdf: bool) -> None:
    """Render RUN's results (and its gate verdict, if any) as HTML and PDF."""
    from harness.reports.render import render_report

    paths = render_report(_resolve_run(ctx, run_ref), out_dir, pdf=not no_pdf)
    click.echo(f"html     {paths.html}")
    if paths.pdf:
        click.echo(f"pdf      {paths.pdf}")


# --------------------------------------------------------------------------- demo
@main.command()
@click.option("--out", "out_dir", default="harness-demo", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--data-dir", type=click.Path(path_type=Path), help="Benchmark data [default: $HARNESS_DATA_DIR].")
@click.option("--limit", default=4, show_default=True, help="Items per MMLU subject and of GSM8K.")
@click.pass_context
def demo(ctx: click.Context, out_dir: Path, data_dir: Path | None, limit: int) -> None:
    """The whole flow offline on an embedded tiny model: build, evaluate, gate, report.

    Suites whose data cannot be found are skipped and show as not measured in the gate.
    """
    from harness.demo import run_demo

    run_demo(ctx, out_dir=out_dir, data_dir=data_dir, limit=limit)


if __name__ == "__main__":  # pragma: no cover
    main()
