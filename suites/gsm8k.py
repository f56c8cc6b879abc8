"""GSM8K (Cobbe et al. 2021, arXiv:2110.14168) with the stock lm-eval ``gsm8k`` task's prompt.

The task uses the benchmark's standard prompt (lm-eval's ``gsm8k/gsm8k.yaml``):
"Question: ...\\nAnswer:" prompts, 5 few-shot examples from the train split, greedy
decoding stopped at "Question:", and two answer extractions scored by exact match:
``strict-match`` (the number after "#### ") and ``flexible-extract`` (the last number in
the text).
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import DataError
from harness.files.hashing import combine_digests, sha256_file
from harness.schema.results import DatasetUse, ItemRecord, MetricKind
from harness.schema.tasks import Prompt, TaskData, TaskSpec
from harness.suites.base import MeasuredSuite, Outcomes, PreparedSuite, SuiteOptions, SuiteScores, register_suite

HUB_DATASET = "openai/gsm8k"
DEFAULT_FEWSHOT = 5
EXACT_MATCH = MetricKind(
    direction="higher",
    unit="proportion",
    label="exact match",
    definition="share of answers whose extracted number equals the reference (lm-eval gsm8k); Wilson interval",
)


@register_suite
class GSM8K(MeasuredSuite):
    name = "gsm8k"
    headline = "gsm8k.exact_match"

    def prepare(self, options: SuiteOptions) -> PreparedSuite:
        fewshot = DEFAULT_FEWSHOT if options.num_fewshot is None else options.num_fewshot
        datasets: list[DatasetUse] = []
        data, item_ids = TaskData(hub=HUB_DATASET), None
        if options.data_dir is not None:
            root = options.data_dir / "gsm8k"
            files = {"test": root / "test.jsonl", "train": root / "train.jsonl"}
            digests = []
            for split, path in files.items():
                if not path.is_file():
                    raise DataError(f"{root}: GSM8K file {path.name} is missing")
                digest, rows = sha256_file(path), _checked_rows(path)
                digests.append((split, digest))
                if split == "test":
                    item_ids = tuple(f"gsm8k/{i}" for i in range(rows))
                if split == "test" or fewshot:
                    datasets.append(DatasetUse(suite=self.name, source=str(path), sha256=digest, rows=rows))
            data = TaskData(splits={split: str(path) for split, path in files.items()}, digest=combine_digests(digests))
        elif not options.hub_allowed:
            raise DataError(
                "GSM8K: no data directory (pass --data-dir or set HARNESS_DATA_DIR) and the hub is off (HF_*_OFFLINE)"
            )
        else:
            datasets.append(DatasetUse(suite=self.name, source=f"hf://{HUB_DATASET}"))
        task = TaskSpec(
            name="harness_gsm8k",
            suite=self.name,
            output="generate_until",
            prompt=Prompt(standard="gsm8k"),
            data=data,
            item_prefix="gsm8k",
            item_ids=item_ids,
            num_fewshot=fewshot,
            scoring="exact_match",
            answer_filter="strict-match",
            generation=dict(options.gen_kwargs),
            fewshot_order_dependent=fewshot > 0,  # the stock task samples its few-shot examples at random
        )
        settings: dict[str, object] = {"num_fewshot": fewshot, "template": "lm-eval gsm8k", "decoding": "greedy"}
        if options.gen_kwargs:
            settings["generation_kwargs"] = dict(options.gen_kwargs)
        return PreparedSuite(tasks=[task], datasets=datasets, settings=settings)

    def outcomes(self, records: list[ItemRecord]) -> Outcomes:
        """Exact match per item under each of the stock task's extractions; strict is the headline."""
        clean = [r for r in records if r.suite == self.name and r.variant == "clean"]
        strict = {r.item_id: r.correct for r in clean}
        flexible = {
            r.item_id: bool(r.extra.get("filters", {}).get("flexible-extract", {}).get("correct")) for r in clean
        }
        return {
            "gsm8k.exact_match": strict,
            "gsm8k.exact_match.strict": dict(strict),
            "gsm8k.exact_match.flexible": flexible,
        }

    def score(self, records: list[ItemRecord]) -> SuiteScores:
        return SuiteScores(metrics=self.proportion_metrics(self.outcomes(records), EXACT_MATCH))


def _checked_rows(path: Path) -> int:
    """The number of GSM8K rows in ``path``, each checked to be a JSON object with question and answer."""
    import json

    rows = 0
    with open(path, encoding="utf-8", errors="strict") as handle:
        try:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
                if not isinstance(row, dict) or not {"question", "answer"} <= set(row):
                    raise DataError(f"{path}:{lineno}: a GSM8K row needs the fields question and answer")
                rows += 1
        except UnicodeDecodeError:
            raise DataError(f"{path}: not a UTF-8 text file") from None
    if rows == 0:
        raise DataError(f"{path}: no GSM8K rows")
    return rows
