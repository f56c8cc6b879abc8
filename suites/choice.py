"""Multiple-choice suites over a JSON-lines file: the shortest way to add a suite.

Each line holds ``id``, ``question``, ``choices`` (a list) and ``answer`` (the index of
the right choice), optionally ``subject``. A subclass names the file and how the
question is asked; accuracy overall and per subject, with Wilson intervals, follow:

- ``prompt = "letters"``: MMLU's standard prompt (question, lettered choices,
  "Answer:"), the model's letter scored by log-likelihood (Hendrycks et al. 2021);
- ``prompt = "continuation"``: each choice's text scored as a continuation of
  "Question: ... Answer:" with length-normalised accuracy, ``acc_norm`` (ARC-style,
  Clark et al. 2018), which does not reward short choices.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar, Literal

from harness.errors import DataError
from harness.files.hashing import sha256_file
from harness.schema.results import ACCURACY, DatasetUse, ItemRecord, Scope
from harness.schema.tasks import Prompt, TaskData, TaskSpec
from harness.suites.base import MeasuredSuite, Outcomes, PreparedSuite, SuiteOptions, SuiteScores, chance_levels
from harness.suites.documents import cached_docs, choice_doc, item_ids_of

CONTINUATION = Prompt(text="Question: {{question.strip()}}\nAnswer:", choices="{{choices}}", target="answer")


class MultipleChoiceSuite(MeasuredSuite):
    """Accuracy on the items of :meth:`data_file`; subclasses set ``name``, ``headline`` and the file."""

    prompt: ClassVar[Literal["letters", "continuation"]] = "letters"
    description: ClassVar[str] = "The following are multiple choice questions (with answers).\n\n"
    subject_field: ClassVar[str] = "subject"  # the row field that names an item's subject (its breakdown)
    honours_limit: ClassVar[bool] = True  # --limit N asks the first N items

    def data_file(self) -> Path:
        raise NotImplementedError

    def select(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows to ask (all of them by default)."""
        return rows

    def prepare(self, options: SuiteOptions) -> PreparedSuite:
        source = self.data_file()
        rows = read_choice_rows(source)
        chosen = self.select(rows)
        if options.limit is not None and self.honours_limit:
            chosen = chosen[: options.limit]
        docs = [
            choice_doc(
                str(r["question"]),
                [str(c) for c in r["choices"]],
                int(r["answer"]),
                subject=str(r.get(self.subject_field) or self.name),
                item_id=f"{self.name}/{r['id']}",
                variant="clean",
                extra={"choice_texts": [str(c) for c in r["choices"]]},
            )
            for r in chosen
        ]
        path, digest = cached_docs(options.cache_dir, self.name, "items", docs)
        if self.prompt == "continuation":
            prompt, splits = CONTINUATION, {"test": str(path)}
        else:
            prompt, splits = (
                Prompt(standard="mmlu", description=self.description),
                {"test": str(path), "dev": str(path)},
            )
        task = TaskSpec(
            name=f"harness_{self.name}",
            suite=self.name,
            output="multiple_choice",
            prompt=prompt,
            data=TaskData(splits=splits, digest=digest),
            item_prefix=self.name,
            item_ids=item_ids_of(docs),
            scoring="acc_norm" if self.prompt == "continuation" else "acc",
        )
        datasets = [DatasetUse(suite=self.name, source=str(source), sha256=sha256_file(source), rows=len(rows))]
        settings = {"items": len(docs), "prompt": self.prompt, "num_fewshot": 0}
        return PreparedSuite(tasks=[task], datasets=datasets, settings=settings, self_limited=True)

    def outcomes(self, records: list[ItemRecord]) -> Outcomes:
        """Correctness per item, overall and per subject."""
        mine = [r for r in records if r.suite == self.name]
        out: Outcomes = {self.headline: {r.item_id: r.correct for r in mine}}
        for record in sorted(mine, key=lambda r: r.subject or ""):
            out.setdefault(f"{self.headline}.{record.subject}", {})[record.item_id] = record.correct
        return out

    def scope_of(self, metric_name: str) -> tuple[Scope, str | None]:
        if metric_name.startswith(f"{self.headline}."):
            return "subject", metric_name.removeprefix(f"{self.headline}.")
        return super().scope_of(metric_name)

    def score(self, records: list[ItemRecord]) -> SuiteScores:
        """Accuracy overall and per subject, each with its chance level (the mean of 1/k over its items)."""
        outcomes = self.outcomes(records)
        mine = {r.item_id: r for r in records if r.suite == self.name}
        return SuiteScores(metrics=self.proportion_metrics(outcomes, ACCURACY, chance_levels(outcomes, mine)))


def read_choice_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a multiple-choice JSON-lines file, each checked: one-line errors name file, line and field."""
    if not path.is_file():
        raise DataError(f"{path}: no such data file")
    rows = []
    for lineno, line in _lines(path):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}:{lineno}: expected a JSON object")
        for key in ("id", "question", "choices", "answer"):
            if key not in row:
                raise DataError(f"{path}:{lineno}: field {key!r} is missing")
        choices = row["choices"]
        if not isinstance(choices, list) or len(choices) < 2:
            raise DataError(f"{path}:{lineno}: field 'choices' must list at least two choices")
        answer = row["answer"]
        if not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer < len(choices):
            raise DataError(f"{path}:{lineno}: field 'answer' must be a choice index 0-{len(choices) - 1}")
        rows.append(row)
    if not rows:
        raise DataError(f"{path}: no items")
    return rows


def _lines(path: Path) -> Iterable[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file") from None
    return ((i, line) for i, line in enumerate(text.splitlines(), start=1) if line.strip())
