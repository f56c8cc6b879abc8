"""The training config: the methodology's defaults, and one-line errors with file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import InputError
from harness.training.config import load_train_config

GOOD = """\
name: fire-advisor
base_model: models/tiny
data:
  - dataset: emergency-instructions@1.0.0
    weight: 0.8
  - file: general.jsonl
    name: general-replay
    weight: 0.2
"""


def test_defaults_follow_the_methodology_notes(tmp_path: Path) -> None:
    path = tmp_path / "train.yaml"
    path.write_text(GOOD)
    config = load_train_config(path)
    assert (config.lora.rank, config.lora.alpha, config.lora.dropout) == (16, 32, 0.05)
    assert config.learning_rate == 2e-4 and config.schedule.warmup_ratio == 0.1
    assert (config.early_stopping.patience, config.early_stopping.threshold) == (3, 0.001)
    assert [round(w, 3) for _, w in config.mix()] == [0.8, 0.2]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (GOOD.replace("    weight: 0.8\n", "    weight: -1\n"), ":5: data.0.weight"),
        (GOOD + "lora:\n  rank: 0\n", ":10: lora.rank"),
        (GOOD + "schedule:\n  min_lr: 0.1\n", "min_lr must not exceed learning_rate"),
        (
            GOOD.replace("  - file: general.jsonl\n    name: general-replay\n", "  - file: general.jsonl\n"),
            "needs the name",
        ),
        (GOOD + "epoch: 3\n", ":9: epoch: Extra inputs are not permitted"),
    ],
)
def test_bad_configs_name_file_line_and_field(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "train.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=None) as info:
        load_train_config(path)
    assert where in str(info.value) and str(path) in str(info.value)


def test_structured_training_rows_are_asked_as_the_structured_suite_asks() -> None:
    """The JSON training data carries a ready prompt worded as the evaluation items are (situation, then the
    instruction); it wins over instruction/input, and the JSON answer is the response."""
    import json

    from harness.suites.generated import data_folder
    from harness.training.data import to_example

    folder = data_folder("structured")
    rows = [json.loads(line) for line in (folder / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    items = [json.loads(line) for line in (folder / "items.jsonl").read_text(encoding="utf-8").splitlines()]
    example = to_example(rows[0], "json")
    assert example.prompt == rows[0]["input"].strip() + "\n\n" + rows[0]["instruction"].strip()
    assert json.loads(example.response) == json.loads(rows[0]["output"])
    assert all(row["prompt"].endswith(row["instruction"].strip()) for row in rows)
    assert all("\n\n" in item["prompt"] for item in items)  # the evaluation items: situation, blank line, instruction
    assert {item["prompt"] for item in items}.isdisjoint(row["prompt"] for row in rows)  # no item trained on
    plain = to_example({"id": "x", "instruction": "Do it.", "input": "Now.", "output": "ok"}, "s")
    assert plain.prompt == "Do it.\n\nNow."  # the instruction format keeps its order
