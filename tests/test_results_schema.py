import json
from pathlib import Path

from harness.schema.results import results_json_schema

SCHEMA = Path(__file__).resolve().parent.parent / "harness" / "schema" / "results.schema.json"


def test_published_schema_matches_the_code() -> None:
    """Regenerate with: python -c "from harness.schema.results import *; ..." (see README)."""
    assert json.loads(SCHEMA.read_text()) == results_json_schema()


def test_schema_is_versioned_and_requires_intervals() -> None:
    schema = results_json_schema()
    assert schema["properties"]["schema_version"]["const"] == "2"
    metric = schema["$defs"]["Metric"]
    assert {"name", "value", "n"} <= set(metric["required"])
    assert {"ci_low", "ci_high", "ci_method"} <= set(metric["properties"])
