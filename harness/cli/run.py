"""``harness run``, ``harness runs`` and ``harness compare``: evaluate, list, compare runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from harness.cli.app import App, pass_app
from harness.cli.options import (
    BATCH_SIZE,
    LIMIT,
    MAX_GEN_TOKS,
    NUM_FEWSHOT,
    RUN_LIMIT,
    Count,
    Device,
    PathType,
    Probability,
    SuiteLimit,
    Text,
)
from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.runner.spec import RunSpec
    from harness.schema.results import RunResult

CONCURRENCY = Count(1, 1024, "a number of requests in flight from 1 to 1024")
RETRIES = Count(0, 100, "a number of retries from 0 to 100")
TIMEOUT = Count(1, 86_400, "a number of seconds from 1 to 86400")
# Options that describe a model harness loads itself, and those that describe a served one.
LOCAL_ONLY = ("adapter", "dtype", "device", "allow_pickle")
ENDPOINT_ONLY = (
    "served_model",
    "tokenizer",
    "concurrency",
    "max_retries",
    "timeout",
    "skip_tokenizer_check",
    "generation_api",
)


def parse_suites(value: str) -> list[str]:
    names = [s.strip() for s in value.split(",") if s.strip()]
    if not names:
        raise HarnessError("--suites names no suite")
    from harness.suites import get_suites

    get_suites(names)  # unknown names fail here, before anything heavy happens
    return names


@click.command()
@click.argument("base", type=Text(), required=False)
@click.option("--adapter", type=Text(), help="PEFT (LoRA) adapter directory applied on top of BASE.")
@click.option("--suites", "suites_text", default="mmlu,gsm8k", show_default=True, help="Comma-separated suites.")
@click.option(
    "--data-dir",
    type=PathType(path_type=Path),
    help="Local benchmark data (mmlu/, gsm8k/) [default: $HARNESS_DATA_DIR, else the hub].",
)
@click.option(
    "--limit",
    type=LIMIT,
    help="First N items of each MMLU subject, of GSM8K and of each kind of item in the generated suites "
    "(deterministic).",
)
@click.option(
    "--suite-limit",
    "suite_limits",
    multiple=True,
    type=SuiteLimit(),
    help="A suite's own limit instead of --limit, as SUITE=N or SUITE=all (every item); repeatable, "
    "e.g. --limit 4 --suite-limit structured=all.",
)
@click.option("--num-fewshot", type=NUM_FEWSHOT, help="Few-shot examples [default: 0 for MMLU, 5 for GSM8K].")
@click.option(
    "--max-gen-toks", type=MAX_GEN_TOKS, help="Cap on generated tokens for generation suites [default: lm-eval's 256]."
)
@click.option("--batch-size", default=8, show_default=True, type=BATCH_SIZE, help="Batch size for the model.")
@click.option(
    "--out",
    "out_dir",
    default="runs",
    show_default=True,
    type=PathType(file_okay=False, path_type=Path),
    help="Folder that receives the run directory.",
)
@click.option(
    "--resume",
    "resume_dir",
    type=PathType(file_okay=False, path_type=Path),
    help="Continue an interrupted run directory (its suites already finished are reused).",
)
@click.option("--revision", type=Text(), help="Hub revision of BASE.")
@click.option(
    "--dtype", default="float32", show_default=True, type=click.Choice(["float32", "bfloat16", "float16", "auto"])
)
@click.option(
    "--device", default="cpu", show_default=True, type=Device(), help="torch device: cpu, cuda, cuda:N or mps."
)
@click.option("--allow-pickle", is_flag=True, help="Accept pickle weights (*.bin); they can run code when loaded.")
@click.option("--trust-remote-code", is_flag=True, help="Run model code shipped with BASE (off by default).")
@click.option(
    "--no-cache",
    is_flag=True,
    help="Ask the model everything again: no response cache, no reuse of item records from earlier runs.",
)
@click.option(
    "--judge",
    type=Text(),
    help="A model that grades generated answers where a suite asks for it (any inspect-ai model, e.g. hf/PATH).",
)
@click.option(
    "--allow-code-execution",
    is_flag=True,
    help="Let suites run the code the model writes (quick check, HumanEval), in a sandboxed subprocess "
    "with time, memory and file limits and no network. Off by default: such suites are refused.",
)
@click.option(
    "--endpoint",
    type=Text(),
    help="Evaluate the model served behind this OpenAI-compatible API (base URL, e.g. http://localhost:8000/v1) "
    "instead of BASE. An API key is read from $HARNESS_ENDPOINT_API_KEY (else $OPENAI_API_KEY), never written.",
)
@click.option("--served-model", type=Text(), help="With --endpoint: the model's name there (as /v1/models lists it).")
@click.option(
    "--tokenizer",
    type=Text(),
    help="With --endpoint: the served model's tokenizer (directory or hub id), checked against the server's "
    "[default: the served model's name].",
)
@click.option(
    "--concurrency", default=1, show_default=True, type=CONCURRENCY, help="With --endpoint: requests in flight."
)
@click.option(
    "--max-retries",
    default=3,
    show_default=True,
    type=RETRIES,
    help="With --endpoint: retries of a failed request.",
)
@click.option(
    "--timeout", default=300, show_default=True, type=TIMEOUT, help="With --endpoint: seconds allowed per request."
)
@click.option(
    "--skip-tokenizer-check",
    is_flag=True,
    help="With --endpoint: do not compare the server's tokenization with --tokenizer's (for a server that offers "
    "no way to check it); the results say the check was skipped.",
)
@click.option(
    "--generation-api",
    type=click.Choice(["completions", "chat"]),
    default="completions",
    show_default=True,
    help="With --endpoint: how GSM8K asks for answers: the local run's very prompt (completions), or chat "
    "messages through the server's chat template (chat). Generated-behaviour suites always use chat.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.pass_context
def run(
    ctx: click.Context,
    /,
    base: str | None,
    out_dir: Path,
    resume_dir: Path | None,
    no_cache: bool,
    as_json: bool,
    **options: object,
) -> None:
    """Evaluate BASE (a model directory or hub id) on the suites; write a run directory.

    The run directory holds results.json (schema in harness/schema/results.schema.json),
    items.jsonl (one record per item) and the engines' raw output. Every run is indexed
    in the run store (see `harness runs`). Items this model (same files, same dtype) has
    already answered in an earlier run are reused, so a rerun of an unchanged model asks
    it nothing. `--resume DIR` continues an interrupted run with the settings it started with;
    an option given with it must agree with them.

    `--endpoint URL --served-model NAME` evaluates a model served behind an OpenAI-compatible
    API (llama.cpp's Python server, vLLM) instead of BASE. Before anything is scored, harness
    checks that the server tokenizes probe texts as --tokenizer does, and (for log-likelihood
    suites) that it echoes prompt log-probabilities; the run is identified by the endpoint, the
    served name, the tokenizer's files and a behavioural fingerprint, weaker than a weight hash.
    """
    from click.core import ParameterSource

    from harness.paths import cache_dir
    from harness.runner.execute import execute_run
    from harness.runner.spec import RunSpec, resumed_spec

    app = ctx.find_object(App)
    assert app is not None
    typed_names = {
        p.name for p in ctx.command.params if p.name and ctx.get_parameter_source(p.name) is ParameterSource.COMMANDLINE
    }
    if base is None and resume_dir is None and options.get("endpoint") is None:
        raise click.UsageError(
            "give BASE (a model directory or hub id), --endpoint URL --served-model NAME, or --resume RUN_DIR"
        )
    _check_model_options(base, options, typed_names, resume_dir is not None)
    if resume_dir is not None:
        typed = {"BASE" if p.name == "base" else p.opts[0] for p in ctx.command.params if p.name in typed_names}
        stored = RunSpec.load(resume_dir)
        spec = resumed_spec(resume_dir, spec_from_options(base or stored.model.base, options, stored), typed)
    else:
        spec = spec_from_options(base or "", options)
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


def _check_model_options(base: str | None, options: dict[str, object], typed: set[str], resuming: bool) -> None:
    """Refuse a mix of a local model's and a served model's options (each kind ignores the other's)."""
    served = options.get("endpoint") is not None
    if served and base is not None:
        raise click.UsageError("give BASE or --endpoint, not both")
    if served and options.get("served_model") is None and not resuming:
        raise click.UsageError("--endpoint needs --served-model NAME (the model's name on the server)")
    wrong = [n for n in (LOCAL_ONLY if served else () if resuming else ENDPOINT_ONLY) if n in typed]
    if wrong:
        flag = "--" + wrong[0].replace("_", "-")
        raise click.UsageError(
            f"{flag} applies to a model harness loads (BASE), not to --endpoint"
            if served
            else f"{flag} applies to --endpoint runs only"
        )


def _endpoint_from_options(options: dict[str, object], stored: RunSpec | None) -> object | None:
    """The served model the options name (the stored run's where --resume continues one); None for a local model."""
    from harness.models.endpoint import EndpointRef

    before = stored.model if stored is not None and isinstance(stored.model, EndpointRef) else None
    url = options.get("endpoint") or (before.url if before else None)
    if url is None:
        return None
    served = options.get("served_model") or (before.served_model if before else None)
    tokenizer = options.get("tokenizer") or (before.tokenizer if before else None)
    return EndpointRef(
        url=str(url),
        served_model=str(served),
        tokenizer=None if tokenizer is None else str(tokenizer),
        revision=None if options.get("revision") is None else str(options["revision"]),
        trust_remote_code=bool(options["trust_remote_code"]),
        skip_tokenizer_check=bool(options["skip_tokenizer_check"]),
        generation_api="chat" if options["generation_api"] == "chat" else "completions",
        concurrency=int(str(options["concurrency"])),
        max_retries=int(str(options["max_retries"])),
        timeout=float(str(options["timeout"])),
    )


def _suite_limits(value: object) -> list[tuple[str, int | None]]:
    """The --suite-limit pairs click converted (a later one for the same suite wins)."""
    if not isinstance(value, (list, tuple)):
        return []
    return [(str(suite), None if n is None else int(n)) for suite, n in value]


def spec_from_options(base: str, options: dict[str, object], stored: RunSpec | None = None) -> RunSpec:
    """The run spec `harness run`'s options describe; with ``stored`` (for --resume), the stored
    run's data directory and judge where none was typed (and its endpoint, for a served model)."""
    from harness.models.endpoint import EndpointRef
    from harness.models.modelref import ModelRef
    from harness.paths import resolve_data_dir
    from harness.runner.spec import RunSpec

    def text(name: str) -> str | None:
        value = options.get(name)
        return str(value) if value is not None else None

    def number(name: str) -> int | None:
        value = options.get(name)
        return int(value) if isinstance(value, int) else None

    data_dir = options.get("data_dir")
    resolved = resolve_data_dir(data_dir if isinstance(data_dir, Path) else None)
    max_gen_toks = number("max_gen_toks")
    served = _endpoint_from_options(options, stored)
    model = (
        served
        if isinstance(served, EndpointRef)
        else ModelRef(
            base=base,
            adapter=text("adapter"),
            revision=text("revision"),
            dtype=str(options["dtype"]),
            device=str(options["device"]),
            allow_pickle=bool(options["allow_pickle"]),
            trust_remote_code=bool(options["trust_remote_code"]),
        )
    )
    return RunSpec(
        model=model,
        suites=parse_suites(str(options["suites_text"])),
        data_dir=str(resolved) if resolved else (stored.data_dir if stored else None),
        limit=number("limit"),
        suite_limits=dict(_suite_limits(options.get("suite_limits"))),
        num_fewshot=number("num_fewshot"),
        batch_size=int(str(options["batch_size"])),
        gen_kwargs={"max_gen_toks": max_gen_toks} if max_gen_toks else {},
        judge=text("judge") or (stored.judge if stored else None),
        allow_code_execution=bool(options["allow_code_execution"]),
    )


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
    if result.model.endpoint is not None:
        served = result.model.endpoint
        click.echo(f"endpoint {served.url} (tokenizer check {served.tokenizer_check})")
        click.echo(f"         {result.model.fingerprint} (behavioural: weaker than a weight hash)")
    else:
        click.echo(f"         {result.model.fingerprint}")
    for name, status in result.suite_status.items():
        if status.status == "skipped":
            click.echo(f"{name:<8} skipped: {status.reason}")
    shown = [m for m in result.metrics if m.scope != "subject"]
    width = max([28, *(len(m.name) for m in shown)])
    for m in shown:
        click.echo(f"{m.name:<{width}} {format_metric(m)}")
    click.echo(f"written  {run_dir}")


@click.command()
@click.option("--limit", default=20, show_default=True, type=RUN_LIMIT, help="How many recent runs to list.")
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
    click.echo(f"{'run id':<28} {'created':<25} {'status':<9} {'fingerprint':<16} {'model':<30} headline")
    for row in rows:
        model_name = Path(row.model_base).name + (" +" + Path(row.model_adapter).name if row.model_adapter else "")
        heads = ", ".join(
            f"{k}={v['value']:.3f} (n={v['n']})" for k, v in row.headline.items() if v.get("value") is not None
        )
        click.echo(
            f"{row.run_id:<28} {row.created_at:<25} {row.status:<9} {row.fingerprint[7:19]:<16} {model_name[:30]:<30} "
            f"{heads}"
        )


@click.command()
@click.argument("reference_ref", metavar="RUN_A", type=Text())
@click.argument("candidate_ref", metavar="RUN_B", type=Text())
@click.option(
    "--alpha",
    default=0.05,
    show_default=True,
    type=Probability(),
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
    metrics (gaps, drops) show their plain difference. Many metrics are tested at once, so
    p-values are adjusted for multiplicity (Holm 1979), and "significant" means after the
    adjustment.
    """
    from harness.comparison import compare_run_dirs

    comparison = compare_run_dirs(app.resolve_run(reference_ref), app.resolve_run(candidate_ref), alpha=alpha)
    if as_json:
        app.emit_json(comparison.model_dump(mode="json"))
        return
    click.echo(f"A (reference)  {comparison.reference_run}  {comparison.reference_fingerprint[:19]}")
    click.echo(f"B (candidate)  {comparison.candidate_run}  {comparison.candidate_fingerprint[:19]}")
    rows = [("METRIC", "A", "B", "B - A (95% CI)", "REL.", "RAW p", "p (HOLM)", "n", "")]
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
                "-" if c.p_adjusted is None else f"{c.p_adjusted:.3g}",
                str(c.n),
                "significant" if c.significant else "",
            )
        )
    app.table(rows)
    significant = sum(bool(c.significant) for c in comparison.comparisons)
    tested = sum(c.p_value is not None for c in comparison.comparisons)
    adjusted = " after Holm's adjustment" if comparison.adjustment == "holm" else ""
    click.echo(
        f"{significant} significant change(s) at alpha {alpha:g}{adjusted} over {tested} tested rows; "
        f"{comparison.unmatched_items} item(s) not in both runs"
        + (f"; {hidden} unchanged detail row(s) hidden (--all shows them)" if hidden else "")
    )
