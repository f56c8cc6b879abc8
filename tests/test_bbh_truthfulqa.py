"""BBH and TruthfulQA against lm-eval's stock tasks: same prompts, same log-likelihoods, same generations.

The engine names them as standard prompts ``bbh:<task>`` and ``truthfulqa:<part>`` and follows
a stock file's ``include`` chain for its generation settings (``_stock_generation_kwargs``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from harness.engines.lm_eval_engine import _stock_generation_kwargs
from harness.errors import DataError
from harness.schema.results import ItemRecord
from harness.suites.base import SuiteOptions
from harness.suites.bbh import BBH, TASKS, read_bbh_task
from harness.suites.truthfulqa import MC1, MC2, TruthfulQA, read_mc_task, true_mass

LIMIT = 5
GEN_TOKS = 12
BBH_TASKS = ("boolean_expressions", "sports_understanding")


def stock_samples(
    model_dir: Path, stock_file: Path, rows: list[dict[str, Any]], split: str, work: Path, **overrides: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """lm-eval's stock task file run by ``simple_evaluate`` on ``rows`` (local JSON lines), as the engine runs it."""
    from lm_eval import simple_evaluate
    from lm_eval.api.task import ConfigurableTask
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager
    from lm_eval.tasks._yaml_loader import load_yaml

    from harness.models.modelref import ModelRef

    work.mkdir(parents=True, exist_ok=True)
    path = work / f"{stock_file.stem}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = load_yaml(stock_file)
    config.update(dataset_path="json", dataset_name=None, dataset_kwargs={"data_files": {split: str(path)}})
    config.update(overrides)
    config.pop("tag", None)
    task = ConfigurableTask(config=config)
    loaded = ModelRef(str(model_dir)).load()
    empty = work / "no-tasks"
    empty.mkdir(exist_ok=True)
    out = simple_evaluate(
        model=HFLM(pretrained=loaded.model, tokenizer=loaded.tokenizer, batch_size=8),
        tasks=[task],
        task_manager=TaskManager(include_path=str(empty), include_defaults=False),
        limit=LIMIT,
        bootstrap_iters=0,
        log_samples=True,
    )
    name = config["task"]
    return out["samples"][name], out["results"][name]


def engine_records(suite: Any, model_dir: Path, data_dir: Path, work: Path, **gen: int) -> list[ItemRecord]:
    from harness.engines.lm_eval_engine import LmEvalEngine
    from harness.models.modelref import ModelRef

    options = SuiteOptions(data_dir=data_dir, cache_dir=work / "cache", hub_allowed=False, gen_kwargs=dict(gen))
    prepared = suite.prepare(options)
    out = LmEvalEngine().evaluate(ModelRef(str(model_dir)).load(), prepared.tasks, work / "run", limit=LIMIT)
    return out.records


