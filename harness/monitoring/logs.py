"""Production logs: one JSON object per line, one line per request, read into compact columns.

A line holds (``LogRecord``):

- ``time``: ISO 8601 (``2026-03-02T08:00:03Z``); a time without an offset is read as UTC;
- ``model``: the version or weights fingerprint that answered (two values: an A/B split or a canary);
- ``input``, ``output``: the request and the answer (only their length and category are kept);
- ``category`` (optional): the decision the answer recommends; when absent it is read from the
  output (:func:`output_category`);
- ``confidence`` (optional): the model's probability for its answer, 0 to 1;
- ``feedback`` (optional): ``{"correct": true}``, ``{"rating": 4}`` (1 to 5), ``{"label": "evacuate_now"}``
  (the gold decision, compared with the category), ``{"complaint": true}``, any of them together;
  a bare ``true``/``false``, number 1-5 or string is shorthand for correct, rating or label;
  a top-level ``label`` is the gold decision too;
- ``latency_ms``: the time to answer, in milliseconds;
- ``error`` (optional): ``true`` or an error message when the request failed.

Other fields (request ids, trace ids) are ignored. A bad line stops the read with one line
naming file, line and field. Texts are not kept: a million requests take about 40 MB of
numpy columns, never a million Python dicts.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.errors import InputError, os_error_text

UNKNOWN = -1  # correctness not known (no feedback that decides it)
NO_RATING = 0
EMPTY_CATEGORY = "(empty)"
_WORD = re.compile(r"[A-Za-z0-9_\-]+")
_CATEGORY_KEYS = ("category", "decision", "label", "action")


class Feedback(BaseModel):
    """What a reviewer or user said about one answer; every part optional."""

    model_config = ConfigDict(extra="forbid")

    correct: bool | None = Field(default=None, description="a reviewer's verdict on the answer")
    rating: int | None = Field(default=None, ge=1, le=5, description="user satisfaction, 1 (worst) to 5 (best)")
    label: str | None = Field(default=None, min_length=1, description="the gold decision, compared with the category")
    complaint: bool = Field(default=False, description="the user complained about this answer")


class LogRecord(BaseModel):
    """One production request as logged; see the module docstring for the fields."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    time: datetime
    model: str = Field(min_length=1)
    input: str
    output: str = ""
    category: str | None = None
    confidence: float | None = Field(default=None, ge=0, le=1)
    feedback: Feedback | None = None
    label: str | None = Field(default=None, min_length=1)
    latency_ms: float = Field(ge=0)
    error: bool | str = False

    @field_validator("time", mode="before")
    @classmethod
    def _iso_text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("must be an ISO 8601 time as text, e.g. 2026-03-02T08:00:03Z")
        return value

    @field_validator("feedback", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """``true``/``false`` -> correct, 1-5 -> rating, text -> gold label; objects as they are."""
        if isinstance(value, bool):
            return {"correct": value}
        if isinstance(value, int):
            return {"rating": value}
        if isinstance(value, str):
            return {"label": value}
        return value

    @model_validator(mode="after")
    def _utc(self) -> LogRecord:
        if self.time.tzinfo is None:
            self.time = self.time.replace(tzinfo=timezone.utc)
        return self

    @property
    def failed(self) -> bool:
        return self.error is True or (isinstance(self.error, str) and self.error.strip() != "")

    @property
    def gold_label(self) -> str | None:
        if self.feedback is not None and self.feedback.label is not None:
            return self.feedback.label
        return self.label


def output_category(output: str, category: str | None = None) -> str:
    """The decision an answer recommends: ``category`` when logged, else read from the output.

    A JSON object output gives its ``category``, ``decision``, ``label`` or ``action``
    field; free text gives its first word, lower-cased (``Evacuate now along ...`` ->
    ``evacuate``). An empty output is ``(empty)``. The drift test compares the
    distribution of these categories between windows, so a logger that records the
    decision explicitly gets the sharper test.
    """
    if category is not None and category.strip():
        return category.strip()
    text = output.strip()
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            for key in _CATEGORY_KEYS:
                value = parsed.get(key)
                if isinstance(value, str) and value.strip():
                    return value.strip()
    match = _WORD.search(text)
    return match.group(0).lower() if match else EMPTY_CATEGORY


def correctness(record: LogRecord, category: str) -> int:
    """1 correct, 0 wrong, -1 unknown: the reviewer's verdict, else the category against the gold label."""
    if record.feedback is not None and record.feedback.correct is not None:
        return int(record.feedback.correct)
    gold = record.gold_label
    if gold is not None:
        return int(gold.strip().casefold() == category.casefold())
    return UNKNOWN


@dataclass(frozen=True)
class LogSource:
    """One log file as read: its path, content hash and counts."""

    path: str
    sha256: str
    lines: int
    requests: int


@dataclass(frozen=True)
class Requests:
    """Requests as columns (numpy arrays of equal length), sorted by time.

    ``model`` and ``category`` are codes into ``models`` and ``categories``; ``confidence``
    is NaN where not logged; ``correct`` is 1, 0 or -1 (unknown); ``rating`` is 1-5 or 0
    (none).
    """

    time_ms: np.ndarray
    model: np.ndarray
    models: tuple[str, ...]
    input_chars: np.ndarray
    category: np.ndarray
    categories: tuple[str, ...]
    confidence: np.ndarray
    correct: np.ndarray
    rating: np.ndarray
    complaint: np.ndarray
    latency_ms: np.ndarray
    error: np.ndarray
    sources: tuple[LogSource, ...] = field(default=())

    def __len__(self) -> int:
        return int(self.time_ms.size)

    def take(self, index: np.ndarray | slice) -> Requests:
        """The requests at ``index`` (a boolean mask, positions or a slice), same codes."""
        return replace(
            self,
            time_ms=self.time_ms[index],
            model=self.model[index],
            input_chars=self.input_chars[index],
            category=self.category[index],
            confidence=self.confidence[index],
            correct=self.correct[index],
            rating=self.rating[index],
            complaint=self.complaint[index],
            latency_ms=self.latency_ms[index],
            error=self.error[index],
        )

    def of_model(self, name: str) -> Requests:
        return self.take(self.model == self.models.index(name))

    def category_names(self) -> list[str]:
        return [self.categories[c] for c in self.category]


class _Columns:
    """Typed, appendable columns (``array.array``): 8 to 1 bytes per value, no object per request."""

    def __init__(self) -> None:
        self.time_ms = array("q")
        self.model = array("i")
        self.input_chars = array("i")
        self.category = array("i")
        self.confidence = array("d")
        self.correct = array("b")
        self.rating = array("b")
        self.complaint = array("b")
        self.latency_ms = array("d")
        self.error = array("b")
        self.models: dict[str, int] = {}
        self.categories: dict[str, int] = {}

    def append(self, record: LogRecord) -> None:
        category = output_category(record.output, record.category)
        self.time_ms.append(int(record.time.timestamp() * 1000))
        self.model.append(self.models.setdefault(record.model, len(self.models)))
        self.input_chars.append(len(record.input))
        self.category.append(self.categories.setdefault(category, len(self.categories)))
        self.confidence.append(np.nan if record.confidence is None else record.confidence)
        self.correct.append(correctness(record, category))
        rating = record.feedback.rating if record.feedback is not None else None
        self.rating.append(NO_RATING if rating is None else rating)
        self.complaint.append(int(record.feedback is not None and record.feedback.complaint))
        self.latency_ms.append(record.latency_ms)
        self.error.append(int(record.failed))

    def to_requests(self, sources: Sequence[LogSource]) -> Requests:
        time_ms = np.frombuffer(self.time_ms, dtype=np.int64)
        order = np.argsort(time_ms, kind="stable")
        return Requests(
            time_ms=time_ms[order],
            model=np.frombuffer(self.model, dtype=np.int32)[order],
            models=tuple(self.models),
            input_chars=np.frombuffer(self.input_chars, dtype=np.int32)[order],
            category=np.frombuffer(self.category, dtype=np.int32)[order],
            categories=tuple(self.categories),
            confidence=np.frombuffer(self.confidence, dtype=np.float64)[order],
            correct=np.frombuffer(self.correct, dtype=np.int8)[order],
            rating=np.frombuffer(self.rating, dtype=np.int8)[order],
            complaint=np.frombuffer(self.complaint, dtype=np.int8)[order].astype(bool),
            latency_ms=np.frombuffer(self.latency_ms, dtype=np.float64)[order],
            error=np.frombuffer(self.error, dtype=np.int8)[order].astype(bool),
            sources=tuple(sources),
        )


def read_logs(paths: Sequence[str | Path]) -> Requests:
    """All requests of the JSONL log files (``.gz`` too), validated line by line, sorted by time.

    Streams: each line is parsed, checked against ``LogRecord`` and reduced to a row of
    typed columns before the next is read. Blank lines are skipped. The first bad line
    raises ``InputError`` as ``<file>:<line>: <field>: <problem>``; no log, or logs without a
    single request, is an ``InputError`` too.
    """
    if not paths:
        raise InputError("no log file given: name one or more JSONL files of production requests")
    columns = _Columns()
    sources = []
    for raw_path in paths:
        path = Path(raw_path)
        before = len(columns.time_ms)
        digest, lines = _read_one(path, columns)
        sources.append(LogSource(str(path), digest, lines, len(columns.time_ms) - before))
    if not columns.time_ms:
        raise InputError(f"{', '.join(str(p) for p in paths)}: no request in the logs (every line is blank)")
    return columns.to_requests(sources)


def _read_one(path: Path, columns: _Columns) -> tuple[str, int]:
    digest = hashlib.sha256()
    lineno = 0
    try:
        with _open(path) as handle:
            for lineno, line in enumerate(_hashed_lines(handle, digest), start=1):
                if not line.strip():
                    continue
                try:
                    record = LogRecord.model_validate_json(line)
                except ValidationError as exc:
                    raise InputError(f"{path}:{lineno}: {_first_problem(exc)}") from None
                columns.append(record)
    except OSError as exc:
        raise InputError(os_error_text(exc, path)) from None
    except EOFError:
        raise InputError(f"{path}: the compressed file ends early (truncated)") from None
    return digest.hexdigest(), lineno


def _open(path: Path) -> IO[bytes]:
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a log file (give the JSONL files)")
    if path.suffix == ".gz":
        return cast("IO[bytes]", gzip.open(path, "rb"))  # a GzipFile reads bytes line by line, as IO does
    return open(path, "rb")


def _hashed_lines(handle: IO[bytes], digest: Any) -> Iterator[bytes]:
    for line in handle:
        digest.update(line)
        yield line


def _first_problem(exc: ValidationError) -> str:
    """``field: problem`` for the first error of a line, in words a log writer can act on."""
    err = exc.errors()[0]
    kind = err["type"]
    if kind == "json_invalid":
        detail = str(err.get("ctx", {}).get("error", err["msg"]))
        return f"not valid JSON ({detail})"
    if kind == "model_type" and not err["loc"]:
        return "a log line must be a JSON object with time, model, input and latency_ms"
    where = ".".join(str(part) for part in err["loc"]) or "line"
    message = " ".join(str(err["msg"]).removeprefix("Value error, ").split())
    if kind == "missing":
        message = "missing (a required field)"
    return f"{where}: {message}"
