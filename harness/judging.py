"""Judging a stored run: apply a policy, keep the verdict next to the run and in the store."""

from __future__ import annotations

from pathlib import Path

from harness.atomic import atomic_write_json
from harness.gate import Verdict, evaluate_policy
from harness.hashing import sha256_file
from harness.policy import load_policy
from harness.results import RunResult
from harness.store import RunStore

VERDICT_FILE = "verdict.json"


def judge_run(
    policy_ref: str | Path, run: RunResult, run_dir: Path, baseline: RunResult | None, store: RunStore
) -> Verdict:
    """Evaluate ``policy_ref`` on ``run``; write ``verdict.json`` atomically and record it."""
    policy, policy_path = load_policy(policy_ref)
    verdict = evaluate_policy(
        policy, run, baseline, policy_path=str(policy_path), policy_sha256=sha256_file(policy_path)
    )
    verdict_path = atomic_write_json(run_dir / VERDICT_FILE, verdict.model_dump(mode="json"))
    store.record_verdict(
        run.run_id, policy.name, verdict.verdict, verdict.created_at, baseline=verdict.baseline_run_id, path=verdict_path
    )
    return verdict
