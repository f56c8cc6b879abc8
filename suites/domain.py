"""Domain: emergency-response multiple choice on the held-out split of the project's sample data.

The items of ``suites/data/emergency/multiple_choice.jsonl`` are split by a hash of
their id: one in five is held out for evaluation and never trained on (the training
module reads :func:`split_ids`). The model is asked each question and each choice's
text is scored as a continuation, ARC-style (Clark et al. 2018), so a model that learned
how experts answer can prefer the expert's action; accuracy uses lm-eval's
length-normalised ``acc_norm`` (Gao et al., lm-evaluation-harness), which does not
reward short choices.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from harness.suites.base import Outcomes, PreparedSuite, SuiteOptions, SuiteScores, TaskSpec, proportion_metrics
from harness.suites.lm_eval_tasks import choice_doc

from harness.atomic import atomic_write_jsonl
from harness.errors import DataError
from harness.hashing import sha256_file
from harness.results import DatasetUse, ItemRecord

HELD_OUT_EVERY = 5  # one item in five is held out
TASK_TEMPLATE = {
    "output_type": "multiple_choice",
    "test_split": "test",
    "doc_to_text": "Question: {{question.strip()}}\nAnswer:",
    "doc_to_choice": "{{choices}}",
    "doc_to_target": "answer",
    "target_delimiter": " ",
    "metric_list": [
        {"metric": "acc", "aggregation": "mean", "higher_is_better": True},
        {"metric": "acc_norm", "aggregation": "mean", "higher_is_better": True},
    ],
    "metadata": {"version": 1.0},
}


def sample_dir() -> Path:
    from importlib.resources import files

    return Path(str(files("harness.suites"))) / "data" / "emergency"


def is_held_out(item_id: str) -> bool:
    """Deterministic split: an item is held out when its id's SHA-256 falls in one fifth of the range."""
    return int(hashlib.sha256(item_id.encode("utf-8")).hexdigest(), 16) % HELD_OUT_EVERY == 0


def split_ids(ids: list[str]) -> tuple[list[str], list[str]]:
    """(train, held_out) ids, in the order given."""
    return [i for i in ids if not is_held_out(i)], [i for i in ids if is_held_out(i)]


class Domain:
    name = "domain"
    engine = "lm-eval"
    headline = "domain.accuracy"
    requires: tuple[str, ...] = ()

    def __init__(self, path: Path | None = None) -> None:
        self.path = path

    def prepare(self, options: SuiteOptions) -> PreparedSuite:
        source = self.path or sample_dir() / "multiple_choice.jsonl"
        if not source.is_file():
            raise DataError(f"domain: {source} is missing")
        rows = []
        for lineno, line in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise DataError(f"{source}:{lineno}: not valid JSON ({exc.msg})") from None
        held = [r for r in rows if is_held_out(str(r["id"]))]  # all of them: --limit does not cut this small set
        docs = [
            choice_doc(r["question"], r["choices"], int(r["answer"]), subject=r.get("hazard", "emergency"),
                       item_id=f"domain/{r['id']}", variant="clean", extra={"choice_texts": list(r["choices"])})
            for r in held
        ]
        digest = sha256_file(source)
        target = options.cache_dir / "data" / "domain" / f"held-out-{digest[:16]}-{len(docs)}.jsonl"
        if not target.is_file():
            atomic_write_jsonl(target, docs)
        task = TaskSpec(
            task_name="harness_domain",
            suite=self.name,
            item_prefix="domain",
            yaml_text=task_yaml_for(target),
            primary_metric="acc_norm",
        )
        datasets = [DatasetUse(suite=self.name, source=str(source), sha256=digest, rows=len(rows))]
        settings = {"split": f"held out: sha256(id) mod {HELD_OUT_EVERY} == 0", "items": len(docs),
                    "scoring": "choice text continuation, acc_norm", "num_fewshot": 0}
        return PreparedSuite(tasks=[task], datasets=datasets, settings=settings, self_limited=True)

    def outcomes(self, records: list[ItemRecord]) -> Outcomes:
        mine = [r for r in records if r.suite == self.name]
        out: Outcomes = {"domain.accuracy": {r.item_id: r.correct for r in mine}}
        for record in sorted(mine, key=lambda r: r.subject or ""):
            out.setdefault(f"domain.accuracy.{record.subject}", {})[record.item_id] = record.correct
        return out

    def score(self, records: list[ItemRecord]) -> SuiteScores:
        return SuiteScores(metrics=proportion_metrics(self.outcomes(records)))


def task_yaml_for(data_file: Path) -> str:
    """The whole task YAML (there is no stock task to include for the project's own items)."""
    import yaml

    body = {"task": "harness_domain", "tag": "harness_domain", "dataset_path": "json", "dataset_name": None,
            "dataset_kwargs": {"data_files": {"test": str(data_file)}}, **TASK_TEMPLATE}
    return yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
