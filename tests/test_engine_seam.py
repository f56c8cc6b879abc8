"""The seam: a suite added from outside harness runs end to end; stored work is never asked for twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.models.modelref import ModelRef, loads_so_far
from harness.runner.execute import execute_run
from harness.runner.spec import RunSpec
from harness.store import RunStore
from harness.suites import base as suite_base
from harness.suites import register_suite
from harness.suites.choice import MultipleChoiceSuite
from tests.helpers import invoke

pytestmark = pytest.mark.slow

CAPITALS = [
    {
        "id": f"c{i}",
        "question": f"What is the capital of {country}?",
        "choices": choices,
        "answer": 0,
        "subject": region,
    }
    for i, (country, choices, region) in enumerate(
        [
            ("France", ["Paris", "Lyon", "Nice", "Lille"], "europe"),
            ("Greece", ["Athens", "Patras", "Volos", "Chania"], "europe"),
            ("Japan", ["Tokyo", "Osaka", "Kyoto", "Sapporo"], "asia"),
            ("Kenya", ["Nairobi", "Mombasa", "Kisumu", "Nakuru"], "africa"),
            ("Peru", ["Lima", "Cusco", "Arequipa", "Trujillo"], "americas"),
            ("Canada", ["Ottawa", "Toronto", "Montreal", "Vancouver"], "americas"),
        ]
    )
]


@pytest.fixture()
def capitals_suite(tmp_path: Path) -> Iterator[str]:
    """A multiple-choice suite written here, in the test, and registered like any other."""
    data = tmp_path / "capitals.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in CAPITALS), encoding="utf-8")

    @register_suite
    class Capitals(MultipleChoiceSuite):
        name = "capitals"
        headline = "capitals.accuracy"

        def data_file(self) -> Path:
            return data

    yield Capitals.name
    suite_base._REGISTERED.pop(Capitals.name)


def test_a_suite_registered_from_a_test_runs_end_to_end(capitals_suite: str, tiny_model: Path, tmp_path: Path) -> None:
    code, stdout, stderr = invoke(
        "run", str(tiny_model), "--suites", capitals_suite, "--out", str(tmp_path / "runs"), "--json"
    )
    assert code == 0, stderr
    run_dir = Path(json.loads(stdout)["run_dir"])
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    metrics = {m["name"]: m for m in results["metrics"]}
    headline = metrics["capitals.accuracy"]
    assert headline["n"] == len(CAPITALS) and headline["scope"] == "headline" and headline["ci_low"] is not None
    assert (
        metrics["capitals.accuracy.americas"]["scope"] == "subject" and metrics["capitals.accuracy.americas"]["n"] == 2
    )

    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "name: capitals\nrules:\n  - metric: capitals.accuracy\n    min: 0.0\n"
        "    article: EU AI Act Art. 15(1)\n    why: a test rule\n",
        encoding="utf-8",
    )
    code, stdout, _ = invoke("gate", str(run_dir), "--policy", str(policy), "--json")
    assert code == 0
    assert json.loads(stdout)["outcomes"][0]["n"] == len(CAPITALS)

    code, _, stderr = invoke("report", str(run_dir), "--out", str(tmp_path / "report"), "--no-pdf")
    assert code == 0, stderr
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "capitals.accuracy" in html and "capitals per subject" in html and "americas" in html


def test_a_rerun_of_an_unchanged_model_asks_it_nothing(tiny_model: Path, data_dir: Path, tmp_path: Path) -> None:
    store = RunStore(f"sqlite:///{tmp_path / 'runs.db'}")
    spec = RunSpec(model=ModelRef(str(tiny_model)), suites=["mmlu", "calibration"], data_dir=str(data_dir), limit=2)
    first, _ = execute_run(spec, tmp_path / "runs", store=store, cache_root=tmp_path / "cache")
    assert first.cache["model_calls"] > 0 and first.cache["reused_items"] == 0

    loads = loads_so_far()
    again, _ = execute_run(spec, tmp_path / "runs", store=store, cache_root=tmp_path / "cache")
    assert again.cache["model_calls"] == 0 and again.cache["requests"] == 0
    assert again.cache["reused_items"] == first.metric("mmlu.accuracy").n == 114
    assert loads_so_far() == loads, "nothing was missing, so the weights were not even loaded"
    assert [m.model_dump() for m in again.metrics] == [m.model_dump() for m in first.metrics]

    more = RunSpec(model=ModelRef(str(tiny_model)), suites=["mmlu"], data_dir=str(data_dir), limit=3)
    grown, _ = execute_run(more, tmp_path / "runs", store=store, cache_root=tmp_path / "cache")
    assert (
        grown.cache["reused_items"] == 114 and grown.cache["requests"] == 57 * 4
    )  # only the third item of each subject
    assert loads_so_far() == loads + 1

    fresh, _ = execute_run(spec, tmp_path / "runs", store=store, cache_root=None)  # --no-cache asks everything again
    assert fresh.cache["reused_items"] == 0 and fresh.cache["model_calls"] == first.cache["model_calls"]
