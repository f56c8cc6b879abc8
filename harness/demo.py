"""``harness demo``: the whole flow, offline, on an embedded tiny model.

Builds the tiny model and a LoRA adapter, evaluates both on MMLU and GSM8K (limited),
calibration, robustness and fairness, compares the adapted model with the base item by
item, gates it with ``policies/demo.yaml`` and renders the report. Suites without local data are skipped and show as not measured in the gate.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import click

from harness.data_dir import resolve_data_dir
from harness.errors import DataError

DEMO_MAX_GEN_TOKS = 64
DEMO_SUITES = ("mmlu", "gsm8k", "calibration", "robustness", "fairness")


def run_demo(ctx: click.Context, *, out_dir: Path, data_dir: Path | None, limit: int) -> None:
    from harness.atomic import atomic_write_text
    from harness.ci_exports import verdict_to_junit, verdict_to_markdown
    from harness.cli import _execute, _print_verdict
    from harness.judging import judge_run
    from harness.reports.render import render_report
    from harness.runner import RunSpec
    from harness.store import RunStore
    from harness.tiny_model import build_tiny_adapter, build_tiny_model

    os.environ["HF_HUB_OFFLINE"] = "1"  # the demo never reaches a hub
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    started = time.perf_counter()
    say = lambda message: click.echo(f"[demo] {message}", err=True)  # noqa: E731

    models = out_dir / "models"
    base_dir, adapter_dir = models / "tiny", models / "tiny-lora"
    if not (base_dir / "config.json").is_file():
        say(f"building the tiny model in {base_dir}")
        build_tiny_model(base_dir)
    if not (adapter_dir / "adapter_config.json").is_file():
        say(f"building a LoRA adapter in {adapter_dir}")
        build_tiny_adapter(base_dir, adapter_dir)

    try:
        resolved = resolve_data_dir(data_dir)
    except DataError as exc:
        if data_dir is not None:
            raise
        say(f"{exc}")
        resolved = None
    if resolved is None:
        say("no benchmark data (--data-dir or HARNESS_DATA_DIR): MMLU and GSM8K will be skipped")
    common: dict[str, Any] = {
        "suites": list(DEMO_SUITES),
        "data_dir": str(resolved) if resolved else None,
        "limit": limit,
        "skip_unavailable": True,
        "gen_kwargs": {"max_gen_toks": DEMO_MAX_GEN_TOKS},
    }
    runs_dir = out_dir / "runs"
    say("evaluating the base model")
    base_result, base_run = _execute(ctx, RunSpec(base=str(base_dir), **common), runs_dir, None, False)
    say("evaluating base + adapter")
    tuned_result, tuned_run = _execute(
        ctx, RunSpec(base=str(base_dir), adapter=str(adapter_dir), **common), runs_dir, None, False
    )

    verdict = judge_run("demo", tuned_result, tuned_run, base_result, RunStore(ctx.obj.get("store_url")), base_run)
    atomic_write_text(out_dir / "gate.junit.xml", verdict_to_junit(verdict))
    atomic_write_text(out_dir / "gate.md", verdict_to_markdown(verdict))
    say("rendering the report")
    report = render_report(tuned_run, out_dir / "report")

    click.echo("")
    _print_verdict(verdict)
    click.echo("")
    click.echo(f"base run      {base_run}")
    click.echo(f"tuned run     {tuned_run}")
    click.echo(f"report        {report.html}")
    click.echo(f"              {report.pdf}")
    click.echo(f"gate (CI)     {out_dir / 'gate.junit.xml'}, {out_dir / 'gate.md'}")
    click.echo(f"demo done in {time.perf_counter() - started:.0f} s; `harness gate` would exit {verdict.exit_code}")
