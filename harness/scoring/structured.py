"""Structured output: does the answer parse as JSON, match its JSON Schema, and hold the right values?

- strict validity: the whole answer, stripped of surrounding whitespace, parses as a JSON
  object (RFC 8259) - what a program reading the answer needs;
- lenient validity: a JSON object can be found inside the answer (the first balanced
  ``{...}`` that parses), e.g. after a sentence or inside a code fence;
- schema conformance: that object validates against the task's JSON Schema (draft
  2020-12, checked by the ``jsonschema`` library);
- field accuracy: each graded field equals the reference value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from harness.scoring.base import ItemScore, register_scorer


def strict_json_object(text: str) -> dict[str, Any] | None:
    """The answer as a JSON object when the whole answer is one, else None."""
    try:
        value = json.loads(text.strip())
    except (json.JSONDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def lenient_json_object(text: str) -> dict[str, Any] | None:
    """The first balanced ``{...}`` inside the answer that parses as a JSON object, else None."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
        except (json.JSONDecodeError, ValueError):
            value = None
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None


def schema_violations(value: Any, schema: Mapping[str, Any]) -> list[str]:
    """Every way ``value`` breaks ``schema``, as ``path: message`` lines (empty when it conforms)."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(top level)'}: {error.message}"
        for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    ]


def field_matches(value: Mapping[str, Any], reference: Mapping[str, Any], fields: Sequence[str]) -> dict[str, bool]:
    """Per graded field: does the answer hold the reference value (strings compared case-insensitively)?"""

    def same(a: Any, b: Any) -> bool:
        if isinstance(a, str) and isinstance(b, str):
            return a.strip().lower() == b.strip().lower()
        return bool(a == b) and type(a) is type(b)

    return {name: name in value and same(value[name], reference.get(name)) for name in fields}


@register_scorer("structured")
def score_structured(text: str, item: Mapping[str, Any]) -> ItemScore:
    """Strict validity is the headline; the item carries ``schema``, ``reference`` and ``graded_fields``."""
    strict = strict_json_object(text)
    found = strict if strict is not None else lenient_json_object(text)
    violations = schema_violations(found, item["schema"]) if found is not None else ["no JSON object found"]
    conforms = found is not None and not violations
    fields = field_matches(found or {}, item.get("reference") or {}, item.get("graded_fields") or [])
    if strict is not None and conforms:
        explanation = "the whole answer is a JSON object that conforms to the schema"
    elif strict is not None:
        explanation = f"the whole answer is JSON, but {violations[0]}"
    elif found is not None:
        explanation = "a JSON object was found inside the answer, not as the whole answer" + (
            "" if conforms else f"; {violations[0]}"
        )
    else:
        explanation = "no JSON object in the answer"
    values: dict[str, float | bool | None] = {
        "strict_valid": strict is not None,
        "lenient_valid": found is not None,
        "schema_conformant": conforms,
    }
    values |= {f"field.{name}": ok for name, ok in fields.items()}
    return ItemScore(
        correct=strict is not None, explanation=explanation, answer=json.dumps(found) if found else None, values=values
    )
