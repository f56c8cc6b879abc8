"""``harness select``: a decision record that says "better" only when a paired test finds it significant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import harness.cli
from harness.errors import PolicyError
from harness.intake.render import write_decision_record
from harness.intake.selection import select
from harness.models.modelref import ModelRef
from harness.schema.results import (
    ACCURACY,
    Environment,
    ItemRecord,
    ModelInfo,
    RunResult,
    SuiteStatus,
    write_items,
    write_results,
)
from harness.store.runs import RunStore
from tests.helpers import invoke
from tests.test_intake import build_model

N_ITEMS = 200


@pytest.fixture(scope="module")
def two_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("select-models")
    first = build_model(root / "alpha", context=8192)
    second = build_model(root / "beta", context=4096, card_licence="apache-2.0")
    return first, second


def store_mmlu_run(model: Path, run_id: str, correct: list[bool], folder: Path) -> Path:
    """A stored MMLU run of ``model`` whose item records are correct exactly where ``correct`` says."""
    fingerprint = ModelRef(str(model)).fingerprint()
    items = [
        ItemRecord(
            suite="mmlu",
            item_id=f"mmlu/anatomy/{i}",
            subject="anatomy",
            prompt_hash=f"prompt-{i}",
            choices=["A", "B", "C", "D"],
            loglikelihoods=[-1.0, -2.0, -3.0, -4.0],
            prediction=0,
            target=0 if ok else 1,
            correct=ok,
        )
        for i, ok in enumerate(correct)
    ]
    metric = ACCURACY.with_chance(0.25).proportion(
        "mmlu.accuracy", sum(correct), len(correct), suite="mmlu", scope="headline"
    )
    result = RunResult(
        run_id=run_id,
        created_at="2026-11-21T12:00:00+00:00",
        model=ModelInfo(base=str(model), fingerprint=fingerprint),
        suites=["mmlu"],
        suite_status={"mmlu": SuiteStatus(status="completed", n_items=len(items), headline="mmlu.accuracy")},
        metrics=[metric],
        environment=Environment(python="3.11.7"),
    )
    run_dir = folder / run_id
    write_results(run_dir, result)
    write_items(run_dir / "items.jsonl", items)
    RunStore().index_run(result, run_dir)
    return run_dir


def test_a_significantly_better_model_is_chosen_and_called_better(
    two_models: tuple[Path, Path], tmp_path: Path
) -> None:
    alpha, beta = two_models
    alpha_run = store_mmlu_run(alpha, "run-alpha", [i % 10 < 8 for i in range(N_ITEMS)], tmp_path)  # 80%
    store_mmlu_run(beta, "run-beta", [i % 10 < 6 for i in range(N_ITEMS)], tmp_path)  # 60%: never better
    record, candidates = select([str(alpha), str(beta)], store=RunStore())
    by_runs, _ = select([str(alpha_run), "run-beta"], store=RunStore())  # a run folder and a run id name the same
    assert by_runs.chosen == "alpha" and by_runs.comparisons == record.comparisons
    assert record.status == "decided" and record.chosen == "alpha"
    (finding,) = [f for f in record.comparisons if f.metric == "mmlu.accuracy"]
    assert finding.n == N_ITEMS and finding.significant and finding.test == "mcnemar-exact"
    assert finding.statement.startswith(
        "alpha is better than beta on MMLU accuracy: 80.0% vs 60.0% on 200 shared items"
    )
    assert any(line.startswith("alpha is better than beta") for line in record.rationale)
    by_label = {c.label: c for c in record.candidates}
    assert by_label["alpha"].runs == ["run-alpha"] and by_label["beta"].eligible is False  # 60% is not > 60%
    mmlu = next(r for r in record.matrix if r.id == "mmlu")
    assert mmlu.cells["alpha"].outcome == "pass" and mmlu.cells["alpha"].ci_low is not None
    assert mmlu.cells["beta"].outcome == "fail"
    tracked = {m["metric"]: m for m in record.validation_metrics}
    assert tracked["mmlu.accuracy"]["baseline"] == pytest.approx(0.8)
    assert "76.0%" in str(tracked["mmlu.accuracy"]["track"])  # 5% relative below 80%
    paths = write_decision_record(record, candidates, tmp_path / "record", pdf=False)
    text = paths.markdown.read_text(encoding="utf-8")
    for section in (
        "## Context",
        "## Decision",
        "## Decision matrix",
        "## Alternatives considered",
        "## Consequences",
        "## Validation metrics to track",
    ):
        assert section in text
    saved = json.loads(paths.selection.read_text(encoding="utf-8"))
    assert saved["schema"] == "harness.selection" and saved["schema_version"] == "1" and saved["chosen"] == "alpha"
    assert sorted(p.name for p in paths.intakes) == ["intake-alpha.json", "intake-beta.json"]


def test_equal_models_are_not_called_different_and_the_choice_is_left_to_a_person(
    two_models: tuple[Path, Path], tmp_path: Path
) -> None:
    alpha, beta = two_models
    pattern = [i % 10 < 7 for i in range(N_ITEMS)]
    shifted = pattern[5:] + pattern[:5]  # the same accuracy, different items right: discordant pairs both ways
    store_mmlu_run(alpha, "run-alpha", pattern, tmp_path)
    store_mmlu_run(beta, "run-beta", shifted, tmp_path)
    policy = tmp_path / "equal.yaml"
    policy.write_text(
        "name: equal\ntitle: t\ncontext: c\ncriteria:\n"
        "  - {id: licence, row: licence, weight: 1, required: true}\n"
        "  - {id: mmlu, metric: mmlu.accuracy, weight: 1, required: true}\n",
        encoding="utf-8",
    )
    record, _ = select([str(alpha), str(beta)], policy=policy, store=RunStore())
    assert record.status == "undecided" and record.chosen is None
    assert "no significant difference separates them" in record.decision
    (finding,) = record.comparisons
    assert not finding.significant
    assert finding.statement.startswith(
        "no significant difference between alpha and beta on MMLU accuracy: 70.0% vs 70.0%"
    )
    assert " is better than " not in " ".join(record.rationale)


def test_a_criterion_naming_an_unknown_row_is_a_policy_error(two_models: tuple[Path, Path], tmp_path: Path) -> None:
    policy = tmp_path / "bad.yaml"
    policy.write_text(
        "name: bad\ntitle: t\ncontext: c\ncriteria:\n  - {id: x, row: colour, weight: 1}\n", encoding="utf-8"
    )
    with pytest.raises(PolicyError, match="criterion x: row 'colour' is not a check of base-model-minimums"):
        select([str(two_models[0])], policy=policy)


@pytest.fixture
def select_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    """``harness select`` as the CLI will list it (harness/cli/__init__.py COMMANDS)."""
    monkeypatch.setitem(harness.cli.COMMANDS, "select", "harness.cli.select:select")


@pytest.mark.slow
@pytest.mark.usefixtures("select_commands")
def test_select_on_two_tiny_models_of_different_seeds_finds_no_significant_difference(
    tmp_path: Path, data_dir: Path
) -> None:
    from pypdf import PdfReader

    from harness.models.tiny import build_tiny_model

    models = [build_tiny_model(tmp_path / f"tiny{seed}", seed=seed) for seed in (0, 1)]
    for model in models:
        code, _, stderr = invoke(
            "run",
            str(model),
            "--suites",
            "mmlu",
            "--limit",
            "2",
            "--data-dir",
            str(data_dir),
            "--out",
            str(tmp_path / "runs"),
        )
        assert code == 0, stderr
    out = tmp_path / "decision"
    code, stdout, stderr = invoke("select", str(models[0]), str(models[1]), "--out", str(out))
    assert code == 1, stderr  # neither tiny model is eligible: no licence, MMLU at chance
    assert "status   none-eligible" in stdout
    record = json.loads((out / "selection.json").read_text(encoding="utf-8"))
    (finding,) = record["comparisons"]
    assert finding["n"] == 114 and finding["significant"] is False
    assert finding["statement"].startswith("no significant difference between tiny0 and tiny1 on MMLU accuracy")
    markdown = (out / "decision-record.md").read_text(encoding="utf-8")
    assert "no significant difference between tiny0 and tiny1" in markdown and " is better than " not in markdown
    reader = PdfReader(str(out / "decision-record.pdf"))
    assert len(reader.pages) >= 2
    assert {"selection.json", "intake-tiny0.json", "intake-tiny1.json"} <= set(reader.attachments)
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    assert (out / "decision-record.html").read_text(encoding="utf-8").count("<h2>") == 8
