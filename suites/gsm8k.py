"""GSM8K (Cobbe et al. 2021, arXiv:2110.14168) through lm-eval's stock ``gsm8k`` task.

The task YAML includes lm-eval's ``gsm8k/gsm8k.yaml``: "Question: ...\\nAnswer:" prompts,
5 few-shot examples from the train split (first n), greedy decoding stopped at
"Question:", and two answer extractions scored by exact match: ``strict-match`` (the
number after "#### ") and ``flexible-extract`` (the last number in the text).
"""

from __future__ import annotations

from pathlib import Path

from harness.suites.base import Outcomes, PreparedSuite, SuiteOptions, SuiteScores, TaskSpec, proportion_metrics
from harness.suites.lm_eval_tasks import stock_task_yaml, task_yaml

from harness.errors import DataError
from harness.hashing import sha256_file
from harness.results import DatasetUse, ItemRecord

HUB_DATASET = "openai/gsm8k"
DEFAULT_FEWSHOT = 5
FILTERS = {"strict-match": "strict", "flexible-extract": "flexible"}


class GSM8K:
    name = "gsm8k"
    engine = "lm-eval"
    headline = "gsm8k.exact_match"
    requires: tuple[str, ...] = ()

    def prepare(self, options: SuiteOptions) -> PreparedSuite:
        fewshot = DEFAULT_FEWSHOT if options.num_fewshot is None else options.num_fewshot
        overrides: dict[str, object] = {"num_fewshot": fewshot}
        datasets: list[DatasetUse] = []
        if options.data_dir is not None:
            root = options.data_dir / "gsm8k"
            files = {"test": root / "test.jsonl", "train": root / "train.jsonl"}
            for split, path in files.items():
                if not path.is_file():
                    raise DataError(f"{root}: GSM8K file {path.name} is missing")
                if split == "test" or fewshot:
                    datasets.append(
                        DatasetUse(suite=self.name, source=str(path), sha256=sha256_file(path), rows=_count_lines(path))
                    )
            data_files = {split: str(path) for split, path in files.items()}
            overrides |= {"dataset_path": "json", "dataset_name": None, "dataset_kwargs": {"data_files": data_files}}
        elif not options.hub_allowed:
            raise DataError(
                "GSM8K: no data directory (pass --data-dir or set HARNESS_DATA_DIR) and the hub is off (HF_*_OFFLINE)"
            )
        else:
            datasets.append(DatasetUse(suite=self.name, source=f"hf://{HUB_DATASET}"))
        if options.gen_kwargs:
            overrides["generation_kwargs"] = _stock_generation_kwargs() | options.gen_kwargs
        task = TaskSpec(
            task_name="harness_gsm8k",
            suite=self.name,
            item_prefix="gsm8k",
            yaml_text=task_yaml(
                stock_task_yaml("gsm8k/gsm8k.yaml"), task="harness_gsm8k", tag="harness_gsm8k", **overrides
            ),
            primary_filter="strict-match",
            primary_metric="exact_match",
        )
        settings = {"num_fewshot": fewshot, "template": "lm-eval gsm8k", "decoding": "greedy"}
        if options.gen_kwargs:
            settings["generation_kwargs"] = dict(options.gen_kwargs)
        return PreparedSuite(tasks=[task], datasets=datasets, settings=settings)

    def outcomes(self, records: list[ItemRecord]) -> Outcomes:
        """Exact match per item under each of the stock task's extractions; strict is the headline."""
        clean = [r for r in records if r.suite == self.name and r.variant == "clean"]
        strict = {r.item_id: r.correct for r in clean}
        flexible = {r.item_id: bool(r.extra.get("filters", {}).get("flexible-extract", {}).get("correct")) for r in clean}
        return {"gsm8k.exact_match": strict, "gsm8k.exact_match.strict": dict(strict), "gsm8k.exact_match.flexible": flexible}

    def score(self, records: list[ItemRecord]) -> SuiteScores:
        return SuiteScores(metrics=proportion_metrics(self.outcomes(records)))


def _stock_generation_kwargs() -> dict[str, object]:
    import yaml

    text = stock_task_yaml("gsm8k/gsm8k.yaml").read_text(encoding="utf-8")
    return dict(yaml.safe_load(text).get("generation_kwargs", {}))


def _count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())
