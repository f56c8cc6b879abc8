"""MMLU (Hendrycks et al., ICLR 2021, arXiv:2009.03300) through lm-eval's stock task.

Each subject's task YAML *includes* lm-eval's own ``mmlu/default/mmlu_<subject>.yaml``
(its description line, ``doc_to_text``, choices " A".." D", accuracy by log-likelihood)
and only swaps the dataset for local files, so the numbers are those of the stock task.
The original CSV release (no header, fields may hold newlines) is converted once into
the ``cais/mmlu`` row format and cached by the CSV's SHA-256.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from harness.errors import DataError
from harness.files.atomic import atomic_write_jsonl
from harness.files.hashing import combine_digests, sha256_file
from harness.schema.results import ACCURACY, DatasetUse, ItemRecord, Scope
from harness.schema.tasks import Prompt, TaskData, TaskSpec
from harness.suites.base import (
    MeasuredSuite,
    Outcomes,
    PreparedSuite,
    SuiteOptions,
    SuiteScores,
    chance_levels,
    register_suite,
)

LETTERS = ("A", "B", "C", "D")
HUB_DATASET = "cais/mmlu"

SUBJECTS: tuple[str, ...] = (
    "abstract_algebra",
    "anatomy",
    "astronomy",
    "business_ethics",
    "clinical_knowledge",
    "college_biology",
    "college_chemistry",
    "college_computer_science",
    "college_mathematics",
    "college_medicine",
    "college_physics",
    "computer_security",
    "conceptual_physics",
    "econometrics",
    "electrical_engineering",
    "elementary_mathematics",
    "formal_logic",
    "global_facts",
    "high_school_biology",
    "high_school_chemistry",
    "high_school_computer_science",
    "high_school_european_history",
    "high_school_geography",
    "high_school_government_and_politics",
    "high_school_macroeconomics",
    "high_school_mathematics",
    "high_school_microeconomics",
    "high_school_physics",
    "high_school_psychology",
    "high_school_statistics",
    "high_school_us_history",
    "high_school_world_history",
    "human_aging",
    "human_sexuality",
    "international_law",
    "jurisprudence",
    "logical_fallacies",
    "machine_learning",
    "management",
    "marketing",
    "medical_genetics",
    "miscellaneous",
    "moral_disputes",
    "moral_scenarios",
    "nutrition",
    "philosophy",
    "prehistory",
    "professional_accounting",
    "professional_law",
    "professional_medicine",
    "professional_psychology",
    "public_relations",
    "security_studies",
    "sociology",
    "us_foreign_policy",
    "virology",
    "world_religions",
)


def read_mmlu_csv(path: Path, subject: str) -> list[dict[str, object]]:
    """Rows of an original-release MMLU CSV as ``cais/mmlu`` docs (question, subject, choices, answer)."""
    docs = []
    with open(path, encoding="utf-8", newline="") as handle:
        for row_number, row in enumerate(csv.reader(handle), start=1):
            if len(row) != 6:
                raise DataError(f"{path}: row {row_number} has {len(row)} fields, expected 6")
            question, *choices, answer = row
            if answer.strip() not in LETTERS:
                raise DataError(f"{path}: row {row_number}: answer {answer!r} is not one of A-D")
            docs.append(
                {
                    "question": question,
                    "subject": subject,
                    "choices": choices,
                    "answer": LETTERS.index(answer.strip()),
                }
            )
    return docs


@register_suite
class MMLU(MeasuredSuite):
    name = "mmlu"
    headline = "mmlu.accuracy"

    def __init__(self, subjects: tuple[str, ...] = SUBJECTS) -> None:
        self.subjects = subjects

    def prepare(self, options: SuiteOptions) -> PreparedSuite:
        fewshot = options.num_fewshot or 0
        tasks, datasets = [], []
        local = options.data_dir is not None
        if options.data_dir is not None:
            self.check_layout(options.data_dir / "mmlu", fewshot)
        elif not options.hub_allowed:
            raise DataError(
                "MMLU: no data directory (pass --data-dir or set HARNESS_DATA_DIR) and the hub is off (HF_*_OFFLINE)"
            )
        for subject in self.subjects:
            data, item_ids = TaskData(hub=HUB_DATASET), None
            if options.data_dir is not None:
                splits, digests = {}, []
                for split in ("test", "dev"):
                    source = options.data_dir / "mmlu" / split / f"{subject}_{split}.csv"
                    converted, use = converted_split(source, subject, options.cache_dir)
                    splits[split] = str(converted)
                    digests.append((split, use.sha256 or ""))
                    if split == "test":
                        item_ids = tuple(f"mmlu/{subject}/{i}" for i in range(use.rows or 0))
                    if split == "test" or fewshot:
                        datasets.append(use)
                data = TaskData(splits=splits, digest=combine_digests(digests))
            tasks.append(
                TaskSpec(
                    name=f"harness_mmlu_{subject}",
                    suite=self.name,
                    output="multiple_choice",
                    prompt=Prompt(standard=f"mmlu:{subject}"),
                    data=data,
                    item_prefix=f"mmlu/{subject}",
                    item_ids=item_ids,
                    subject=subject,
                    num_fewshot=fewshot,
                )
            )
        if not local:
            datasets.append(DatasetUse(suite=self.name, source=f"hf://{HUB_DATASET}"))
        settings = {"num_fewshot": fewshot, "template": "lm-eval mmlu/default", "subjects": len(self.subjects)}
        return PreparedSuite(tasks=tasks, datasets=datasets, settings=settings)

    def check_layout(self, root: Path, fewshot: int) -> None:
        missing = [s for s in self.subjects if not (root / "test" / f"{s}_test.csv").is_file()]
        if len(missing) == len(self.subjects):
            raise DataError(f"{root / 'test'}: no MMLU files (expected <subject>_test.csv for 57 subjects)")
        if missing:
            raise DataError(
                f"{root / 'test'}: MMLU file {missing[0]}_test.csv is missing ({len(missing)} subjects lack files)"
            )
        no_dev = [s for s in self.subjects if not (root / "dev" / f"{s}_dev.csv").is_file()]
        if no_dev:
            raise DataError(f"{root / 'dev'}: MMLU few-shot file {no_dev[0]}_dev.csv is missing")

    def outcomes(self, records: list[ItemRecord]) -> Outcomes:
        """Correctness per item: over all subjects (micro-average), then per subject."""
        clean = [r for r in records if r.suite == self.name and r.variant == "clean"]
        out: Outcomes = {"mmlu.accuracy": {r.item_id: r.correct for r in clean}}
        by_subject: dict[str, dict[str, bool]] = defaultdict(dict)
        for record in clean:
            by_subject[record.subject or "unknown"][record.item_id] = record.correct
        for subject in sorted(by_subject):
            out[f"mmlu.accuracy.{subject}"] = by_subject[subject]
        return out

    def scope_of(self, metric_name: str) -> tuple[Scope, str | None]:
        if metric_name.startswith("mmlu.accuracy."):
            return "subject", metric_name.removeprefix("mmlu.accuracy.")
        return super().scope_of(metric_name)

    def score(self, records: list[ItemRecord]) -> SuiteScores:
        """Micro-averaged accuracy over all items, then accuracy per subject (Wilson intervals).

        Each carries its chance level, 1/k for the k (four) choices of its items.
        """
        outcomes = self.outcomes(records)
        clean = {r.item_id: r for r in records if r.suite == self.name and r.variant == "clean"}
        return SuiteScores(metrics=self.proportion_metrics(outcomes, ACCURACY, chance_levels(outcomes, clean)))


def converted_split(source: Path, subject: str, cache_dir: Path) -> tuple[Path, DatasetUse]:
    digest = sha256_file(source)
    target = cache_dir / "data" / "mmlu" / f"{source.stem}-{digest[:16]}.jsonl"
    if target.is_file():
        with open(target, encoding="utf-8") as handle:
            rows = sum(1 for _ in handle)
    else:
        docs = read_mmlu_csv(source, subject)
        atomic_write_jsonl(target, docs)
        rows = len(docs)
    return target, DatasetUse(suite="mmlu", source=str(source), sha256=digest, rows=rows)
