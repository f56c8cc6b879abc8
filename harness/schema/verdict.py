"""Gate verdicts: one outcome per rule, an overall verdict and its exit code."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Outcome = Literal["pass", "warn", "fail", "not-measured"]

EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
VERDICT_FILE = "verdict.json"


class RuleOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule_id: str
    metric: str
    bound: str
    severity: Literal["block", "warn"]
    article: str
    why: str
    outcome: Outcome
    blocking: bool
    value: float | None = None
    n: int | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    baseline_value: float | None = None
    change: float | None = None
    change_ci_low: float | None = None
    change_ci_high: float | None = None
    p_value: float | None = None
    significant: bool | None = None
    evidence: str


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: Literal["1"] = "1"
    run_id: str
    baseline_run_id: str | None
    policy: str
    policy_path: str
    policy_sha256: str
    datasets: list[str] = []
    created_at: str
    verdict: Literal["pass", "fail"]
    exit_code: int
    outcomes: list[RuleOutcome]

    def counts(self) -> dict[str, int]:
        out = {"pass": 0, "warn": 0, "fail": 0, "not-measured": 0}
        for o in self.outcomes:
            out[o.outcome] += 1
        return out
