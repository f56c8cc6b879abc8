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

from harness.errors import DataError
from harness.files.atomic import atomic_write_jsonl
from harness.files.hashing import combine_digests, sha256_file, sha256_text
from harness.schema.results import ACCURACY, DatasetUse, ItemRecord, Metric, MetricKind, Scope
from harness.schema.tasks import Prompt, TaskData, TaskSpec
from harness.stats import mcnemar_exact_p_value, paired_difference_interval
from harness.suites.base import (
    MeasuredSuite,
    Outcomes,
    PreparedSuite,
    SuiteOptions,
    SuiteScores,
    chance_level,
    register_suite,
)
from harness.suites.documents import choice_doc
from harness.suites.mmlu import MMLU, SUBJECTS, converted_split, read_mmlu_csv
from harness.suites.perturbations import PERTURBATIONS, ChoiceItem, perturb

DEFAULT_ITEMS_PER_SUBJECT = 10
PERTURBATION_VERSION = "1"  # bump when a perturbation changes, so cached variant files are rebuilt

WORST_CASE = MetricKind(
    direction="higher",
    unit="proportion",
    label="worst-case accuracy",
    definition="an item counts only if right clean and under every perturbation (HELM, Liang et al. 2022)",
)
DROP = MetricKind(
    direction="lower",
    unit="proportion",
    label="accuracy drop",
    definition="clean minus perturbed accuracy on the same items; paired bootstrap interval",
)
CONSISTENCY = MetricKind(
    direction="higher",
    unit="proportion",
    label="same answer",
    definition="share of items whose chosen answer's content is the same clean and perturbed",
)


@register_suite
class Robustness(MeasuredSuite):
    name = "robustness"
    headline = "robustness.worst_case_accuracy"

    def __init__(self, subjects: tuple[str, ...] = SUBJECTS, perturbations: tuple[str, ...] = PERTURBATIONS) -> None:
        self.subjects = subjects
        self.perturbations = perturbations

    def prepare(self, options: SuiteOptions) -> PreparedSuite:
        if options.data_dir is None:
            raise DataError("robustness: needs the MMLU CSVs locally (--data-dir or HARNESS_DATA_DIR)")
        root = options.data_dir / "mmlu"
        fewshot = options.num_fewshot or 0
        MMLU(self.subjects).check_layout(root, fewshot)
        per_subject = options.limit or DEFAULT_ITEMS_PER_SUBJECT
        tasks, datasets = [], []
        for subject in self.subjects:
            source = root / "test" / f"{subject}_test.csv"
            variants, digest, item_ids, use = self._variants_file(source, subject, per_subject, options)
            dev, dev_use = converted_split(root / "dev" / f"{subject}_dev.csv", subject, options.cache_dir)
            datasets.append(use)
            tasks.append(
                TaskSpec(
                    name=f"harness_robustness_{subject}",
                    suite=self.name,
                    output="multiple_choice",
                    prompt=Prompt(standard=f"mmlu:{subject}"),
                    data=TaskData(
                        splits={"test": str(variants), "dev": str(dev)},
                        digest=combine_digests([("test", digest), ("dev", dev_use.sha256 or "")]),
                    ),
                    item_prefix=f"mmlu/{subject}",
                    item_ids=item_ids,
                    subject=subject,
                    num_fewshot=fewshot,
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

    def _variants_file(
        self, source: Path, subject: str, per_subject: int, options: SuiteOptions
    ) -> tuple[Path, str, tuple[str, ...], DatasetUse]:
        """The variant docs of a subject's first items, written once and named by what determines them.

        Returns (file, digest, item ids in document order, the source's use).
        """
        digest = sha256_file(source)
        key = sha256_text(
            f"{digest}:{per_subject}:{options.seed}:{PERTURBATION_VERSION}:{','.join(self.perturbations)}"
        )
        target = options.cache_dir / "data" / "robustness" / f"{subject}-{key[:16]}.jsonl"
        rows = read_mmlu_csv(source, subject)[:per_subject]
        if not target.is_file():
            atomic_write_jsonl(target, variant_docs(rows, subject, self.perturbations, options.seed))
        item_ids = tuple(
            item_id if variant == "clean" else f"{item_id}#{variant}"
            for item_id in (f"mmlu/{subject}/{i}" for i in range(len(rows)))
            for variant in ("clean", *self.perturbations)
        )
        return target, key, item_ids, DatasetUse(suite=self.name, source=str(source), sha256=digest, rows=len(rows))

    def scope_of(self, metric_name: str) -> tuple[Scope, str | None]:
        if metric_name.startswith("robustness.accuracy."):
            return "perturbation", metric_name.removeprefix("robustness.accuracy.")
        return super().scope_of(metric_name)

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
        chance = {f"robustness.accuracy.{v}": chance_level(by_variant[v].values()) for v in by_variant}
        metrics = self.proportion_metrics(outcomes, ACCURACY, chance)
        metrics = [
            WORST_CASE.describe(m, suite=self.name, scope="headline") if m.name == self.headline else m for m in metrics
        ]
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
            drop = DROP.describe(
                Metric(
                    name=f"robustness.drop.{variant}",
                    value=drop_value,
                    n=len(keys),
                    ci_low=0.0 - diff_high,
                    ci_high=0.0 - diff_low,
                    ci_method="paired-bootstrap-4000",
                ),
                suite=self.name,
                scope="perturbation",
                slice=variant,
            )
            same = sum(
                _chosen_text(clean[k]) is not None and _chosen_text(clean[k]) == _chosen_text(perturbed[k])
                for k in keys
            )
            consistency = CONSISTENCY.proportion(
                f"robustness.consistency.{variant}",
                same,
                len(keys),
                suite=self.name,
                scope="perturbation",
                slice=variant,
            )
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
            metrics.append(
                worst_drop.model_copy(update={"name": "robustness.drop.max", "scope": "overall", "slice": None})
            )
        details = {
            "perturbations": table,
            "worst_perturbation": worst_drop.slice if worst_drop else None,
            "charts": [perturbation_chart([row["perturbation"] for row in table])],
        }
        return SuiteScores(metrics=metrics, details=details)


def perturbation_chart(perturbations: list[str]) -> dict[str, Any]:
    variants = ["clean", *perturbations]
    return {
        "kind": "interval_bars",
        "title": "Accuracy under each perturbation (95% CI)",
        "metrics": [f"robustness.accuracy.{v}" for v in variants],
        "labels": variants,
        "reference_metric": "robustness.accuracy.clean",
    }


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
                    item.question,
                    item.choices,
                    item.answer,
                    subject=subject,
                    item_id=item_id if variant == "clean" else f"{item_id}#{variant}",
                    variant=variant,
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
    return str(texts[record.prediction])
