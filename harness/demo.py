"""``harness demo``: the whole flow, offline, on an embedded tiny model.

The whole life cycle: build the tiny base model; register, validate and audit the
sample training data; ``harness train`` (baseline run, LoRA training, tuned run, paired
comparison, gate with ``policies/demo.yaml``, promote or reject); the report; and the
dossier of the tuned model against the base. Suites without local data are skipped and
show as not measured in the gate.
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
DEMO_ADAPTER = "fire-advisor"
DEMO_MAX_GEN_TOKS = 64
DEMO_SUITES = ("mmlu", "gsm8k", "calibration", "robustness", "fairness")


def run_demo(ctx: click.Context, *, out_dir: Path, data_dir: Path | None, limit: int) -> None:
    import shutil

    import yaml

    from harness.atomic import atomic_write_text
    from harness.ci_exports import verdict_to_junit, verdict_to_markdown
    from harness.cli import _print_verdict
    from harness.reports.dossier import render_dossier
    from harness.reports.render import render_report
    from harness.store import RunStore
    from harness.tiny_model import build_tiny_model
    from harness.training.pipeline import run_pipeline

    os.environ["HF_HUB_OFFLINE"] = "1"  # the demo never reaches a hub
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    started = time.perf_counter()
    say = lambda message: click.echo(f"[demo] {message}", err=True)  # noqa: E731

    base_dir = out_dir / "models" / "tiny"
    if not (base_dir / "config.json").is_file():
        say(f"building the tiny model in {base_dir}")
        build_tiny_model(base_dir)
    try:
        resolved = resolve_data_dir(data_dir)
    except DataError as exc:
        if data_dir is not None:
            raise
        say(f"{exc}")
        resolved = None
    if resolved is None:
        say("no benchmark data (--data-dir or HARNESS_DATA_DIR): MMLU, GSM8K, calibration and robustness will be skipped")

    store = RunStore(ctx.obj.get("store_url"))
    say("registering, validating and auditing the sample training data")
    dataset = prepare_sample_data(store, out_dir / "data", say)
    config = {
        "name": DEMO_ADAPTER,
        "base_model": str(base_dir),
        "data": [
            {"dataset": dataset, "weight": 0.2, "ratings": str(_sample("ratings.csv"))},
            {"file": str(_sample("multiple_choice.jsonl")), "name": "emergency-mc", "weight": 0.8,
             "expectations": "multiple-choice", "ratings": str(_sample("ratings.csv"))},
        ],
        "lora": {"rank": 16, "alpha": 32, "dropout": 0.05,
                 "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]},
        "epochs": 15, "learning_rate": 1e-2, "batch_size": 8, "max_length": 256, "eval_every": 20,
        "schedule": {"warmup_ratio": 0.1, "min_lr": 4e-4},
        "policy": "demo", "suites": [*DEMO_SUITES, "domain"], "eval_limit": limit, "max_gen_toks": DEMO_MAX_GEN_TOKS,
        "output_dir": str(out_dir / "training"),
    }
    config_path = atomic_write_text(out_dir / "train.yaml", yaml.safe_dump(config, sort_keys=False))
    work = out_dir / "training" / DEMO_ADAPTER
    if work.exists():  # a fresh training each time; promoted versions stay in the registry
        shutil.rmtree(work)
    say(f"training a LoRA adapter with {config_path} (harness train)")
    result = run_pipeline(
        config_path, store=store, data_dir=str(resolved) if resolved else None,
        say=lambda message: say(f"train: {message}"),
    )
    verdict = result.verdict
    tuned_run = work / "runs" / result.record["tuned_run"]
    base_run = work / "runs" / result.record["baseline_run"]
    if not base_run.is_dir():  # the baseline was reused from an earlier demo
        row = store.find_run(result.record["baseline_run"])
        base_run = Path(row.path) if row else base_run
    atomic_write_text(out_dir / "gate.junit.xml", verdict_to_junit(verdict))
    atomic_write_text(out_dir / "gate.md", verdict_to_markdown(verdict))
    say("rendering the report")
    report = render_report(tuned_run, out_dir / "report")
    say("rendering the dossier of the tuned model against the base")
    dossier = render_dossier(tuned_run, out_dir / "dossier", store=store, datasets=[d["ref"] for d in result.record["datasets"]])

    losses = [c["eval_loss"] for c in result.record["curves"] if "eval_loss" in c]
    click.echo("")
    _print_verdict(verdict)
    click.echo("")
    click.echo(f"training      {result.record['steps']} steps in {result.record['seconds']:.0f} s, eval loss "
               f"{losses[0]:.3f} -> {min(losses):.3f}" if losses else "training      (no evaluation)")
    click.echo(f"decision      {result.decision.upper()}" + (f": {result.registry_entry}" if result.registry_entry else ""))
    click.echo(f"base run      {base_run}")
    click.echo(f"tuned run     {tuned_run}")
    click.echo(f"report        {report.html}")
    click.echo(f"              {report.pdf}")
    click.echo(f"gate (CI)     {out_dir / 'gate.junit.xml'}, {out_dir / 'gate.md'}")
    click.echo(f"data          {dataset}: provenance {provenance_path(dataset)}")
    click.echo(f"dossier       {dossier.pdf} (PDF/A-3b), {dossier.html}")
    click.echo(f"              {len(dossier.placeholders)} items need human input: harness dossier init, then")
    click.echo(f"              harness dossier {tuned_run} --input provider.yaml --dataset {dataset} --out DIR")
    click.echo(f"demo done in {time.perf_counter() - started:.0f} s; the gate's exit code would be {verdict.exit_code}")


def _sample(name: str) -> Path:
    from harness.suites.domain import sample_dir

    return sample_dir() / name


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
    from harness.data.tables import read_records, read_table
    instructions, ratings = _sample("instructions.jsonl"), _sample("ratings.csv")
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
    rows = read_records(instructions)
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
