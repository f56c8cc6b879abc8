"""Structured output: answers that must be JSON matching a JSON Schema.

The methodology's first model "learned patterns but can't generate JSON" (0% valid JSON,
against a 60-80% target). Two kinds of task, in the emergency-response domain: a decision
object for a described incident (``decision.schema.json``) and a compliance answer naming
the regulations that apply (``compliance.schema.json``). Metrics (Wilson intervals):

- ``structured.valid_json``: strict validity, the whole answer parses as a JSON object;
- ``structured.valid_json_lenient``: a JSON object can be found inside the answer;
- ``structured.schema_conformance``: that object validates against the task's schema;
- ``structured.field_accuracy.<field>``: the graded field equals the reference value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.schema.results import ItemRecord, MetricKind, Scope
from harness.suites.base import Outcomes, SuiteScores, register_suite
from harness.suites.generated import GeneratedSuite, data_folder, failures

GRADED = {"decision": ["action", "priority", "evacuate", "hazard"], "compliance": ["compliant", "risk"]}
VALID = MetricKind(
    direction="higher",
    unit="proportion",
    label="valid JSON (strict)",
    definition="share of answers that are, as a whole, a JSON object (RFC 8259); Wilson interval",
)
LENIENT = MetricKind(
    direction="higher",
    unit="proportion",
    label="valid JSON (lenient)",
    definition="share of answers holding a JSON object somewhere in the text; Wilson interval",
)
CONFORMS = MetricKind(
    direction="higher",
    unit="proportion",
    label="schema conformance",
    definition="share of answers whose JSON object validates against the task's JSON Schema "
    "(draft 2020-12, jsonschema); Wilson interval",
)
FIELD = MetricKind(
    direction="higher",
    unit="proportion",
    label="field accuracy",
    definition="share of answers whose field equals the reference value; Wilson interval",
)
SYSTEM = (
    "You are an emergency-response decision-support assistant. When asked for JSON, answer with the JSON "
    "object only: no prose, no code fences."
)


@register_suite
class Structured(GeneratedSuite):
    name = "structured"
    headline = "structured.valid_json"
    scorer = "structured"
    system = SYSTEM
    max_tokens = 160
    headline_kind = VALID

    def sources(self) -> list[Path]:
        return [data_folder("structured") / "items.jsonl"]

    def documents(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        schemas = {
            name: json.loads((data_folder("structured") / f"{name}.schema.json").read_text(encoding="utf-8"))
            for name in GRADED
        }
        return [
            {
                "id": row["id"],
                "input": row["prompt"],
                "target": json.dumps(row["reference"], sort_keys=True),
                "kind": row["kind"],
                "schema": schemas[row["schema"]],
                "reference": row["reference"],
                "graded_fields": GRADED[row["schema"]],
            }
            for row in rows
        ]

    def outcomes(self, records: list[ItemRecord]) -> Outcomes:
        mine = self.mine(records)
        out = super().outcomes(mine)
        out["structured.valid_json_lenient"] = self.values(mine, "lenient_valid")
        out["structured.schema_conformance"] = self.values(mine, "schema_conformant")
        for field in sorted({f for fields in GRADED.values() for f in fields}):
            graded = [r for r in mine if f"field.{field}" in r.extra.get("scores", {})]
            if graded:
                out[f"structured.field_accuracy.{field}"] = self.values(graded, f"field.{field}")
        return out

    def scope_of(self, metric_name: str) -> tuple[Scope, str | None]:
        if metric_name.startswith("structured.field_accuracy."):
            return "field", metric_name.removeprefix("structured.field_accuracy.")
        return super().scope_of(metric_name)

    def score(self, records: list[ItemRecord]) -> SuiteScores:
        mine = self.mine(records)
        if not mine:
            return SuiteScores(metrics=[], warnings=["no structured records"])
        kinds = {"structured.valid_json_lenient": LENIENT, "structured.schema_conformance": CONFORMS}
        metrics = []
        for name, per_item in self.outcomes(mine).items():
            kind = kinds.get(name, FIELD if name.startswith("structured.field_accuracy.") else VALID)
            scope, slice_ = self.scope_of(name)
            metrics.append(
                kind.proportion(name, sum(per_item.values()), len(per_item), suite=self.name, scope=scope, slice=slice_)
            )
        return SuiteScores(metrics=metrics, details={"failures": failures(mine), "items": len(mine)})