@pytest.mark.slow
def test_truthfulqa_mc1_and_mc2_equal_the_stock_tasks_choice_by_choice(
    tiny_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    from harness.engines.lm_eval_engine import lm_eval_tasks_dir

    suite = TruthfulQA()
    records = engine_records(suite, tiny_model, data_dir, tmp_path / "ours")
    by_id = {r.item_id: r for r in records}
    rows = read_mc_task(data_dir / "truthfulqa" / "v0" / "mc_task.json")
    metrics = {m.name: m for m in suite.score(records).metrics}
    for part in ("mc1", "mc2"):
        stock_file = lm_eval_tasks_dir() / "truthfulqa" / f"truthfulqa_{part}.yaml"
        samples, results = stock_samples(tiny_model, stock_file, rows, "validation", tmp_path / f"stock-{part}")
        assert len(samples) == LIMIT
        for sample in samples:
            record = by_id[f"truthfulqa/{part}/{sample['doc_id']}"]
            assert record.loglikelihoods == [resp[0] for resp in sample["filtered_resps"]]  # bit for bit
            assert record.prompt_hash == sample["prompt_hash"]
            assert record.choices == [arg[1] for arg in sample["arguments"]]
            if part == "mc1":
                assert record.correct == bool(sample["acc"])
            else:
                labels = rows[sample["doc_id"]]["mc2_targets"]["labels"]
                assert true_mass(record.loglikelihoods, labels) == pytest.approx(sample["acc"], rel=1e-9, abs=1e-12)
        name = MC1 if part == "mc1" else MC2
        assert metrics[name].value == pytest.approx(results["acc,none"], rel=1e-9, abs=1e-12)
        assert metrics[name].n == LIMIT
    assert metrics[MC2].scope == "headline" and metrics[MC1].scope == "overall"
    assert 0 < metrics[MC1].chance < 0.5 and 0 < metrics[MC2].chance < 1


@pytest.mark.slow
def test_bbh_exact_match_and_generated_text_equal_the_stock_cot_task(
    tiny_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    from harness.engines.lm_eval_engine import lm_eval_tasks_dir

    suite = BBH(BBH_TASKS)
    records = engine_records(suite, tiny_model, data_dir, tmp_path / "ours", max_gen_toks=GEN_TOKS)
    by_id = {r.item_id: r for r in records}
    metrics = {m.name: m for m in suite.score(records).metrics}
    all_correct = []
    for task in BBH_TASKS:
        stock_file = lm_eval_tasks_dir() / "bbh" / "cot_fewshot" / f"{task}.yaml"
        stock_gen = _stock_generation_kwargs(stock_file) | {"max_gen_toks": GEN_TOKS}
        rows = read_bbh_task(data_dir / "bbh" / "tasks" / f"{task}.json")
        samples, results = stock_samples(
            tiny_model, stock_file, rows, "test", tmp_path / f"stock-{task}", generation_kwargs=stock_gen
        )
        assert len(samples) == LIMIT
        for sample in samples:
            record = by_id[f"bbh/{task}/{sample['doc_id']}"]
            assert record.generated == sample["resps"][0][0]
            assert record.prediction == sample["filtered_resps"][0]
            assert record.correct == bool(sample["exact_match"])
            assert record.prompt_hash == sample["prompt_hash"]
            assert record.target == sample["target"]
            all_correct.append(record.correct)
        assert metrics[f"bbh.exact_match.{task}"].value == pytest.approx(results["exact_match,get-answer"])
    assert metrics["bbh.exact_match"].value == pytest.approx(sum(all_correct) / len(all_correct))
    assert metrics["bbh.exact_match"].chance is None


def test_the_include_following_generation_settings_equal_lm_evals_own_merge() -> None:
    """The engine's ``_stock_generation_kwargs`` against lm-eval's own YAML loader."""
    from lm_eval.tasks._yaml_loader import load_yaml

    from harness.engines.lm_eval_engine import lm_eval_tasks_dir

    root = lm_eval_tasks_dir()
    files = [root / "bbh" / "cot_fewshot" / f"{t}.yaml" for t in TASKS]
    files += [root / "gsm8k" / "gsm8k.yaml", root / "truthfulqa" / "truthfulqa_mc2.yaml"]
    for path in files:
        expected = dict(load_yaml(path, resolve_func=False).get("generation_kwargs") or {})
        assert _stock_generation_kwargs(path) == expected, path
    assert _stock_generation_kwargs(files[0])["until"] == ["</s>", "Q", "\n\n"]


def test_bbh_cot_prompts_equal_lm_evals_few_shot_examples_except_one_whitespace_difference(data_dir: Path) -> None:
    """The release's cot-prompts/<task>.txt against lm-eval's embedded description and examples."""
    from lm_eval.tasks._yaml_loader import load_yaml

    from harness.engines.lm_eval_engine import lm_eval_tasks_dir

    differing = []
    for task in TASKS:
        config = load_yaml(lm_eval_tasks_dir() / "bbh" / "cot_fewshot" / f"{task}.yaml", resolve_func=False)
        shots = config["fewshot_config"]["samples"]
        assert len(shots) == 3 and config["num_fewshot"] == 3
        stock = config["description"] + "\n\n".join(
            f"Q: {shot['input']}\nA: Let's think step by step.\n{shot['target']}" for shot in shots
        )
        released = (data_dir / "bbh" / "cot-prompts" / f"{task}.txt").read_text(encoding="utf-8")
        canary, separator, body = released.partition("-----\n")
        assert "canary" in canary and separator
        if body != stock:
            differing.append(task)
            assert body.replace("step by step. ", "step by step.\n") == stock
    assert differing == ["sports_understanding"]


def test_bbh_conversion_keeps_input_and_target_and_names_a_bad_example(tmp_path: Path) -> None:
    good = tmp_path / "t.json"
    good.write_text(json.dumps({"canary": "x", "examples": [{"input": "1 + 1", "target": "2"}]}), encoding="utf-8")
    assert read_bbh_task(good) == [{"input": "1 + 1", "target": "2"}]
    bad = tmp_path / "b.json"
    bad.write_text(json.dumps({"examples": [{"input": "a", "target": "b"}, {"input": "c"}]}), encoding="utf-8")
    with pytest.raises(DataError, match=r"examples\[1\]"):
        read_bbh_task(bad)


def test_bbh_tasks_include_the_stock_cot_file_with_its_three_examples(data_dir: Path, tmp_path: Path) -> None:
    prepared = BBH().prepare(SuiteOptions(data_dir=data_dir, cache_dir=tmp_path, hub_allowed=False))
    assert len(prepared.tasks) == 27
    rows = sum(use.rows or 0 for use in prepared.datasets)
    assert rows == 6511  # the release's count (SOURCE.md)
    task = prepared.tasks[0]
    assert task.prompt.standard == "bbh:boolean_expressions" and task.num_fewshot == 3
    assert task.answer_filter == "get-answer" and task.scoring == "exact_match"
    assert not task.fewshot_order_dependent  # the stock sampler takes the first three, always the same


def test_truthfulqa_conversion_matches_the_hub_row_format_and_checks_labels(data_dir: Path, tmp_path: Path) -> None:
    rows = read_mc_task(data_dir / "truthfulqa" / "v0" / "mc_task.json")
    assert len(rows) == 817
    first = rows[0]
    assert set(first) == {"question", "mc1_targets", "mc2_targets"}
    assert first["mc1_targets"]["labels"][0] == 1 and sum(first["mc1_targets"]["labels"]) == 1
    assert sum(len(r["mc1_targets"]["choices"]) for r in rows) == 4114  # v0 counts (SOURCE.md)
    assert sum(len(r["mc2_targets"]["choices"]) for r in rows) == 5882
    bad = tmp_path / "mc_task.json"
    bad.write_text(
        json.dumps([{"question": "q", "mc1_targets": {"a": 0, "b": 1}, "mc2_targets": {"a": 1, "b": 0}}]),
        encoding="utf-8",
    )
    with pytest.raises(DataError, match=r"question \[0\]\.mc1_targets: exactly one true answer, listed first"):
        read_mc_task(bad)


def test_mc2_is_the_normalised_mass_on_true_answers_and_survives_tiny_likelihoods() -> None:
    assert true_mass([0.0, 0.0, 0.0, 0.0], [1, 1, 0, 0]) == pytest.approx(0.5)
    assert true_mass([-2000.0, -2001.0], [1, 0]) == pytest.approx(1 / (1 + math.exp(-1)))
    assert true_mass([-3000.0, -3000.0, -3000.0], [1, 0, 0]) == pytest.approx(1 / 3)  # exp would underflow to 0/0


def test_truthfulqa_scores_mc2_with_a_bootstrap_interval_and_its_chance_level() -> None:
    def record(part: str, i: int, lls: list[float], labels: list[int], correct: bool) -> ItemRecord:
        return ItemRecord(
            suite="truthfulqa",
            item_id=f"truthfulqa/{part}/{i}",
            subject=part,
            prompt_hash="h",
            choices=[str(k) for k in range(len(lls))],
            loglikelihoods=lls,
            prediction=0,
            target=0,
            correct=correct,
            extra={"mc2_labels": labels},
        )

    records = [record("mc2", i, [0.0, 0.0, 0.0, 0.0], [1, 0, 0, 0], True) for i in range(20)]
    records += [record("mc1", i, [0.0, -1.0], [1, 0], i % 2 == 0) for i in range(20)]
    suite = TruthfulQA()
    metrics = {m.name: m for m in suite.score(records).metrics}
    assert metrics[MC2].value == pytest.approx(0.25) and metrics[MC2].chance == pytest.approx(0.25)
    assert metrics[MC2].ci_method == "bootstrap-percentile-1000"
    assert metrics[MC2].above_chance is False  # a model spreading probability evenly scores exactly chance
    assert metrics[MC1].value == pytest.approx(0.5) and metrics[MC1].chance == pytest.approx(0.5)
    keys, statistics = suite.paired_statistics(records)
    assert len(keys) == 20 and set(statistics) == {MC2}
    assert list(suite.outcomes(records)) == [MC1]  # MC2 is not a per-item correctness
