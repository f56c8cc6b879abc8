"""Data checks with Great Expectations 1.x: in memory, analytics off, suites kept as YAML.

An expectation suite file lists GX expectations by their snake_case type and keyword
arguments::

    name: instruction-data
    expectations:
      - type: expect_column_values_to_not_be_null
        column: instruction
      - type: expect_column_values_to_be_in_set
        column: decision
        value_set: [evacuate_now, shelter_in_place]

GX builds and checks each expectation (its pydantic models report bad arguments); the
harness reports every one by type and column, with the rows that broke it. GX does not
return results in the order given, so results are matched by type and arguments.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from harness.errors import DataError, InputError
from harness.files.yaml_files import line_of, read_yaml, shipped_or_path

if TYPE_CHECKING:
    from pandas import DataFrame


EXAMPLE_ROWS = 5


class ExpectationOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    column: str | None
    kwargs: dict[str, Any]
    success: bool
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    unexpected_rows: list[int] = []  # 0-based row numbers of the data frame (first 50)
    examples: list[Any] = []
    observed_value: Any = None


class ValidationReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suite: str
    suite_path: str
    data: str
    rows: int
    success: bool
    evaluated: int
    passed: int
    outcomes: list[ExpectationOutcome]
    gx_version: str

    @property
    def passed_share(self) -> float:
        return self.passed / self.evaluated if self.evaluated else 0.0


def load_expectation_suite(path: str | Path) -> tuple[str, list[dict[str, Any]], list[Any]]:
    """Name, raw entries and GX expectation objects of a suite file; bad entries name file, line and field."""
    path = resolve_suite_path(path)
    root, data = read_yaml(path, InputError)
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list) or not data["expectations"]:
        raise InputError(f"{path}:1: an expectation suite is a mapping with a non-empty 'expectations' list")
    expectations_module = _gx().expectations
    objects = []
    for i, entry in enumerate(data["expectations"]):
        line = line_of(root, ("expectations", i))
        if not isinstance(entry, dict) or "type" not in entry:
            raise InputError(f"{path}:{line}: expectations[{i}]: each entry needs a 'type'")
        kind = str(entry["type"])
        cls = getattr(expectations_module, _class_name(kind), None)
        if cls is None or not kind.startswith("expect_"):
            raise InputError(f"{path}:{line}: expectations[{i}].type: {kind!r} is not a Great Expectations expectation")
        kwargs = {k: v for k, v in entry.items() if k != "type"}
        try:
            objects.append(cls(**kwargs))
        except Exception as exc:  # GX wraps pydantic v1 validation errors
            first = str(exc).splitlines()
            detail = " ".join(s.strip() for s in first[1:3]) if len(first) > 1 else str(exc)
            raise InputError(f"{path}:{line}: expectations[{i}] ({kind}): {detail}") from None
    return str(data.get("name") or path.stem), data["expectations"], objects


def resolve_suite_path(path: str | Path) -> Path:
    """A suite file as given, or the name of one shipped in ``policies/expectations``."""
    return shipped_or_path(path, "expectations", InputError, "expectation suite")


def validate_frame(frame: DataFrame, suite_path: str | Path, *, data_label: str) -> ValidationReport:
    """Run the suite over ``frame`` in an ephemeral GX context; one outcome per expectation, in file order."""
    gx = _gx()
    name, entries, objects = load_expectation_suite(suite_path)
    context = gx.get_context(mode="ephemeral")
    _quiet(context)
    batch = (
        context.data_sources.add_pandas("harness")
        .add_dataframe_asset("data")
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": _hashable(frame)})
    )
    suite = gx.ExpectationSuite(name=name)
    for expectation in objects:
        suite.add_expectation(expectation)
    result = batch.validate(suite, result_format="COMPLETE")
    gx_results = list(result.results)
    outcomes = []
    for entry in entries:
        match = _take_match(gx_results, entry)
        res = match.result or {}
        kwargs = {k: v for k, v in entry.items() if k != "type"}
        outcomes.append(
            ExpectationOutcome(
                type=entry["type"],
                column=_column_key(kwargs),
                kwargs=kwargs,
                success=bool(match.success),
                unexpected_count=res.get("unexpected_count"),
                unexpected_percent=res.get("unexpected_percent"),
                unexpected_rows=[
                    int(i) for i in (res.get("unexpected_index_list") or [])[:50] if isinstance(i, (int, float))
                ],
                examples=list(res.get("partial_unexpected_list") or [])[:EXAMPLE_ROWS],
                observed_value=_plain(res.get("observed_value")),
            )
        )
    passed = sum(o.success for o in outcomes)
    return ValidationReport(
        suite=name,
        suite_path=str(suite_path),
        data=data_label,
        rows=len(frame),
        success=passed == len(outcomes),
        evaluated=len(outcomes),
        passed=passed,
        outcomes=outcomes,
        gx_version=gx.__version__,
    )


def _gx() -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # never phone home
    import great_expectations as gx

    return gx


def _quiet(context: Any) -> None:
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    import logging

    logging.getLogger("great_expectations").setLevel(logging.ERROR)


def _class_name(kind: str) -> str:
    return "".join(part.capitalize() for part in kind.split("_"))


def _column_key(kwargs: dict[str, Any]) -> str | None:
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_list" in kwargs:
        return ",".join(map(str, kwargs["column_list"]))
    if "column_A" in kwargs:
        return f"{kwargs['column_A']},{kwargs.get('column_B')}"
    return None


def _take_match(results: list[Any], entry: dict[str, Any]) -> Any:
    """The GX result for ``entry``: same type and the same arguments (GX adds batch_id and defaults)."""
    wanted = {k: v for k, v in entry.items() if k != "type"}
    for i, res in enumerate(results):
        config = res.expectation_config
        if config.type != entry["type"]:
            continue
        kwargs = dict(config.kwargs)
        if all(_same(kwargs.get(k), v) for k, v in wanted.items()):
            return results.pop(i)
    raise DataError(f"Great Expectations returned no result for {entry['type']} on {_column_key(wanted)}")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple, set)) and isinstance(b, (list, tuple, set)):
        return sorted(map(str, a)) == sorted(map(str, b))
    return a == b or str(a) == str(b)


def _hashable(frame: DataFrame) -> DataFrame:
    """Nested values (dicts, lists) as canonical JSON text, so uniqueness checks can hash them."""
    import json

    out = frame.copy()
    for name in out.columns:
        if out[name].map(lambda v: isinstance(v, (dict, list))).any():
            out[name] = out[name].map(lambda v: json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return str(value)


__all__ = ["ValidationReport", "load_expectation_suite", "validate_frame"]
