"""Gate verdicts: one outcome per rule, an overall verdict and its exit code."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Outcome = Literal["pass", "warn", "fail", "not-measured"]

EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
VERDICT_FILE = "verdict.json"
VERDICTS_DIR = "verdicts"


def verdict_file_name(policy: str, baseline_run_id: str | None) -> str:
    """``<policy>--<baseline run id or "none">.json``: one kept verdict per policy and baseline.

    Characters other than letters, digits, ``.``, ``_`` and ``-`` become ``_``, so any
    policy name makes one plain file name.
    """

    def safe(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]", "_", text).lstrip(".") or "_"

    return f"{safe(policy)}--{safe(baseline_run_id) if baseline_run_id else 'none'}.json"


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
    p_value: float | None = Field(default=None, description="the rule's own test, unadjusted: one pre-declared test")
    significant: bool | None = None
    chance: float | None = Field(default=None, description="above_chance rules: the metric's chance level")
    test: str | None = Field(default=None, description="max_drop rules: difference or non-inferiority")
    tolerance: float | None = Field(
        default=None, description="max_drop rules: the largest allowed fall, in the metric's units"
    )
    items_needed: int | None = Field(
        default=None,
        description="non-inferiority rules that could not pass for want of data: roughly how many paired items "
        "would let an unchanged model pass",
    )
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
    audit_head: str | None = Field(
        default=None,
        description="the audit log's newest entry hash when the verdict was written; "
        "harness audit verify checks it is still in the log",
    )

    def counts(self) -> dict[str, int]:
        out = {"pass": 0, "warn": 0, "fail": 0, "not-measured": 0}
        for o in self.outcomes:
            out[o.outcome] += 1
        return out
