"""``harness demo``: the whole flow, offline, on an embedded tiny model.

Builds the tiny model and a LoRA adapter, evaluates both on MMLU and GSM8K (limited),
calibration, robustness and fairness, compares the adapted model with the base item by
item, gates it with ``policies/demo.yaml``, renders the report and ends with the
dossier of the tuned model against the base. Suites without local data are skipped and show as not measured in the gate.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import click

from harness.data.registry import provenance_path
from harness.data_dir import resolve_data_dir
from harness.errors import DataError

DEMO_DATASET = "emergency-instructions"
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

    store = RunStore(ctx.obj.get("store_url"))
    say("registering, validating and auditing the sample training data")
    dataset = prepare_sample_data(store, out_dir / "data", say)
    verdict = judge_run("demo", tuned_result, tuned_run, base_result, store, base_run, [dataset])
    atomic_write_text(out_dir / "gate.junit.xml", verdict_to_junit(verdict))
    atomic_write_text(out_dir / "gate.md", verdict_to_markdown(verdict))
    say("rendering the report")
    report = render_report(tuned_run, out_dir / "report")
    say("rendering the dossier of the tuned model against the base")
    from harness.reports.dossier import render_dossier

    dossier = render_dossier(tuned_run, out_dir / "dossier", store=store, datasets=[dataset])

    click.echo("")
    _print_verdict(verdict)
    click.echo("")
    click.echo(f"base run      {base_run}")
    click.echo(f"tuned run     {tuned_run}")
    click.echo(f"report        {report.html}")
    click.echo(f"              {report.pdf}")
    click.echo(f"gate (CI)     {out_dir / 'gate.junit.xml'}, {out_dir / 'gate.md'}")
    click.echo(f"data          {dataset}: provenance {provenance_path(dataset)}")
    click.echo(f"dossier       {dossier.pdf} (PDF/A-3b), {dossier.html}")
    click.echo(f"              {len(dossier.placeholders)} items need human input: harness dossier init, then")
    click.echo(f"              harness dossier {tuned_run} --input provider.yaml --dataset {dataset} --out DIR")
    click.echo(f"demo done in {time.perf_counter() - started:.0f} s; `harness gate` would exit {verdict.exit_code}")


def prepare_sample_data(store: Any, work_dir: Path, say: Any) -> str:
    """Register the synthetic sample data, check it with GX, measure rater agreement, resolve conflicts.

    Returns the reference of the registered version the gate judges. The resolved file
    is registered as the next version, derived from the first (so ``harness data lineage``
    shows both).
    """
    from harness.atomic import atomic_write_jsonl
    from harness.data.agreement import agreement_report
    from harness.data.conflicts import apply_resolution, resolve_ratings
    from harness.data.expectations import validate_frame
    from harness.data.registry import Source, add_evidence, register_dataset
    from harness.data.tables import read_table
    from harness.suites.fairness import data_dir as suite_data_dir

    sample = suite_data_dir().parent / "emergency"
    instructions, ratings = sample / "instructions.jsonl", sample / "ratings.csv"
    record, _ = register_dataset(
        store, instructions, name=DEMO_DATASET, version="1.0.0", license="CC-BY-4.0",
        description="Synthetic emergency-response instruction data shipped with harness (sample, not real incidents)",
        sources=[Source(type="synthetic", id="harness-sample-data", expert=None)],
        contributors=["harness project"],
    )
    ref = record.ref
    report = validate_frame(read_table(instructions), "instruction-data", data_label=str(instructions))
    add_evidence(store, ref, "validation", report.model_dump(mode="json"))
    say(f"{ref}: {report.passed} of {report.evaluated} expectations passed (Great Expectations)")
    agreement = agreement_report(ratings, n_boot=300)
    add_evidence(store, ref, "agreement", agreement.model_dump(mode="json"))
    say(f"{ref}: {agreement.interpretation}")
    conflicts = resolve_ratings(ratings)
    add_evidence(store, ref, "conflicts", conflicts.as_evidence())
    rows = [dict(r) for r in read_table(instructions).to_dict(orient="records")]
    resolved = atomic_write_jsonl(
        work_dir / "instructions-resolved.jsonl", apply_resolution(rows, conflicts, id_field="id", label_field="decision")
    )
    register_dataset(
        store, resolved, name=DEMO_DATASET, parent=ref,
        transform=f"conflict resolution over {ratings.name}: majority of 3 raters, ties left for a third expert",
    )
    say(
        f"{ref}: {conflicts.disputed} of {conflicts.n_items} items disputed, "
        f"{conflicts.needs_third_expert} need a third expert"
    )
    return ref
