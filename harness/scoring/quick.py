"""The quick check's answers: numbers compared as numbers, words as whole words, code by running it.

- number: the last number in the answer (commas as thousands separators removed) equals the
  reference within its absolute tolerance;
- text: one of the accepted answers appears as a whole word or phrase (case-insensitive);
- code: the answer's Python (the first fenced block, else the whole answer) passes the
  item's tests, run by :func:`harness.scoring.sandbox.run_python`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from harness.scoring.base import ItemScore, register_scorer
from harness.scoring.sandbox import run_python

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
_FENCE = re.compile(r"```(?:python|py)?\s*\n(.*?)```", re.DOTALL | re.IGNORECASE)
CODE_TIMEOUT_S = 5.0


def last_number(text: str) -> float | None:
    found = _NUMBER.findall(text)
    if not found:
        return None
    try:
        return float(found[-1].replace(",", ""))
    except ValueError:
        return None


def mentions(text: str, accepted: list[str]) -> bool:
    lowered = " ".join(text.lower().split())
    return any(re.search(rf"(?<!\w){re.escape(a.lower())}(?!\w)", lowered) for a in accepted)


def code_of(text: str) -> str:
    fenced = _FENCE.search(text)
    return fenced.group(1) if fenced else text


@register_scorer("quick")
def score_quick(text: str, item: Mapping[str, Any]) -> ItemScore:
    kind = item["answer_type"]
    if kind == "number":
        value = last_number(text)
        ok = value is not None and abs(value - float(item["answer"])) <= float(item.get("tolerance", 0.0))
        return ItemScore(
            ok, f"answered {value}, expected {item['answer']}", None if value is None else str(value), {"passed": ok}
        )
    if kind == "text":
        ok = mentions(text, list(item["accept"]))
        return ItemScore(
            ok, "an accepted answer was named" if ok else "no accepted answer in the text", None, {"passed": ok}
        )
    result = run_python(code_of(text) + "\n\n" + str(item["tests"]) + "\n", timeout_s=CODE_TIMEOUT_S)
    return ItemScore(
        result.passed, f"code {result.reason}", None, {"passed": result.passed, "timed_out": result.timed_out}
    )
