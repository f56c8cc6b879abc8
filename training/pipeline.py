"""``harness train``: preflight, baseline, LoRA training, tuned run, gate, then promote or reject.

0. Inputs: the policy, the suites, the base model and every data source named in the
   config are checked before anything is registered, evaluated or trained, so a
   malformed ``policy:`` fails in a second, not after an hour of training.
1. Preflight data gate: every source registered (a file is registered on the way), its
   bytes verified against the record, its expectation suite passed, its raters' kappa
   at or above ``min_kappa``. A failure refuses training (exit 1).
2. Baseline run of the base model on the gate's suites, reused when the store has a run
   of the same fingerprint, suites and item limit.
3. Training (:mod:`harness.training.trainer`), with ``--resume`` from the last checkpoint.
4. Run of base + adapter, paired comparison with the baseline, gate with the config's
   policy and the training datasets.
5. Promote: copy the adapter with its model card and record to
   ``registry/<name>/<version>/`` (MAJOR for a new base, MINOR for new training data,
   PATCH for a retrain), exit 0. Reject: keep everything, say which rules failed, exit 1.

The finished training, the promotion and the rejection are appended to the signed audit
log (:func:`harness.store.audit.record_event`) under the tuned run's id.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, InputError
from harness.files.atomic import atomic_write_json, atomic_write_text
from harness.files.hashing import sha256_file
from harness.models.modelref import ModelRef
from harness.runner.spec import RunSpec
from harness.store import RunStore
from harness.training.config import DataSource, TrainConfig, load_train_config

RECORD_FILE = "training-record.json"
ENTRY_FILE = "entry.json"


class Refused(HarnessError):
    """Training refused or the tuned model rejected: a decision, not an input error (exit 1)."""

    exit_code = 1


@dataclass
class PipelineResult:
    decision: str  # promoted | rejected | interrupted
    work_dir: Path
    registry_entry: Path | None
    record: dict[str, Any]
    verdict: Any = None


Say = Callable[[str], None]


def preflight(config: TrainConfig, store: RunStore, say: Say) -> list[tuple[DataSource, str, Path]]:
    """Check every training source; returns (source, NAME@VERSION, file) or raises :class:`Refused`."""
    from harness.data.agreement import agreement_report
    from harness.data.conflicts import resolve_ratings
    from harness.data.expectations import validate_frame
    from harness.data.registry import add_evidence, get_record, register_dataset, verify_dataset
    from harness.data.tables import read_table

    checked = []
    for source in config.data:
        if source.file is not None:
            record, created = register_dataset(store, source.file, name=source.name or "", sources=[])
            ref = record.ref
            say(f"preflight: {ref} {'registered' if created else 'already registered'} from {source.file}")
        else:
            ref = source.dataset or ""
            record = get_record(store, ref)
        path = Path(record.file) if source.file is None else Path(source.file)
        ok, _, actual = verify_dataset(store, ref, path)
        if not ok:
            raise Refused(
                f"preflight: {path} no longer matches {ref} (sha256 {actual[:12]}…, registered {record.sha256[:12]}…)"
            )
        suite = source.expectations or "instruction-data"
        report = validate_frame(read_table(path), suite, data_label=str(path))
        add_evidence(store, ref, "validation", report.model_dump(mode="json"))
        if not report.success:
            failed = ", ".join(
                f"{o.type}[{o.column}]" if o.column else o.type for o in report.outcomes if not o.success
            )
            raise Refused(
                f"preflight: {ref} fails {report.evaluated - report.passed} of {report.evaluated} expectations of {report.suite}: {failed}"
            )
        if source.ratings is not None:
            agreement = agreement_report(source.ratings, n_boot=200)
            add_evidence(store, ref, "agreement", agreement.model_dump(mode="json"))
            add_evidence(store, ref, "conflicts", resolve_ratings(source.ratings).as_evidence())
            kappa = agreement.metric("kappa")
            if kappa is None or kappa.value is None or kappa.value < config.min_kappa:
                value = "not computable" if kappa is None or kappa.value is None else f"{kappa.value:.3f}"
                raise Refused(
                    f"preflight: {ref} rater agreement kappa {value} is below the required {config.min_kappa}"
                )
        say(f"preflight: {ref} verified, {report.passed}/{report.evaluated} expectations passed")
        checked.append((source, ref, path))
    return checked


def check_inputs(config: TrainConfig, config_path: Path, store: RunStore) -> ModelRef:
    """Every input the pipeline will need, checked before it registers, evaluates or trains anything:
    the gate policy, the suites, the base model, each data source's file or registered version, its
    ratings file and its expectation suite. Returns the base model reference; raises the input's
    one-line error, prefixed with the config field that names it."""
    from harness.data.expectations import resolve_suite_path
    from harness.data.registry import get_record
    from harness.data.tables import table_format
    from harness.gate.policy import load_policy

    with _config_field(config_path, "policy"):
        load_policy(config.policy)
    with _config_field(config_path, "suites"):
        _expanded(config.suites)
    base_ref = ModelRef(config.base_model)
    with _config_field(config_path, "base_model"):
        base_ref.check()
    for i, source in enumerate(config.data):
        if source.file is not None:
            with _config_field(config_path, f"data[{i}].file"):
                table_format(_existing_file(Path(source.file)))
        else:
            with _config_field(config_path, f"data[{i}].dataset"):
                get_record(store, source.dataset or "")
        if source.ratings is not None:
            with _config_field(config_path, f"data[{i}].ratings"):
                _existing_file(Path(source.ratings))
        with _config_field(config_path, f"data[{i}].expectations"):
            resolve_suite_path(source.expectations or "instruction-data")
    return base_ref


@contextmanager
def _config_field(config_path: Path, name: str) -> Iterator[None]:
    """Name the config field whose value a one-line error is about."""
    try:
        yield
    except HarnessError as exc:
        raise type(exc)(f"{config_path}: {name}: {exc}") from None


def _existing_file(path: Path) -> Path:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    return path


def find_reusable_run(store: RunStore, spec: RunSpec) -> Path | None:
    """A finished run of the same model (fingerprint, dtype, device) that asked exactly ``spec``'s suites,
    items, decoding and data, if the store has one."""
    wanted = spec.run_settings() | {"suites": sorted(_expanded(spec.suites))}
    fingerprint = spec.model.fingerprint()
    for row in store.runs():
        if row.fingerprint != fingerprint:
            continue
        run_dir = Path(row.path)
        if not (run_dir / "results.json").is_file():
            continue
        try:
            stored = RunSpec.load(run_dir)
        except InputError:
            continue
        same_model = (stored.model.dtype, stored.model.device) == (spec.model.dtype, spec.model.device)
        if same_model and stored.run_settings() | {"suites": sorted(_expanded(stored.suites))} == wanted:
            return run_dir
    return None


def _expanded(suites: list[str]) -> list[str]:
    from harness.suites import get_suites

    return [s.name for s in get_suites(suites)]


def next_version(registry: Path, name: str, base_fingerprint: str, datasets: list[str]) -> tuple[str, str]:
    """(version, reason): MAJOR for a new base, MINOR for new training data, PATCH for a retrain."""
    entries = []
    for entry in (registry / name).glob(f"*/{ENTRY_FILE}"):
        entries.append(json.loads(entry.read_text(encoding="utf-8")))
    if not entries:
        return "1.0.0", "first release"
    latest = max(entries, key=lambda e: tuple(int(p) for p in e["version"].split(".")))
    major, minor, patch = (int(p) for p in latest["version"].split("."))
    if latest["base_fingerprint"] != base_fingerprint:
        return f"{major + 1}.0.0", "new base model"
    if sorted(latest["datasets"]) != sorted(datasets):
        return f"{major}.{minor + 1}.0", "new training data (a new capability)"
    return f"{major}.{minor}.{patch + 1}", "retrain on the same data"


def run_pipeline(
    config_path: str | Path,
    *,
    store: RunStore,
    resume: bool = False,
    say: Say = lambda message: None,
    progress: bool = True,
    extra_callbacks: list[Any] | None = None,
    data_dir: str | None = None,
) -> PipelineResult:
    from harness.data.tables import read_records
    from harness.gate.judging import judge_run
    from harness.paths import cache_dir
    from harness.runner.execute import execute_run
    from harness.schema.results import load_results
    from harness.store.audit import record_event
    from harness.training.data import mix, split_examples, to_example
    from harness.training.trainer import train_adapter

    config = load_train_config(config_path)
    work_dir = config.output_dir / config.name
    runs_dir = work_dir / "runs"
    base_ref = check_inputs(config, Path(config_path), store)
    sources = preflight(config, store, say)

    base_fingerprint = base_ref.fingerprint()
    spec_kwargs: dict[str, Any] = {
        "suites": config.suites,
        "limit": config.eval_limit,
        "suite_limits": dict(config.eval_limits),
        "data_dir": data_dir,
        "skip_unavailable": True,
        "gen_kwargs": {"max_gen_toks": config.max_gen_toks} if config.max_gen_toks else {},
    }
    baseline_spec = RunSpec(model=base_ref, **spec_kwargs)
    baseline_dir = find_reusable_run(store, baseline_spec)
    if baseline_dir is not None:
        say(f"baseline: reusing run {baseline_dir.name} of the same model, suites and items")
    else:
        say("baseline: evaluating the base model")
        _, baseline_dir = execute_run(
            baseline_spec, runs_dir, store=store, cache_root=cache_dir(), progress=lambda m: say(f"baseline: {m}")
        )

    examples = []
    for (_, ref, path), (_, weight) in zip(sources, config.mix(), strict=True):
        rows = read_records(path)
        train, evaluation, dropped = split_examples([to_example(r, ref) for r in rows])
        examples.append((train, evaluation, weight, ref, dropped))
    train_set = mix([(t, w) for t, _, w, _, _ in examples], config.seed)
    eval_set = [e for _, ev, _, _, _ in examples for e in ev]
    say(
        f"training: {len(train_set)} examples in the mix, {len(eval_set)} for eval loss, "
        f"{sum(d for *_, d in examples)} held-out domain items excluded"
    )
    outcome = train_adapter(
        config,
        train_set,
        eval_set,
        work_dir,
        resume=resume,
        progress=progress,
        extra_callbacks=extra_callbacks,
        identity=_training_identity(config, train_set, eval_set),
    )
    record: dict[str, Any] = {
        "schema_version": "1",
        "name": config.name,
        "config": str(config_path),
        "config_sha256": sha256_file(Path(config_path)),
        "base_model": config.base_model,
        "base_fingerprint": base_fingerprint,
        "datasets": [
            {"ref": ref, "sha256": sha256_file(path), "weight": w}
            for (_, ref, path), (_, w) in zip(sources, config.mix(), strict=True)
        ],
        "examples": {"train": len(train_set), "eval": len(eval_set)},
        "hyperparameters": config.model_dump(mode="json", exclude={"data", "output_dir"}),
        "steps": outcome.global_step,
        "max_steps": outcome.max_steps,
        "stopped_early": outcome.stopped_early,
        "interrupted": outcome.interrupted,
        "seconds": outcome.seconds,
        "curves": outcome.curves,
        **training_resources(outcome, base_ref),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if outcome.interrupted:
        atomic_write_json(work_dir / RECORD_FILE, record)
        return PipelineResult("interrupted", work_dir, None, record)
    assert outcome.adapter_dir is not None
    tuned_ref = ModelRef(config.base_model, adapter=str(outcome.adapter_dir))
    record["adapter_fingerprint"] = tuned_ref.fingerprint()
    losses = outcome.eval_losses
    say(
        f"training: {outcome.global_step} steps in {outcome.seconds:.0f} s"
        + (f", eval loss {losses[0]:.3f} -> {min(losses):.3f}" if losses else "")
        + (" (stopped early)" if outcome.stopped_early else "")
    )

    say("tuned: evaluating base + adapter")
    tuned_result, tuned_dir = execute_run(
        RunSpec(model=tuned_ref, **spec_kwargs),
        runs_dir,
        store=store,
        cache_root=cache_dir(),
        progress=lambda m: say(f"tuned: {m}"),
    )
    record["baseline_run"] = baseline_dir.name
    record["tuned_run"] = tuned_result.run_id
    atomic_write_json(work_dir / RECORD_FILE, record)
    atomic_write_json(tuned_dir / RECORD_FILE, record)  # the dossier of the tuned run shows it
    record_event(
        store,
        tuned_result.run_id,
        "training",
        {
            "name": config.name,
            "config_sha256": record["config_sha256"],
            "base_fingerprint": base_fingerprint,
            "adapter_fingerprint": record["adapter_fingerprint"],
            "datasets": [{"ref": d["ref"], "sha256": d["sha256"]} for d in record["datasets"]],
            "steps": outcome.global_step,
            "stopped_early": outcome.stopped_early,
            "baseline_run": baseline_dir.name,
            "record_sha256": sha256_file(tuned_dir / RECORD_FILE),
        },
    )
    verdict = judge_run(
        config.policy,
        tuned_result,
        tuned_dir,
        load_results(baseline_dir),
        store,
        baseline_dir,
        [ref for _, ref, _ in sources],
    )
    if verdict.verdict != "pass":
        failed = [o for o in verdict.outcomes if o.blocking]
        reasons = "; ".join(f"{o.rule_id} ({o.outcome}: {o.evidence})" for o in failed)
        record_event(
            store,
            tuned_result.run_id,
            "rejection",
            {
                "name": config.name,
                "policy": verdict.policy,
                "verdict": verdict.verdict,
                "failed_rules": [o.rule_id for o in failed],
                "adapter_fingerprint": record["adapter_fingerprint"],
            },
        )
        return _reject(work_dir, record, verdict, reasons)

    registry = config.output_dir / "registry"
    version, why = next_version(registry, config.name, base_fingerprint, [d["ref"] for d in record["datasets"]])
    entry_dir = registry / config.name / version
    if entry_dir.exists():
        raise HarnessError(f"{entry_dir} exists already")
    shutil.copytree(outcome.adapter_dir, entry_dir / "adapter")
    promoted_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    entry = {
        "name": config.name,
        "version": version,
        "why": why,
        "adapter_fingerprint": record["adapter_fingerprint"],
        "base_model": config.base_model,
        "base_fingerprint": base_fingerprint,
        "datasets": [d["ref"] for d in record["datasets"]],
        "tuned_run": tuned_result.run_id,
        "baseline_run": baseline_dir.name,
        "verdict": verdict.verdict,
        "policy": verdict.policy,
        "promoted_at": promoted_at,
    }
    atomic_write_json(entry_dir / ENTRY_FILE, entry)
    atomic_write_json(entry_dir / RECORD_FILE, record)
    atomic_write_text(entry_dir / "PROMOTED", f"{config.name} {version}: {why}\n")
    record_event(
        store,
        tuned_result.run_id,
        "promotion",
        {
            "name": config.name,
            "version": version,
            "why": why,
            "policy": verdict.policy,
            "verdict": verdict.verdict,
            "adapter_fingerprint": record["adapter_fingerprint"],
            "entry": str(entry_dir.resolve()),
            "entry_sha256": sha256_file(entry_dir / ENTRY_FILE),
        },
    )
    from harness.reports.dossier import render_dossier

    # rendered after the promotion event, from which the dossier and its card take the registry version
    # (the training record stays as the training event hashed it)
    dossier = render_dossier(
        tuned_dir, entry_dir / "dossier", store=store, datasets=[ref for _, ref, _ in sources], kind="model"
    )
    shutil.copy(dossier.readme, entry_dir / "README.md")
    return PipelineResult("promoted", work_dir, entry_dir, record, verdict)


def training_resources(outcome: Any, base_ref: ModelRef) -> dict[str, Any]:
    """What the training record says about the model and its compute (Annex IV 2(c), Annex XI 1(1)(d),
    1(2)(d)-(e)): the base and adapter architecture read from their headers, hardware, tokens, and estimates
    of floating-point operations and energy, each with its method."""
    from harness.errors import ModelError
    from harness.models.architecture import model_architecture
    from harness.training.trainer import energy_estimate

    try:
        architecture = model_architecture(base_ref.base_dir, outcome.adapter_dir)
    except ModelError:
        architecture = None
    parameters = architecture.parameters if architecture is not None else None
    tokens = outcome.tokens_processed
    flops = 6 * parameters * tokens if parameters and tokens else None
    return {
        "architecture": architecture.to_dict() if architecture is not None else None,
        "hardware": outcome.hardware,
        "tokens": {"train_set": outcome.train_tokens, "epochs": outcome.epochs_done, "trained": tokens},
        "compute": {
            "flops": flops,
            "parameters": parameters,
            "method": "estimate: 6 x parameters x tokens processed (Kaplan et al. 2020); an upper bound for LoRA, "
            "which skips the frozen weights' gradients",
        },
        "energy": energy_estimate(outcome.hardware, outcome.seconds),
    }


def _training_identity(config: TrainConfig, train: list[Any], evaluation: list[Any]) -> str:
    """SHA-256 of what a checkpoint was trained on: the config (less paths) and the examples, in order."""
    from harness.files.hashing import sha256_text

    settings = config.model_dump(
        mode="json", exclude={"output_dir", "policy", "suites", "eval_limit", "eval_limits", "max_gen_toks"}
    )
    examples = [[e.id, e.prompt, e.response] for e in train] + [["eval", e.id] for e in evaluation]
    return sha256_text(json.dumps([settings, examples], sort_keys=True))


def _reject(work_dir: Path, record: dict[str, Any], verdict: Any, reasons: str) -> PipelineResult:
    atomic_write_text(work_dir / "REJECTED", f"rejected by policy {verdict.policy}: {reasons}\n")
    return PipelineResult("rejected", work_dir, None, record, verdict)
