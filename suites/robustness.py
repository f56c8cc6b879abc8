"""Robustness: MMLU items under seeded perturbations, scored against the clean item.

Each MMLU test item (the first N of every subject) is asked clean and under every
perturbation of :mod:`harness.suites.perturbations`, with the stock MMLU prompt. Each
variant is its own item record, ``<item id>#<perturbation>``. Metrics follow HELM's
robustness reporting (Liang et al. 2022, §4.5): accuracy per perturbation, the paired
drop against the clean item, the consistency of the chosen answer's content, and
worst-case accuracy (an item counts only if answered correctly under every variant).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from harness.suites.base import Outcomes, PreparedSuite, SuiteOptions, SuiteScores, TaskSpec
from harness.suites.lm_eval_tasks import choice_doc, stock_task_yaml, task_yaml
from harness.suites.mmlu import LETTERS, MMLU, SUBJECTS, converted_split, read_mmlu_csv
from harness.suites.perturbations import PERTURBATIONS, ChoiceItem, perturb

from harness.atomic import atomic_write_jsonl
from harness.errors import DataError
from harness.hashing import sha256_file, sha256_text
from harness.results import DatasetUse, ItemRecord, Metric, proportion_metric
from harness.stats import mcnemar_exact_p_value, paired_difference_interval

DEFAULT_ITEMS_PER_SUBJECT = 10
PERTURBATION_VERSION = "1"  # bump when a perturbation changes, so cached variant files are rebuilt


class Robustness:
    name = "robustness"
    engine = "lm-eval"
    headline = "robustness.worst_case_accuracy"
    requires: tuple[str, ...] = ()

    def __init__(self, subjects: tuple[str, ...] = SUBJECTS, perturbations: tuple[str, ...] = PERTURBATIONS) -> None:
        self.subjects = subjects
        self.perturbations = perturbations

    def prepare(self, options: SuiteOptions) -> PreparedSuite:
        if options.data_dir is None:
            raise DataError("robustness: needs the MMLU CSVs locally (--data-dir or HARNESS_DATA_DIR)")
        root = options.data_dir / "mmlu"
        fewshot = options.num_fewshot or 0
        MMLU(self.subjects)._check_layout(root, fewshot)
        per_subject = options.limit or DEFAULT_ITEMS_PER_SUBJECT
        tasks, datasets = [], []
        for subject in self.subjects:
            source = root / "test" / f"{subject}_test.csv"
            variants, use = self._variants_file(source, subject, per_subject, options)
            dev, _ = converted_split(root / "dev" / f"{subject}_dev.csv", subject, options.cache_dir)
            datasets.append(use)
            name = f"harness_robustness_{subject}"
            tasks.append(
                TaskSpec(
                    task_name=name,
                    suite=self.name,
                    item_prefix=f"mmlu/{subject}",
                    subject=subject,
                    yaml_text=task_yaml(
                        stock_task_yaml(f"mmlu/default/mmlu_{subject}.yaml"),
                        task=name,
                        tag="harness_robustness",
                        dataset_path="json",
                        dataset_name=None,
                        dataset_kwargs={"data_files": {"test": str(variants), "dev": str(dev)}},
                        num_fewshot=fewshot,
                    ),
                    choices=LETTERS,
                )
            )
        settings = {
            "items_per_subject": per_subject,
            "subjects": len(self.subjects),
            "perturbations": list(self.perturbations),
            "perturbation_version": PERTURBATION_VERSION,
            "seed": options.seed,
            "num_fewshot": fewshot,
            "template": "lm-eval mmlu/default",
        }
        return PreparedSuite(tasks=tasks, datasets=datasets, settings=settings, self_limited=True)

    def _variants_file(self, source: Path, subject: str, per_subject: int, options: SuiteOptions) -> tuple[Path, DatasetUse]:
        digest = sha256_file(source)
        key = sha256_text(f"{digest}:{per_subject}:{options.seed}:{PERTURBATION_VERSION}:{','.join(self.perturbations)}")
        target = options.cache_dir / "data" / "robustness" / f"{subject}-{key[:16]}.jsonl"
        rows = read_mmlu_csv(source, subject)[:per_subject]
        if not target.is_file():
            atomic_write_jsonl(target, variant_docs(rows, subject, self.perturbations, options.seed))
        return target, DatasetUse(suite=self.name, source=str(source), sha256=digest, rows=len(rows))

    def outcomes(self, records: list[ItemRecord]) -> Outcomes:
        """Correctness per source item under each variant, and under all of them at once."""
        by_variant = _by_variant(records)
        out: Outcomes = {}
        for variant in ("clean", *self.perturbations):
            if variant in by_variant:
                out[f"robustness.accuracy.{variant}"] = {k: r.correct for k, r in by_variant[variant].items()}
        worst: dict[str, bool] = {}
        for key, clean in by_variant.get("clean", {}).items():
            worst[key] = clean.correct and all(
                by_variant[v][key].correct for v in self.perturbations if key in by_variant.get(v, {})
            )
        out["robustness.worst_case_accuracy"] = worst
        return out

    def score(self, records: list[ItemRecord]) -> SuiteScores:
        outcomes = self.outcomes(records)
        by_variant = _by_variant(records)
        clean = by_variant.get("clean", {})
        metrics: list[Metric] = [proportion_metric(name, sum(v.values()), len(v)) for name, v in outcomes.items()]
        table: list[dict[str, Any]] = []
        worst_drop: Metric | None = None
        for variant in self.perturbations:
            perturbed = by_variant.get(variant, {})
            keys = sorted(set(clean) & set(perturbed))
            if not keys:
                continue
            ref = [clean[k].correct for k in keys]
            new = [perturbed[k].correct for k in keys]
            diff_low, diff_high = paired_difference_interval(ref, new)
            drop_value = (sum(ref) - sum(new)) / len(keys)
            drop = Metric(
                name=f"robustness.drop.{variant}", value=drop_value, n=len(keys),
                ci_low=0.0 - diff_high, ci_high=0.0 - diff_low, ci_method="paired-bootstrap-4000",
            )
            same = sum(
                _chosen_text(clean[k]) is not None and _chosen_text(clean[k]) == _chosen_text(perturbed[k]) for k in keys
            )
            consistency = proportion_metric(f"robustness.consistency.{variant}", same, len(keys))
            metrics += [drop, consistency]
            if worst_drop is None or drop_value > (worst_drop.value or 0.0):
                worst_drop = drop
            only_clean = sum(a and not b for a, b in zip(ref, new, strict=True))
            only_perturbed = sum(b and not a for a, b in zip(ref, new, strict=True))
            table.append(
                {
                    "perturbation": variant,
                    "n": len(keys),
                    "accuracy": sum(new) / len(keys),
                    "clean_accuracy": sum(ref) / len(keys),
                    "drop": drop_value,
                    "drop_ci": [drop.ci_low, drop.ci_high],
                    "mcnemar_p": mcnemar_exact_p_value(only_clean, only_perturbed),
                    "consistency": consistency.value,
                }
            )
        if worst_drop is not None:
            metrics.append(worst_drop.model_copy(update={"name": "robustness.drop.max"}))
        details = {"perturbations": table, "worst_perturbation": worst_drop.name.rsplit(".", 1)[1] if worst_drop else None}
        return SuiteScores(metrics=metrics, details=details)


def variant_docs(
    rows: list[dict[str, Any]], subject: str, perturbations: tuple[str, ...], seed: int
) -> list[dict[str, Any]]:
    """Docs for every row: the clean item first, then one per perturbation."""
    docs = []
    for row_number, row in enumerate(rows):
        item_id = f"mmlu/{subject}/{row_number}"
        original = ChoiceItem(str(row["question"]), tuple(row["choices"]), int(row["answer"]))
        for variant in ("clean", *perturbations):
            item = original if variant == "clean" else perturb(original, variant, key=item_id, seed=seed)
            docs.append(
                choice_doc(
                    item.question, item.choices, item.answer, subject=subject,
                    item_id=item_id if variant == "clean" else f"{item_id}#{variant}", variant=variant,
                    extra={"source_item": item_id, "choice_texts": list(item.choices)},
                )
            )
    return docs


def _by_variant(records: list[ItemRecord]) -> dict[str, dict[str, ItemRecord]]:
    out: dict[str, dict[str, ItemRecord]] = defaultdict(dict)
    for record in records:
        if record.suite == "robustness":
            out[record.variant][record.extra.get("source_item", record.item_id.split("#")[0])] = record
    return out


def _chosen_text(record: ItemRecord) -> str | None:
    texts = record.extra.get("choice_texts")
    if not texts or not isinstance(record.prediction, int):
        return None
    return texts[record.prediction]
