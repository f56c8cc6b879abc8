"""The item record of a generated answer: what was asked, what came back, and the scorer's verdict."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from harness.files.hashing import sha256_text
from harness.schema.results import ItemRecord
from harness.schema.tasks import TaskSpec
from harness.scoring.base import ItemScore

KEPT_FIELDS = ("kind", "category", "domain", "expected", "label")


def prompt_hash(task: TaskSpec, document: Mapping[str, Any]) -> str:
    """Identity of what the model was asked: system message, input and decoding settings."""
    return sha256_text(json.dumps([task.system, document["input"], dict(task.generation)], sort_keys=True))


def scored_record(
    task: TaskSpec,
    document: Mapping[str, Any],
    generated: str,
    score: ItemScore,
    *,
    judge_yes: bool | None = None,
    judge_answer: str | None = None,
    seconds: float = 0.0,
    batch_size: int = 1,
) -> ItemRecord:
    """One record per document: the answer, the scorer's values and explanation, and the judge's verdict if any."""
    extra: dict[str, Any] = {"scores": dict(score.values), "explanation": score.explanation}
    if judge_yes is not None:
        extra["judge"] = {"yes": judge_yes, "answer": judge_answer}
    extra |= {k: document[k] for k in KEPT_FIELDS if k in document}
    extra |= {"seconds": seconds, "batch_size": batch_size, "input": str(document["input"])}
    subject = document.get("kind") or document.get("category") or document.get("domain") or task.subject
    return ItemRecord(
        suite=task.suite,
        item_id=task.item_id_of(document),
        variant="fixed_response" if task.respond_with else "clean",
        subject=str(subject) if subject else None,
        prompt_hash=prompt_hash(task, document),
        generated=generated,
        prediction=score.answer,
        target=str(document.get("target", "")),
        correct=score.correct,
        extra=extra,
    )
