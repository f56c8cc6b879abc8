"""Judging a stored run: apply a policy, keep the verdict next to the run and in the store.

A run can be judged under several policies and against several baselines; each verdict is
kept as ``verdicts/<policy>--<baseline run id or "none">.json`` in the run directory, and
``verdict.json`` holds the latest one (what the report reads). A later gate replaces a
kept verdict only for the same policy and baseline, so one policy's verdict never
silently overwrites another's.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from harness.comparison import compare_runs
from harness.errors import InputError
from harness.files.atomic import atomic_write_json
from harness.files.hashing import sha256_file
from harness.gate.evaluate import evaluate_policy
from harness.gate.policy import load_policy
from harness.schema.comparison import RunComparison, comparison_file_name
from harness.schema.results import ITEMS_FILE, RunResult, read_items
from harness.schema.verdict import VERDICT_FILE, VERDICTS_DIR, Verdict, verdict_file_name
from harness.store.audit import audit_head, record_event
from harness.store.runs import RunStore

__all__ = ["VERDICTS_DIR", "VERDICT_FILE", "judge_run", "keep_verdict", "list_verdicts", "paired_comparison"]


def judge_run(
    policy_ref: str | Path,
    run: RunResult,
    run_dir: Path,
    baseline: RunResult | None,
    store: RunStore,
    baseline_dir: Path | None = None,
    datasets: list[str] | None = None,
) -> Verdict:
    """Evaluate ``policy_ref`` on ``run``; keep the verdict (see :func:`keep_verdict`) and record it in the store.

    With a baseline whose item records are at hand, the run is first compared with it
    item by item (``comparison-<baseline run id>.json``), so drop rules can test
    significance. Each dataset version in ``datasets`` adds its stored evidence as
    ``data.<name>.<metric>``. The verdict records the audit log's head it saw, and the
    gate is appended to the log as a ``gate`` event naming the verdict file's hash.
    """
    from harness.data.registry import dataset_metrics

    policy, policy_path = load_policy(policy_ref)
    names = [ref.split("@")[0] for ref in datasets or []]
    if len(set(names)) != len(names):
        raise InputError(f"give one version per dataset: {', '.join(datasets or [])} name one dataset twice")
    data = {ref: dataset_metrics(store, ref) for ref in datasets or []}
    comparison = None
    if baseline is not None and baseline_dir is not None:
        comparison = paired_comparison(baseline, baseline_dir, run, run_dir, alpha=policy.alpha)
    verdict = evaluate_policy(
        policy,
        run,
        baseline,
        policy_path=str(policy_path),
        policy_sha256=sha256_file(policy_path),
        comparison=comparison,
        datasets=data,
    )
    verdict = verdict.model_copy(update={"audit_head": audit_head(store)})
    verdict_path = keep_verdict(run_dir, verdict).resolve()
    store.record_verdict(
        run.run_id,
        policy.name,
        verdict.verdict,
        verdict.created_at,
        baseline=verdict.baseline_run_id,
        path=verdict_path,
    )
    record_event(
        store,
        run.run_id,
        "gate",
        {
            "policy": policy.name,
            "policy_sha256": verdict.policy_sha256,
            "baseline_run_id": verdict.baseline_run_id,
            "verdict": verdict.verdict,
            "verdict_file": str(verdict_path),
            "verdict_sha256": sha256_file(verdict_path),
            "fingerprint": run.model.fingerprint,
        },
    )
    return verdict


def paired_comparison(
    baseline: RunResult, baseline_dir: Path, run: RunResult, run_dir: Path, *, alpha: float
) -> RunComparison | None:
    """Compare ``run`` with ``baseline`` item by item, kept as ``comparison-<baseline run id>.json``; None without item records."""
    if not (baseline_dir / ITEMS_FILE).is_file() or not (run_dir / ITEMS_FILE).is_file():
        return None
    comparison = compare_runs(
        baseline, read_items(baseline_dir / ITEMS_FILE), run, read_items(run_dir / ITEMS_FILE), alpha=alpha
    )
    atomic_write_json(run_dir / comparison_file_name(baseline.run_id), comparison.model_dump(mode="json"))
    return comparison


def keep_verdict(run_dir: Path, verdict: Verdict) -> Path:
    """Write ``verdicts/<policy>--<baseline>.json`` and make it the latest ``verdict.json``; the kept file's path.

    A ``verdict.json`` written before verdicts were kept per policy (so with no kept copy)
    is first copied into ``verdicts/``, so a gate under another policy never loses it.
    """
    _keep_previous(run_dir)
    data = verdict.model_dump(mode="json")
    kept = atomic_write_json(run_dir / VERDICTS_DIR / verdict_file_name(verdict.policy, verdict.baseline_run_id), data)
    atomic_write_json(run_dir / VERDICT_FILE, data)
    return kept


def _keep_previous(run_dir: Path) -> None:
    latest = run_dir / VERDICT_FILE
    if not latest.is_file():
        return
    previous = _read_verdict(latest)
    target = run_dir / VERDICTS_DIR / verdict_file_name(previous.policy, previous.baseline_run_id)
    if not target.is_file():
        atomic_write_json(target, previous.model_dump(mode="json"))


def list_verdicts(run_dir: Path) -> list[Verdict]:
    """Every verdict kept for the run, one per policy and baseline, oldest first.

    Reads ``verdicts/``; a run gated before verdicts were kept per policy has only
    ``verdict.json``, which is then the one verdict listed.
    """
    folder = run_dir / VERDICTS_DIR
    kept = [_read_verdict(path) for path in sorted(folder.glob("*.json"))] if folder.is_dir() else []
    if not kept and (run_dir / VERDICT_FILE).is_file():
        kept = [_read_verdict(run_dir / VERDICT_FILE)]
    return sorted(kept, key=lambda v: (v.created_at, v.policy, v.baseline_run_id or ""))


def _read_verdict(path: Path) -> Verdict:
    try:
        return Verdict.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, UnicodeDecodeError):
        raise InputError(f"{path}: not a harness verdict file") from None
