"""``harness demo``: the whole flow, offline, on an embedded tiny model.

The whole life cycle: build the tiny base model; register, validate and audit the
sample training data; ``harness train`` (baseline run, LoRA training, tuned run, paired
comparison, gate with ``policies/demo.yaml``, promote or reject); the report; post-market
monitoring of the tuned model (seeded sample production logs, 3,000 requests with a drift
and an error burst injected, judged by ``policies/monitoring.yaml`` as ``harness monitor``
does); and the dossier of the tuned model against the base, whose Art. 72 section carries
the monitoring results. Suites without local data are skipped and show as not measured in
the gate.

It also tells the methodology's JSON story: a model that "learned patterns but can't
generate JSON". The base model writes no valid JSON; the adapter is trained mostly on
answers that are JSON objects, and the ``structured`` suite measures strict validity of
base and adapter on the same 60 items, compared item by item (McNemar) and gated.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import DataError
from harness.paths import resolve_data_dir

if TYPE_CHECKING:
    from harness.monitoring.render import MonitoringPaths
    from harness.monitoring.results import MonitoringReport
    from harness.reports.dossier import DossierPaths
    from harness.reports.render import ReportPaths
    from harness.schema.verdict import Verdict
    from harness.store.runs import RunStore
    from harness.training.pipeline import PipelineResult

DEMO_DATASET = "emergency-instructions"
DEMO_JSON_DATASET = "emergency-json"
DEMO_ADAPTER = "fire-advisor"
DEMO_MAX_GEN_TOKS = 160  # the structured suite's own answer length; GSM8K's four items stop there too
DEMO_SUITES = ("mmlu", "gsm8k", "calibration", "robustness", "fairness")
DEMO_VOCAB = 2048  # with the training texts, domain words and the JSON keys become single tokens
# The methodology's mix: the adapter's own task (JSON answers) 0.8, general replay 0.2, here the
# instruction and multiple-choice sets, 0.1 each.
JSON_WEIGHT = 0.8
REPLAY_WEIGHT = 0.1
DEMO_LOG_REQUESTS = 3000  # sample production requests (200 an hour: 15 hours of traffic)
DEMO_DRIFT_AT = 1500  # request where the injected drift begins (accuracy and confidence)
DEMO_INCIDENT_AT = 2400  # request where the injected error burst begins

Say = Callable[[str], None]


@dataclass
class DemoRecord:
    """What the demo made and decided."""

    out_dir: Path
    verdict: Verdict
    training: PipelineResult
    base_run: Path
    tuned_run: Path
    report: ReportPaths
    dossier: DossierPaths
    monitoring: MonitoringPaths
    monitoring_report: MonitoringReport
    dataset: str
    junit: Path
    markdown: Path
    seconds: float

    @property
    def eval_losses(self) -> list[float]:
        return [c["eval_loss"] for c in self.training.record["curves"] if "eval_loss" in c]


def run_demo(
    *, out_dir: Path, data_dir: Path | None, limit: int, store: RunStore, say: Say = lambda m: None
) -> DemoRecord:
    """The whole life cycle on the tiny model, offline; everything is written under ``out_dir``."""
    import yaml

    from harness.files.atomic import atomic_write_text
    from harness.gate.ci_exports import verdict_to_junit, verdict_to_markdown
    from harness.models.tiny import build_tiny_model
    from harness.reports.dossier import render_dossier
    from harness.reports.render import render_report
    from harness.training.pipeline import run_pipeline

    os.environ["HF_HUB_OFFLINE"] = "1"  # the demo never reaches a hub
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    started = time.perf_counter()

    base_dir = out_dir / "models" / "tiny"
    if not (base_dir / "config.json").is_file():
        say(f"building the tiny model in {base_dir} (random weights; its tokenizer learns the training texts)")
        build_tiny_model(base_dir, vocab_size=DEMO_VOCAB, corpus=training_texts())
    try:
        resolved = resolve_data_dir(data_dir)
    except DataError as exc:
        if data_dir is not None:
            raise
        say(f"{exc}")
        resolved = None
    if resolved is None:
        say(
            "no benchmark data (--data-dir or HARNESS_DATA_DIR): MMLU, GSM8K, calibration and robustness will be skipped"
        )

    say("registering, validating and auditing the sample training data")
    dataset = prepare_sample_data(store, out_dir / "data", say)
    config = {
        "name": DEMO_ADAPTER,
        "base_model": str(base_dir),
        "data": [
            {"dataset": dataset, "weight": REPLAY_WEIGHT, "ratings": str(_sample("ratings.csv"))},
            {
                "file": str(_sample("multiple_choice.jsonl")),
                "name": "emergency-mc",
                "weight": REPLAY_WEIGHT,
                "expectations": "multiple-choice",
                "ratings": str(_sample("ratings.csv")),
            },
            {
                "file": str(_json_answers()),
                "name": DEMO_JSON_DATASET,
                "weight": JSON_WEIGHT,
                "expectations": "json-answers",
            },
        ],
        "lora": {
            "rank": 16,
            "alpha": 32,
            "dropout": 0.05,
            "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        },
        "epochs": 15,
        "learning_rate": 1e-2,
        "batch_size": 8,
        "max_length": 256,
        "eval_every": 20,
        # The eval loss mixes all three sets; on the tiny model it stays nearly flat for long
        # stretches while the JSON answers still improve, so the demo stops late.
        "early_stopping": {"patience": 20},
        "schedule": {"warmup_ratio": 0.1, "min_lr": 4e-4},
        "policy": "demo",
        "suites": [*DEMO_SUITES, "domain", "structured"],
        "eval_limit": limit,
        "eval_limits": {"structured": None},  # every JSON item, for the item-by-item comparison
        "max_gen_toks": DEMO_MAX_GEN_TOKS,
        "output_dir": str(out_dir / "training"),
    }
    config_path = atomic_write_text(out_dir / "train.yaml", yaml.safe_dump(config, sort_keys=False))
    work = out_dir / "training" / DEMO_ADAPTER
    if work.exists():  # a fresh training each time; promoted versions stay in the registry
        shutil.rmtree(work)
    say(f"training a LoRA adapter with {config_path} (harness train)")
    result = run_pipeline(
        config_path,
        store=store,
        data_dir=str(resolved) if resolved else None,
        say=lambda message: say(f"train: {message}"),
    )
    verdict = result.verdict
    assert verdict is not None
    tuned_run = work / "runs" / result.record["tuned_run"]
    base_run = work / "runs" / result.record["baseline_run"]
    if not base_run.is_dir():  # the baseline was reused from an earlier demo
        row = store.find_run(result.record["baseline_run"])
        base_run = Path(row.path) if row else base_run
    junit = atomic_write_text(out_dir / "gate.junit.xml", verdict_to_junit(verdict))
    markdown = atomic_write_text(out_dir / "gate.md", verdict_to_markdown(verdict))
    say("rendering the report")
    report = render_report(tuned_run, out_dir / "report")
    monitoring, monitoring_report = monitor_sample_logs(tuned_run, out_dir / "monitoring", say)
    say("rendering the dossier of the tuned model against the base, with the monitoring results (Art. 72)")
    dossier = render_dossier(
        tuned_run,
        out_dir / "dossier",
        store=store,
        datasets=[d["ref"] for d in result.record["datasets"]],
        monitoring=monitoring.json,
    )
    return DemoRecord(
        out_dir=out_dir,
        verdict=verdict,
        training=result,
        base_run=base_run,
        tuned_run=tuned_run,
        report=report,
        dossier=dossier,
        monitoring=monitoring,
        monitoring_report=monitoring_report,
        dataset=dataset,
        junit=junit,
        markdown=markdown,
        seconds=time.perf_counter() - started,
    )


def monitor_sample_logs(run_dir: Path, out_dir: Path, say: Say) -> tuple[MonitoringPaths, MonitoringReport]:
    """Seeded sample production logs of the run's model, judged against the run as ``harness monitor --out``.

    The logs' accuracy before the drift is the run's own measured accuracy on the shipped
    policy's baseline metric (clipped to [0.10, 0.95], so the injected fall of 0.10 stays a
    valid accuracy); the drift starts at request :data:`DEMO_DRIFT_AT`, the error burst at
    :data:`DEMO_INCIDENT_AT`. Writes requests.jsonl, monitoring.json and monitoring.html.
    """
    from harness.monitoring.analysis import analyse
    from harness.monitoring.logs import read_logs
    from harness.monitoring.policy import load_monitoring_policy
    from harness.monitoring.render import write_monitoring
    from harness.monitoring.sample import SampleSpec, write_sample_logs
    from harness.schema.results import load_results

    run = load_results(run_dir)
    policy, policy_path = load_monitoring_policy("monitoring")
    measured = run.metric(policy.baseline_metric)
    accuracy = 0.95 if measured is None or measured.value is None else min(max(measured.value, 0.10), 0.95)
    spec = SampleSpec(
        requests=DEMO_LOG_REQUESTS,
        seed=0,
        accuracy=round(accuracy, 3),
        drift_at=DEMO_DRIFT_AT,
        incident_at=DEMO_INCIDENT_AT,
    )
    truth = write_sample_logs(out_dir / "requests.jsonl", spec)
    say(
        f"monitoring {truth.requests:,} sample production requests (drift from request {truth.drift_at}, "
        f"error burst from request {truth.incident_at}) against {run.run_id} (harness monitor)"
    )
    report = analyse(read_logs([truth.path]), policy=policy, policy_path=policy_path, baseline_run=run)
    paths = write_monitoring(report, out_dir, pdf=False)
    say(f"monitoring: {len(report.alerts)} alert(s); recommendation: {report.recommendation}")
    return paths, report


def training_texts() -> list[str]:
    """The texts the demo's adapter is trained on (prompts and answers; held-out domain items left out)."""
    from harness.suites.domain import is_held_out
    from harness.suites.generated import read_jsonl

    texts: list[str] = []
    for row in read_jsonl(_sample("instructions.jsonl")):
        if not is_held_out(str(row["id"])):
            texts += [str(row["instruction"]), str(row.get("input", "")), str(row["output"])]
    for row in read_jsonl(_sample("multiple_choice.jsonl")):
        if not is_held_out(str(row["id"])):
            texts += [str(row["question"]), *(str(c) for c in row["choices"])]
    for row in read_jsonl(_json_answers()):
        texts += [str(row.get("prompt", "")), str(row["output"])]
    return texts


