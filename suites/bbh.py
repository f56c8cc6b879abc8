"""BIG-Bench Hard (Suzgun et al., Findings of ACL 2023, arXiv:2210.09261) through lm-eval's stock task.

Each of the 27 task YAMLs *includes* lm-eval's own ``bbh/cot_fewshot/<task>.yaml``: its
description line, the three chain-of-thought examples (sampler ``first_n``), the
``Q: ...\\nA: Let's think step by step.\\n`` prompt, greedy decoding stopped at ``Q``,
a blank line or ``</s>``, the ``get-answer`` filter (the text after "the answer is ")
and exact match. Only the dataset is swapped for the local files of the official
release (``tasks/<task>.json``, converted once into the ``{input, target}`` rows the
stock YAML reads and cached by the file's SHA-256), so the numbers are the stock task's.

The few-shot examples come from lm-eval's YAML, not from the release's
``cot-prompts/<task>.txt``. They were compared (tests/test_bbh_truthfulqa.py): after the
canary line and ``-----`` separator, 26 of the 27 prompt files equal the stock YAML's
description and examples byte for byte. In ``sports_understanding`` the release writes
"Let's think step by step." and the reasoning on one line, lm-eval on two (three
whitespace characters; lm-eval uses one template for every task).

The headline is exact match over all items (micro-averaged, as lm-eval's ``bbh`` group
weights tasks by size); each task is a breakdown. An answer is generated, so no chance
level is declared.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from harness.errors import DataError
from harness.files.atomic import atomic_write_jsonl
from harness.files.hashing import combine_digests, sha256_file
from harness.schema.results import DatasetUse, ItemRecord, MetricKind, Scope
from harness.schema.tasks import Prompt, TaskData, TaskSpec
from harness.suites.base import (
    MeasuredSuite,
    Outcomes,
    PreparedSuite,
    SuiteOptions,
    SuiteScores,
    register_suite,
)

HUB_DATASET = "SaylorTwift/bbh"
COT_EXAMPLES = 3  # the stock cot_fewshot YAMLs embed three examples per task
ANSWER_FILTER = "get-answer"

TASKS: tuple[str, ...] = (
    "boolean_expressions",
    "causal_judgement",
    "date_understanding",
    "disambiguation_qa",
    "dyck_languages",
    "formal_fallacies",
    "geometric_shapes",
    "hyperbaton",
    "logical_deduction_five_objects",
    "logical_deduction_seven_objects",
    "logical_deduction_three_objects",
    "movie_recommendation",
    "multistep_arithmetic_two",
    "navigate",
    "object_counting",
    "penguins_in_a_table",
    "reasoning_about_colored_objects",
    "ruin_names",
    "salient_translation_error_detection",
    "snarks",
    "sports_understanding",
    "temporal_sequences",
    "tracking_shuffled_objects_five_objects",
    "tracking_shuffled_objects_seven_objects",
    "tracking_shuffled_objects_three_objects",
    "web_of_lies",
    "word_sorting",
)

EXACT_MATCH = MetricKind(
    direction="higher",
    unit="proportion",
    label="exact match, 3-shot chain of thought",
    definition="share of answers whose text after 'the answer is' equals the target exactly "
    "(Suzgun et al. 2023; lm-eval bbh_cot_fewshot, get-answer filter); Wilson interval",
)


def read_bbh_task(path: Path) -> list[dict[str, str]]:
    """The examples of an official BBH task file as ``{input, target}`` rows (the ``canary`` key is dropped)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    examples = raw.get("examples") if isinstance(raw, dict) else None
    if not isinstance(examples, list) or not examples:
        raise DataError(f"{path}: a BBH task file is a JSON object with a non-empty 'examples' list")
    rows = []
    for index, example in enumerate(examples):
        if not (
            isinstance(example, dict)
            and isinstance(example.get("input"), str)
            and isinstance(example.get("target"), str)
        ):
            raise DataError(f"{path}: examples[{index}] needs the string fields 'input' and 'target'")
        rows.append({"input": example["input"], "target": example["target"]})
    return rows


def converted_task(source: Path, cache_dir: Path) -> tuple[Path, DatasetUse]:
    """The task file as JSON lines in the cache (named by the source's SHA-256), and its provenance."""
    digest = sha256_file(source)
    target = cache_dir / "data" / "bbh" / f"{source.stem}-{digest[:16]}.jsonl"
    if target.is_file():
        with open(target, encoding="utf-8") as handle:
            rows = sum(1 for _ in handle)
    else:
        docs = read_bbh_task(source)
        atomic_write_jsonl(target, docs)
        rows = len(docs)
    return target, DatasetUse(suite="bbh", source=str(source), sha256=digest, rows=rows)


