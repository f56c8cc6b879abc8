"""The engine against lm-eval itself: same prompts, same log-likelihoods, no cache leaks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from harness.engines.base import EngineSettings
from harness.engines.lm_eval_engine import LmEvalEngine
from harness.models.modelref import ModelRef
from harness.suites.base import SuiteOptions
from harness.suites.gsm8k import GSM8K
from harness.suites.mmlu import MMLU

SUBJECTS = ("abstract_algebra", "college_medicine", "high_school_us_history")
LIMIT = 6


def mmlu_records(model: ModelRef, cache: Path | None, data_dir: Path, work: Path, subjects=SUBJECTS):
    prepared = MMLU(subjects).prepare(SuiteOptions(data_dir=data_dir, cache_dir=work / "cache", hub_allowed=False))
    engine = LmEvalEngine(EngineSettings(response_cache=cache))
    return engine.evaluate(model.load(), prepared.tasks, work / "run", limit=LIMIT)


def stock_mmlu_samples(model_dir: Path, data_dir: Path, work: Path) -> dict[str, list[dict]]:
    """lm-eval's stock mmlu task files, fed the same CSV rows (read here with pandas)."""
    from lm_eval import simple_evaluate
    from lm_eval.api.task import ConfigurableTask
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager
    from lm_eval.tasks._yaml_loader import load_yaml

    from harness.engines.lm_eval_engine import lm_eval_tasks_dir

    work.mkdir(parents=True)
    tasks = []
    for subject in SUBJECTS:
        frame = pd.read_csv(data_dir / "mmlu" / "test" / f"{subject}_test.csv", header=None, keep_default_na=False)
        path = work / f"{subject}.jsonl"
        with open(path, "w", encoding="utf-8") as handle:
            for row in frame.itertuples(index=False):
                doc = {
                    "question": row[0],
                    "subject": subject,
                    "choices": [str(c) for c in row[1:5]],
                    "answer": "ABCD".index(row[5]),
                }
                handle.write(json.dumps(doc) + "\n")
        config = load_yaml(lm_eval_tasks_dir() / "mmlu" / "default" / f"mmlu_{subject}.yaml")
        config.update(
            dataset_path="json", dataset_name=None, dataset_kwargs={"data_files": {"test": str(path), "dev": str(path)}}
        )
        config.pop("tag", None)
        tasks.append(ConfigurableTask(config=config))

    loaded = ModelRef(str(model_dir)).load()
    model, tokenizer = loaded.model, loaded.tokenizer
    empty = work / "no-tasks"
    empty.mkdir()
    out = simple_evaluate(
        model=HFLM(pretrained=model, tokenizer=tokenizer, batch_size=8),  # as the engine: same padding
        tasks=tasks,
        task_manager=TaskManager(include_path=str(empty), include_defaults=False),
        limit=LIMIT,
        bootstrap_iters=0,
        log_samples=True,
    )
    return {name.removeprefix("mmlu_"): samples for name, samples in out["samples"].items()}, out["results"]


@pytest.mark.slow
def test_mmlu_matches_lm_eval_stock_task(tiny_model: Path, data_dir: Path, tmp_path: Path) -> None:
    ours = mmlu_records(ModelRef(str(tiny_model)), None, data_dir, tmp_path / "ours")
    stock_samples, stock_results = stock_mmlu_samples(tiny_model, data_dir, tmp_path / "stock")

    by_id = {r.item_id: r for r in ours.records}
    assert len(by_id) == len(SUBJECTS) * LIMIT
    for subject, samples in stock_samples.items():
        accuracy = sum(by_id[f"mmlu/{subject}/{s['doc_id']}"].correct for s in samples) / len(samples)
        assert accuracy == pytest.approx(stock_results[f"mmlu_{subject}"]["acc,none"])
        for sample in samples:
            record = by_id[f"mmlu/{subject}/{sample['doc_id']}"]
            stock_lls = [resp[0] for resp in sample["filtered_resps"]]
            assert record.loglikelihoods == stock_lls  # bit for bit
            assert record.prompt_hash == sample["prompt_hash"]
            assert record.target == sample["target"]
            assert isinstance(record.loglikelihoods[0], float)
            assert_confidence_is_softmax_of_prediction(record)


