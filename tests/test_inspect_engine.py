"""Generated behaviour through the real inspect-ai, on the tiny model and its adapter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.models.modelref import ModelRef, loads_so_far
from harness.runner.execute import execute_run
from harness.runner.spec import RunSpec
from tests.helpers import invoke

pytestmark = pytest.mark.slow

GENERATED = "structured,oracle,behaviour,safety,quick"


def test_every_generated_suite_runs_offline_and_inspect_reads_its_log(
    tiny_model: Path, tiny_adapter: Path, tmp_path: Path
) -> None:
    code, stdout, stderr = invoke(
        "run",
        str(tiny_model),
        "--adapter",
        str(tiny_adapter),
        "--suites",
        GENERATED,
        "--limit",
        "2",
        "--max-gen-toks",
        "24",
        "--allow-code-execution",
        "--out",
        str(tmp_path / "runs"),
        "--json",
    )
    assert code == 0, stderr
    run_dir = Path(json.loads(stdout)["run_dir"])
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    metrics = {m["name"]: m for m in results["metrics"]}
    for headline in (
        "structured.valid_json",
        "oracle.accuracy",
        "behaviour.expected_behaviour",
        "safety.refusal_rate",
        "quick.score",
    ):
        assert metrics[headline]["n"] > 0 and metrics[headline]["ci_method"] == "wilson", headline
    assert metrics["behaviour.scorer_kappa"]["n"] == 180  # the detectors are checked against the labels every run
    logs = sorted((run_dir / "inspect").glob("*/logs/*.eval"))
    assert len(logs) == 6  # one per task: five suites, and behaviour's reference responses
    inspect_cli = Path(sys.executable).with_name("inspect")
    for log in logs:
        dumped = subprocess.run(
            [str(inspect_cli), "log", "dump", str(log)], capture_output=True, text=True, check=False
        )
        assert dumped.returncode == 0, dumped.stderr
        assert json.loads(dumped.stdout)["status"] == "success"
    items = [json.loads(line) for line in (run_dir / "items.jsonl").read_text(encoding="utf-8").splitlines()]
    generated = [i for i in items if i["suite"] == "structured"]
    assert generated and all(i["generated"] is not None and i["extra"]["explanation"] for i in generated)


def test_weights_are_loaded_once_for_lm_eval_and_inspect_suites(
    tiny_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    spec = RunSpec(
        model=ModelRef(str(tiny_model)),
        suites=["mmlu", "structured"],
        data_dir=str(data_dir),
        limit=1,
        gen_kwargs={"max_gen_toks": 16},
    )
    before = loads_so_far()
    result, _ = execute_run(spec, tmp_path / "runs", store=None, cache_root=None)
    assert loads_so_far() - before == 1
    assert result.suite_status["mmlu"].engine == "lm-eval" and result.suite_status["structured"].engine == "inspect"
    assert result.metric("mmlu.accuracy").n == 57 and result.metric("structured.valid_json").n == 2


def test_a_suite_limit_overrides_the_run_limit_for_its_suite(tiny_model: Path, tmp_path: Path) -> None:
    code, out, err = invoke(
        "run", str(tiny_model), "--suites", "structured,behaviour", "--limit", "1",
        "--suite-limit", "structured=all", "--max-gen-toks", "2", "--out", str(tmp_path / "runs"), "--json",
    )  # fmt: skip
    assert code == 0, err
    run_dir = Path(json.loads(out)["run_dir"])
    result = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    n = {m["name"]: m["n"] for m in result["metrics"]}
    assert n["structured.valid_json"] == 60  # every item, not one of each kind
    assert n["behaviour.expected_behaviour"] == 6  # --limit 1: one of each of its six kinds
    assert result["suite_status"]["structured"]["settings"]["limit"] is None
    assert result["suite_status"]["behaviour"]["settings"]["limit"] == 1
    spec = RunSpec.load(run_dir)
    assert spec.suite_limits == {"structured": None} and spec.limit_for("behaviour") == 1


def test_greedy_generation_is_the_same_at_batch_1_and_8(tiny_model: Path, tmp_path: Path) -> None:
    from harness.engines.base import EngineSettings
    from harness.engines.inspect_engine import InspectEngine
    from harness.engines.inspect_model import batch_sizes
    from harness.suites.base import SuiteOptions
    from harness.suites.structured import Structured

    model = ModelRef(str(tiny_model)).load()
    task = Structured().prepare(SuiteOptions(data_dir=None, cache_dir=tmp_path / "cache")).tasks[0]
    one = InspectEngine(EngineSettings(batch_size=1)).evaluate(model, [task], tmp_path / "one", limit=8)
    eight = InspectEngine(EngineSettings(batch_size=8)).evaluate(model, [task], tmp_path / "eight", limit=8)
    assert max(batch_sizes(model)) > 1
    assert [r.generated for r in one.records] == [r.generated for r in eight.records]


def test_a_judge_model_is_checked_against_the_reference_labels_and_flagged_when_it_disagrees(
    tiny_model: Path, tmp_path: Path
) -> None:
    code, stdout, stderr = invoke(
        "run",
        str(tiny_model),
        "--suites",
        "behaviour",
        "--limit",
        "1",
        "--max-gen-toks",
        "16",
        "--judge",
        f"hf/{tiny_model}",
        "--out",
        str(tmp_path / "runs"),
        "--json",
    )
    assert code == 0, stderr
    run_dir = Path(json.loads(stdout)["run_dir"])
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    metrics = {m["name"]: m for m in results["metrics"]}
    judge = metrics["behaviour.judge_kappa"]
    assert judge["n"] == 180 and judge["ci_low"] is not None  # the judge graded every reference response
    assert metrics["behaviour.expected_behaviour_judged"]["n"] == 6  # one prompt of each kind
    warnings = results["suite_status"]["behaviour"]["warnings"]
    if judge["value"] < 0.6:  # an untrained judge agrees with the labels no better than chance
        assert any("judge" in w and "0.6" in w for w in warnings), warnings