@register_suite
class BBH(MeasuredSuite):
    name = "bbh"
    headline = "bbh.exact_match"

    def __init__(self, tasks: tuple[str, ...] = TASKS) -> None:
        self.tasks = tasks

    def prepare(self, options: SuiteOptions) -> PreparedSuite:
        fewshot = COT_EXAMPLES if options.num_fewshot is None else min(options.num_fewshot, COT_EXAMPLES)
        specs, datasets = [], []
        if options.data_dir is not None:
            self.check_layout(options.data_dir / "bbh")
        elif not options.hub_allowed:
            raise DataError(
                "BBH: no data directory (pass --data-dir or set HARNESS_DATA_DIR) and the hub is off (HF_*_OFFLINE)"
            )
        for task in self.tasks:
            data, item_ids = TaskData(hub=HUB_DATASET), None
            if options.data_dir is not None:
                converted, use = converted_task(options.data_dir / "bbh" / "tasks" / f"{task}.json", options.cache_dir)
                data = TaskData(splits={"test": str(converted)}, digest=combine_digests([("test", use.sha256 or "")]))
                item_ids = tuple(f"bbh/{task}/{i}" for i in range(use.rows or 0))
                datasets.append(use)
            specs.append(
                TaskSpec(
                    name=f"harness_bbh_{task}",
                    suite=self.name,
                    output="generate_until",
                    prompt=Prompt(standard=f"bbh:{task}"),
                    data=data,
                    item_prefix=f"bbh/{task}",
                    item_ids=item_ids,
                    subject=task,
                    num_fewshot=fewshot,
                    scoring="exact_match",
                    answer_filter=ANSWER_FILTER,
                    generation=dict(options.gen_kwargs),
                )
            )
        if options.data_dir is None:
            datasets.append(DatasetUse(suite=self.name, source=f"hf://{HUB_DATASET}"))
        settings: dict[str, Any] = {
            "num_fewshot": fewshot,
            "template": "lm-eval bbh/cot_fewshot",
            "decoding": "greedy",
            "answer_filter": ANSWER_FILTER,
            "tasks": len(self.tasks),
        }
        if options.gen_kwargs:
            settings["generation_kwargs"] = dict(options.gen_kwargs)
        return PreparedSuite(tasks=specs, datasets=datasets, settings=settings)

    def check_layout(self, root: Path) -> None:
        missing = [t for t in self.tasks if not (root / "tasks" / f"{t}.json").is_file()]
        if len(missing) == len(self.tasks):
            raise DataError(f"{root / 'tasks'}: no BBH files (expected <task>.json for {len(self.tasks)} tasks)")
        if missing:
            raise DataError(
                f"{root / 'tasks'}: BBH file {missing[0]}.json is missing ({len(missing)} tasks lack files)"
            )

    def mine(self, records: list[ItemRecord]) -> list[ItemRecord]:
        return [r for r in records if r.suite == self.name and r.variant == "clean"]

    def outcomes(self, records: list[ItemRecord]) -> Outcomes:
        """Exact match per item over all tasks (the headline), then per task."""
        mine = self.mine(records)
        out: Outcomes = {self.headline: {r.item_id: r.correct for r in mine}}
        by_task: dict[str, dict[str, bool]] = defaultdict(dict)
        for record in mine:
            by_task[record.subject or "unknown"][record.item_id] = record.correct
        for task in sorted(by_task):
            out[f"{self.headline}.{task}"] = by_task[task]
        return out

    def scope_of(self, metric_name: str) -> tuple[Scope, str | None]:
        if metric_name.startswith(f"{self.headline}."):
            return "subject", metric_name.removeprefix(f"{self.headline}.")
        return super().scope_of(metric_name)

    def score(self, records: list[ItemRecord]) -> SuiteScores:
        """Micro-averaged exact match and exact match per task (Wilson intervals); no chance level."""
        if not self.mine(records):
            return SuiteScores(metrics=[], warnings=["no bbh records"])
        return SuiteScores(metrics=self.proportion_metrics(self.outcomes(records), EXACT_MATCH))
