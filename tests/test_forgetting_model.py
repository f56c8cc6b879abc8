"""Forgetting on real models: a model that knows its items, unchanged and then damaged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.models.tiny import build_tiny_adapter
from tests.helpers import invoke
from tests.teaching import gold_requests, teach

pytestmark = pytest.mark.slow

POLICY = """\
name: forgetting
rules:
  - id: no-forgetting
    metric: mmlu.accuracy
    max_drop: 0.05
    relative: true
    article: "EU AI Act Art. 15(1)"
    why: general knowledge may not fall by more than 5% relative
"""


@pytest.fixture(scope="module")
def runs(tiny_model: Path, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("forgetting")
    store = f"sqlite:///{root / 'runs.db'}"

    def run(model: Path, adapter: Path | None = None) -> Path:
        args = [
            "--store",
            store,
            "run",
            str(model),
            "--suites",
            "mmlu",
            "--data-dir",
            str(data_dir),
            "--limit",
            "2",
            "--out",
            str(root / "runs"),
            "--json",
        ]
        code, stdout, stderr = invoke(*args, *(["--adapter", str(adapter)] if adapter else []))
        assert code == 0, stderr
        return Path(json.loads(stdout)["run_dir"])

    first = run(tiny_model)
    taught = teach(tiny_model, gold_requests(first), root / "taught", steps=50)
    damage = build_tiny_adapter(taught, root / "damage", scale=3.0)
    (root / "policy.yaml").write_text(POLICY)
    return {
        "store": store,
        "base": run(taught),
        "again": run(taught),
        "damaged": run(taught, damage),
        "policy": root / "policy.yaml",
    }


def test_the_taught_model_is_far_above_chance(runs: dict[str, Path]) -> None:
    results = json.loads((runs["base"] / "results.json").read_text())
    accuracy = next(m for m in results["metrics"] if m["name"] == "mmlu.accuracy")
    assert accuracy["value"] > 0.8 and accuracy["n"] == 114


def test_the_same_model_twice_shows_no_significant_drop_and_passes(runs: dict[str, Path]) -> None:
    code, stdout, _ = invoke(
        "--store",
        runs["store"],
        "gate",
        str(runs["again"]),
        "--baseline",
        str(runs["base"]),
        "--policy",
        str(runs["policy"]),
        "--json",
    )
    assert code == 0
    outcome = json.loads(stdout)["outcomes"][0]
    assert outcome["outcome"] == "pass" and outcome["p_value"] == 1.0 and outcome["change"] == 0


def test_a_damaging_adapter_is_a_significant_drop_and_fails(runs: dict[str, Path]) -> None:
    code, stdout, _ = invoke(
        "--store",
        runs["store"],
        "gate",
        str(runs["damaged"]),
        "--baseline",
        str(runs["base"]),
        "--policy",
        str(runs["policy"]),
        "--json",
    )
    assert code == 1
    outcome = json.loads(stdout)["outcomes"][0]
    assert outcome["outcome"] == "fail" and outcome["significant"] is True and outcome["p_value"] < 1e-6
    assert outcome["change_ci_high"] < -0.3
    comparison = json.loads((runs["damaged"] / f"comparison-{runs['base'].name}.json").read_text())
    assert comparison["reference_run"] == runs["base"].name


def test_compare_prints_the_paired_table(runs: dict[str, Path]) -> None:
    code, stdout, stderr = invoke("--store", runs["store"], "compare", str(runs["base"]), str(runs["damaged"]))
    assert code == 0, stderr
    row = next(line for line in stdout.splitlines() if line.startswith("mmlu.accuracy "))
    assert "significant" in row
    code, stdout, _ = invoke("--store", runs["store"], "compare", str(runs["base"]), str(runs["damaged"]), "--json")
    rows = {c["metric"]: c for c in json.loads(stdout)["comparisons"]}
    assert rows["mmlu.accuracy"]["test"] == "mcnemar-exact" and rows["mmlu.accuracy"]["n"] == 114
    assert rows["mmlu.accuracy"]["relative_drop"] > 0.3