def _json_answers() -> Path:
    from harness.suites.generated import data_folder

    return data_folder("structured") / "train.jsonl"


def _sample(name: str) -> Path:
    from harness.suites.domain import sample_dir

    return sample_dir() / name


def prepare_sample_data(store: RunStore, work_dir: Path, say: Say) -> str:
    """Register the synthetic sample data, check it with GX, measure rater agreement, resolve conflicts.

    Returns the reference of the registered version the gate judges. The resolved file
    is registered as the next version, derived from the first (so ``harness data lineage``
    shows both).
    """
    from harness.data.agreement import agreement_report
    from harness.data.conflicts import apply_resolution, resolve_ratings
    from harness.data.expectations import validate_frame
    from harness.data.registry import Source, add_evidence, register_dataset
    from harness.data.tables import read_records, read_table
    from harness.files.atomic import atomic_write_jsonl

    instructions, ratings = _sample("instructions.jsonl"), _sample("ratings.csv")
    record, _ = register_dataset(
        store,
        instructions,
        name=DEMO_DATASET,
        version="1.0.0",
        license="CC-BY-4.0",
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
        work_dir / "instructions-resolved.jsonl",
        apply_resolution(rows, conflicts, id_field="id", label_field="decision"),
    )
    register_dataset(
        store,
        resolved,
        name=DEMO_DATASET,
        parent=ref,
        transform=f"conflict resolution over {ratings.name}: majority of 3 raters, ties left for a third expert",
    )
    say(
        f"{ref}: {conflicts.disputed} of {conflicts.n_items} items disputed, "
        f"{conflicts.needs_third_expert} need a third expert"
    )
    return ref
