"""The project's synthetic sample data passes its own checks and its raters disagree, really."""

from __future__ import annotations

import json
from pathlib import Path

from harness.data.agreement import agreement_report
from harness.data.conflicts import resolve_ratings
from harness.data.expectations import validate_frame
from harness.data.tables import read_table

SAMPLE = Path(__file__).resolve().parent.parent / "suites" / "data" / "emergency"


def test_sample_files_pass_their_expectation_suites() -> None:
    for name, suite in (
        ("instructions.jsonl", "instruction-data"),
        ("multiple_choice.jsonl", "multiple-choice"),
        ("ratings.csv", "ratings"),
    ):
        report = validate_frame(read_table(SAMPLE / name), suite, data_label=name)
        assert report.success, [o for o in report.outcomes if not o.success]


def test_about_two_hundred_items_with_a_multiple_choice_form_for_each() -> None:
    items = [json.loads(line) for line in (SAMPLE / "instructions.jsonl").read_text(encoding="utf-8").splitlines()]
    mc = [json.loads(line) for line in (SAMPLE / "multiple_choice.jsonl").read_text(encoding="utf-8").splitlines()]
    assert 180 <= len(items) <= 220 and [i["id"] for i in items] == [m["id"] for m in mc]
    assert {i["hazard"] for i in items} == {"wildfire", "hazmat", "evacuation", "search_and_rescue"}
    assert all(len(set(m["choices"])) == 4 for m in mc)
    assert "synthetic" in (SAMPLE / "README.md").read_text(encoding="utf-8").lower()


def test_sample_raters_agree_substantially_but_not_perfectly() -> None:
    report = agreement_report(SAMPLE / "ratings.csv", n_boot=100)
    assert report.raters == ["civil-protection-c", "fire-officer-a", "hazmat-specialist-b"]
    assert 0.7 < report.metric("kappa").value < 0.95 and report.missing_ratings > 0
    conflicts = resolve_ratings(SAMPLE / "ratings.csv")
    assert conflicts.resolved_by_majority > 0 and conflicts.needs_third_expert > 0
