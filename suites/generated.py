"""Suites of generated answers: a prompt per document, the model's answer, a scorer's verdict.

The inspect-ai engine asks the questions (greedy decoding, the model's chat template) and
applies the suite's scorer (:mod:`harness.scoring`) to each answer; the item record keeps
the answer, the scorer's values and its explanation. A suite turns those records into
proportions with Wilson intervals, a breakdown per kind of item, and the first failing
items with their answers for the reader.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

from harness.errors import DataError
from harness.files.hashing import sha256_file
from harness.schema.results import ItemRecord, Metric, MetricKind, Scope
from harness.schema.tasks import Prompt, TaskData, TaskSpec
from harness.suites.base import MeasuredSuite, Outcomes, PreparedSuite, SuiteOptions, SuiteScores
from harness.suites.documents import cached_docs

FAILURES_SHOWN = 5
EXCERPT = 400


def data_folder(name: str) -> Path:
    from importlib.resources import files

    return Path(str(files("harness.suites"))) / "data" / name


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSON-lines file; a malformed line is a one-line error naming file and line."""
    if not path.is_file():
        raise DataError(f"{path}: no such data file")
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict) or "id" not in row:
            raise DataError(f"{path}:{lineno}: expected a JSON object with an 'id'")
        rows.append(row)
    return rows


class GeneratedSuite(MeasuredSuite):
    """A suite whose documents are prompts; subclasses say where they are and how answers are scored."""

    engine = "inspect"
    scorer: ClassVar[str]
    system: ClassVar[str | None] = None
    max_tokens: ClassVar[int] = 128
    honours_limit: ClassVar[bool] = True
    kind_field: ClassVar[str] = "kind"  # the document field whose values give the per-kind breakdown
    headline_kind: ClassVar[MetricKind]
    judge_question: ClassVar[str | None] = None

    def sources(self) -> list[Path]:
        raise NotImplementedError

    def documents(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each source row as a document: at least ``id`` and ``input``; all fields reach the scorer."""
        return rows

    def prepare(self, options: SuiteOptions) -> PreparedSuite:
        rows = [row for source in self.sources() for row in read_jsonl(source)]
        docs = self.documents(rows)
        if options.limit is not None and self.honours_limit:
            docs = _first_per_kind(docs, options.limit, self.limit_key)
        path, digest = cached_docs(options.cache_dir, self.name, "prompts", docs)
        task = TaskSpec(
            name=f"harness_{self.name}",
            suite=self.name,
            output="generate_until",
            prompt=Prompt(),
            data=TaskData(splits={"test": str(path)}, digest=digest),
            item_prefix=self.name,
            item_ids=tuple(f"{self.name}/{d['id']}" for d in docs),
            scorer=self.scorer,
            system=self.system,
            generation={"max_tokens": self.max_tokens},
            judge_question=self.judge_question,
        )
        from harness.schema.results import DatasetUse

        datasets = [
            DatasetUse(suite=self.name, source=str(s), sha256=sha256_file(s), rows=len(read_jsonl(s)))
            for s in self.sources()
        ]
        settings = {
            "items": len(docs),
            "scorer": self.scorer,
            "max_tokens": self.max_tokens,
            "decoding": "greedy",
            "engine": "inspect-ai",
        }
        return PreparedSuite(tasks=[task], datasets=datasets, settings=settings, self_limited=True)

    def limit_key(self, document: dict[str, Any]) -> str:
        """What ``--limit N`` counts N documents of (N of each kind, so a small run still covers every kind)."""
        return str(document.get(self.kind_field, ""))

    def token_budget(self, options: SuiteOptions) -> int:
        """The suite's answer length, capped by ``--max-gen-toks``."""
        cap = options.gen_kwargs.get("max_gen_toks")
        return min(self.max_tokens, int(cap)) if cap else self.max_tokens

    def mine(self, records: list[ItemRecord]) -> list[ItemRecord]:
        return [r for r in records if r.suite == self.name]

    def outcomes(self, records: list[ItemRecord]) -> Outcomes:
        mine = self.mine(records)
        out: Outcomes = {self.headline: {r.item_id: r.correct for r in mine}}
        for record in sorted(mine, key=lambda r: str(r.extra.get(self.kind_field, ""))):
            kind = record.extra.get(self.kind_field)
            if kind:
                out.setdefault(f"{self.headline}.{kind}", {})[record.item_id] = record.correct
        return out

    def scope_of(self, metric_name: str) -> tuple[Scope, str | None]:
        if metric_name.startswith(f"{self.headline}."):
            return "kind", metric_name.removeprefix(f"{self.headline}.")
        return super().scope_of(metric_name)

    def score(self, records: list[ItemRecord]) -> SuiteScores:
        mine = self.mine(records)
        if not mine:
            return SuiteScores(metrics=[], warnings=[f"no {self.name} records"])
        metrics = self.proportion_metrics(self.outcomes(mine), self.headline_kind)
        return SuiteScores(metrics=metrics, details={"failures": failures(mine), "items": len(mine)})

    def values(self, records: Iterable[ItemRecord], key: str) -> dict[str, bool]:
        """Per item, a boolean the scorer recorded (e.g. ``strict_valid``)."""
        return {r.item_id: bool(r.extra.get("scores", {}).get(key)) for r in records}


def failures(records: list[ItemRecord], limit: int = FAILURES_SHOWN) -> list[dict[str, Any]]:
    """The first failing items, with what was asked, what the model answered and why it failed."""
    return [
        {
            "item_id": r.item_id,
            "input": _excerpt(str(r.extra.get("input", ""))),
            "generated": _excerpt(r.generated or ""),
            "explanation": r.extra.get("explanation") or "",
        }
        for r in records
        if not r.correct
    ][:limit]


def described(
    metric: Metric, kind: MetricKind, suite: str, scope: Scope = "overall", slice: str | None = None
) -> Metric:
    return kind.describe(metric, suite=suite, scope=scope, slice=slice)


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT else text[:EXCERPT].rstrip() + " …"


def _first_per_kind(
    docs: list[dict[str, Any]], limit: int, key: Callable[[dict[str, Any]], str]
) -> list[dict[str, Any]]:
    """The first ``limit`` documents of each kind."""
    taken: dict[str, int] = {}
    out = []
    for doc in docs:
        kind = key(doc)
        if taken.get(kind, 0) < limit:
            taken[kind] = taken.get(kind, 0) + 1
            out.append(doc)
    return out
