"""Judging a stored run: apply a policy, keep the verdict next to the run and in the store."""

from __future__ import annotations

from pathlib import Path

from harness.comparison import compare_runs
from harness.errors import InputError
from harness.files.atomic import atomic_write_json
from harness.files.hashing import sha256_file
from harness.gate.evaluate import evaluate_policy
from harness.gate.policy import load_policy
from harness.schema.comparison import RunComparison, comparison_file_name
from harness.schema.results import ITEMS_FILE, RunResult, read_items
from harness.schema.verdict import VERDICT_FILE, Verdict
from harness.store.runs import RunStore

__all__ = ["VERDICT_FILE", "judge_run", "paired_comparison"]


def judge_run(
    policy_ref: str | Path,
    run: RunResult,
    run_dir: Path,
    baseline: RunResult | None,
    store: RunStore,
    baseline_dir: Path | None = None,
    datasets: list[str] | None = None,
) -> Verdict:
    """Evaluate ``policy_ref`` on ``run``; write ``verdict.json`` atomically and record it.

    With a baseline whose item records are at hand, the run is first compared with it
    item by item (``comparison-<baseline run id>.json``), so drop rules can test
    significance. Each dataset version in ``datasets`` adds its stored evidence as
    ``data.<name>.<metric>``.
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
    verdict_path = atomic_write_json(run_dir / VERDICT_FILE, verdict.model_dump(mode="json"))
    store.record_verdict(
        run.run_id,
        policy.name,
        verdict.verdict,
        verdict.created_at,
        baseline=verdict.baseline_run_id,
        path=verdict_path,
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
