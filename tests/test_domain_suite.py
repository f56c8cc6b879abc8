"""The domain suite: a held-out split of the sample data, scored by choice text with acc_norm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.models.modelref import ModelRef
from harness.runner.execute import execute_run
from harness.runner.spec import RunSpec
from harness.schema.results import read_items
from harness.suites.domain import is_held_out, sample_dir, split_ids


def test_split_is_deterministic_disjoint_and_about_one_in_five() -> None:
    ids = [json.loads(line)["id"] for line in (sample_dir() / "multiple_choice.jsonl").read_text().splitlines()]
    train, held = split_ids(ids)
    assert set(train).isdisjoint(held) and len(train) + len(held) == len(ids)
    assert 0.1 < len(held) / len(ids) < 0.3
    assert split_ids(ids) == (train, held) and all(is_held_out(i) for i in held)


@pytest.mark.slow
def test_domain_suite_scores_held_out_items_and_prediction_matches_correctness(
    tiny_model: Path, tmp_path: Path
) -> None:
    spec = RunSpec(model=ModelRef(str(tiny_model)), suites=["domain"])
    result, run_dir = execute_run(spec, tmp_path, store=None, cache_root=None)
    records = read_items(run_dir / "items.jsonl")
    held = [
        i
        for i in (json.loads(line)["id"] for line in (sample_dir() / "multiple_choice.jsonl").read_text().splitlines())
        if is_held_out(i)
    ]
    assert sorted(r.item_id for r in records) == sorted(f"domain/{i}" for i in held)
    assert all(r.correct == (r.prediction == r.target) for r in records)  # acc_norm and the recorded prediction agree
    accuracy = result.metric("domain.accuracy")
    assert accuracy.n == len(held) and accuracy.ci_method == "wilson"
