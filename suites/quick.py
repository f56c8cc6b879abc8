"""The quick check: a handful of questions with checkable answers across five domains.

The methodology's first method of quality validation: a few hand-picked questions in
math, code, reasoning, factual knowledge and problem solving, a pass rate per domain and
overall, and a band: 70% or more proceed, 50-70% review, under 50% debug (the shipped
policy ``quick-check`` holds the bands). Numbers are compared as numbers, code is run
against its tests in a bounded subprocess (:mod:`harness.scoring.sandbox`), never in the
harness process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.schema.results import ItemRecord, MetricKind
from harness.suites.base import SuiteScores, register_suite
from harness.suites.generated import GeneratedSuite, data_folder

PASS = MetricKind(
    direction="higher",
    unit="proportion",
    label="pass rate",
    definition="share of quick-check questions answered right; Wilson interval",
)
BANDS = ((0.70, "proceed"), (0.50, "review"), (0.0, "debug"))


def band(score: float) -> str:
    """The methodology's band of a quick-check score: >= 70% proceed, 50-70% review, < 50% debug."""
    return next(name for floor, name in BANDS if score >= floor)


@register_suite
class Quick(GeneratedSuite):
    name = "quick"
    headline = "quick.score"
    scorer = "quick"
    runs_model_code = True
    system = "Answer briefly. For code, answer with the Python function only."
    max_tokens = 200
    kind_field = "domain"
    headline_kind = PASS

    def sources(self) -> list[Path]:
        return [data_folder("quick") / "questions.jsonl"]

    def documents(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            row | {"input": row["prompt"], "target": str(row.get("answer", row.get("entry_point", "")))} for row in rows
        ]

    def score(self, records: list[ItemRecord]) -> SuiteScores:
        scores = super().score(records)
        headline = next((m for m in scores.metrics if m.name == self.headline), None)
        if headline is not None and headline.value is not None:
            scores.details |= {
                "band": band(headline.value),
                "bands": "70% or more: proceed; 50-70%: review; under 50%: debug",
            }
        return scores