def assert_confidence_is_softmax_of_prediction(record) -> None:
    import math

    top = max(record.loglikelihoods)
    probabilities = [math.exp(x - top) for x in record.loglikelihoods]
    assert record.prediction == record.loglikelihoods.index(top)
    assert record.confidence == pytest.approx(1.0 / sum(probabilities))


@pytest.mark.slow
def test_cache_is_per_model_and_serves_reruns(
    tiny_model: Path, tiny_adapter: Path, data_dir: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    subjects = ("anatomy",)
    first = mmlu_records(ModelRef(str(tiny_model)), cache, data_dir, tmp_path / "a", subjects)
    assert first.model_calls == first.requests > 0

    tuned = mmlu_records(
        ModelRef(str(tiny_model), adapter=str(tiny_adapter)), cache, data_dir, tmp_path / "b", subjects
    )
    assert tuned.model_calls == tuned.requests, "the adapter's requests must not be answered from the base's cache"
    for base_record, tuned_record in zip(first.records, tuned.records, strict=True):
        assert base_record.item_id == tuned_record.item_id
        assert base_record.loglikelihoods != pytest.approx(tuned_record.loglikelihoods, abs=1e-6)

    again = mmlu_records(ModelRef(str(tiny_model)), cache, data_dir, tmp_path / "c", subjects)
    assert again.model_calls == 0 and again.cache_hits == again.requests
    assert [r.loglikelihoods for r in again.records] == [r.loglikelihoods for r in first.records]


@pytest.mark.slow
def test_gsm8k_records_follow_the_stock_extractions(tiny_model: Path, data_dir: Path, tmp_path: Path) -> None:
    options = SuiteOptions(data_dir=data_dir, cache_dir=tmp_path, hub_allowed=False, gen_kwargs={"max_gen_toks": 24})
    suite = GSM8K()
    prepared = suite.prepare(options)
    out = LmEvalEngine().evaluate(ModelRef(str(tiny_model)).load(), prepared.tasks, tmp_path / "run", limit=3)
    assert [r.item_id for r in out.records] == ["gsm8k/0", "gsm8k/1", "gsm8k/2"]
    test_rows = [
        json.loads(line) for line in (data_dir / "gsm8k" / "test.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    ]
    for record, row in zip(out.records, test_rows, strict=True):
        assert record.target == row["answer"]
        strict = re.search(r"#### (\-?[0-9\.\,]+)", record.generated or "")
        assert record.prediction == (strict.group(1) if strict else "[invalid]")
        assert set(record.extra["filters"]) == {"strict-match", "flexible-extract"}
    metrics = {m.name: m for m in suite.score(out.records).metrics}
    assert metrics["gsm8k.exact_match"].n == 3
    assert (tmp_path / "run" / "samples_harness_gsm8k.jsonl").is_file()


def test_mmlu_reads_fields_with_newlines_and_rejects_bad_rows(tmp_path: Path) -> None:
    from harness.errors import DataError
    from harness.suites.mmlu import read_mmlu_csv

    good = tmp_path / "x_test.csv"
    good.write_text('"Line one\nline two?",a,b,"c, with comma",d,C\r\n', encoding="utf-8", newline="")
    docs = read_mmlu_csv(good, "x")
    assert docs == [
        {"question": "Line one\nline two?", "subject": "x", "choices": ["a", "b", "c, with comma", "d"], "answer": 2}
    ]
    bad = tmp_path / "y_test.csv"
    bad.write_text("q,a,b,c,d,E\n", encoding="utf-8")
    with pytest.raises(DataError, match="row 1"):
        read_mmlu_csv(bad, "y")
