"""Documents the project writes itself: multiple-choice rows, cached as JSON lines by content."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.files.atomic import atomic_write_text
from harness.files.hashing import sha256_text


def choice_doc(
    question: str,
    choices: Sequence[str],
    answer: int,
    *,
    subject: str,
    item_id: str,
    variant: str,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """A project-written multiple-choice doc in the ``cais/mmlu`` row format.

    The ``harness`` field travels through the engine untouched (it is in the sample's
    ``doc``), so the record is named by ``item_id`` and ``variant``. ``extra`` is stored
    as a JSON string so every doc has the same Arrow schema.
    """
    return {
        "question": question,
        "subject": subject,
        "choices": list(choices),
        "answer": answer,
        "harness": {
            "item_id": item_id,
            "variant": variant,
            "subject": subject,
            "extra": json.dumps(extra, sort_keys=True),
        },
    }


def cached_docs(cache_dir: Path, folder: str, stem: str, docs: list[dict[str, Any]]) -> tuple[Path, str]:
    """``docs`` written once as JSON lines under the cache, named by their content; returns (path, digest)."""
    text = "".join(json.dumps(d, ensure_ascii=False, separators=(",", ":")) + "\n" for d in docs)
    digest = sha256_text(text)
    target = cache_dir / "data" / folder / f"{stem}-{digest[:16]}.jsonl"
    if not target.is_file():
        atomic_write_text(target, text)
    return target, digest


def item_ids_of(docs: list[dict[str, Any]]) -> tuple[str, ...]:
    return tuple(str(d["harness"]["item_id"]) for d in docs)
