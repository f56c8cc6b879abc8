"""Reading a dataset file (JSON Lines, CSV or Parquet) into a pandas DataFrame, with one-line errors.

Every problem names the file and, where there is one, the line: a missing, unreadable,
empty or non-UTF-8 file, malformed JSON or CSV, a key written twice in one JSON object or
a column named twice in a CSV header (either would silently drop a value), and, in the
columns a caller needs as numbers, NaN or infinity written as a value (a missing value
is an empty CSV cell or a JSON null, never a NaN that every comparison lets through).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import DataError, os_error_text

if TYPE_CHECKING:
    from pandas import DataFrame


FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
NON_FINITE_TEXT = re.compile(r"[+-]?(nan|inf|infinity)", re.IGNORECASE)


def table_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"{path}: unknown data format {path.suffix!r} (expected .jsonl, .csv or .parquet)")
    return fmt


def read_table(path: str | Path, *, required: tuple[str, ...] = (), finite: tuple[str, ...] = ()) -> DataFrame:
    """The file as a DataFrame; a missing, empty, non-UTF-8 or malformed file is a DataError naming where.

    ``finite`` names columns whose written values must be finite numbers or missing.
    """
    import pandas as pd

    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a data file")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    fmt = table_format(path)
    try:
        size = path.stat().st_size
        raw = path.read_bytes() if fmt != "parquet" and size else b""
    except OSError as exc:
        raise DataError(os_error_text(exc, path)) from None
    if size == 0:
        raise DataError(f"{path}: the file is empty")
    if fmt == "parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types for a broken file
            raise DataError(f"{path}: not a readable Parquet file ({_one_line(exc)})") from None
        _check_finite_parquet(path, frame, finite)
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: not UTF-8 text (byte {exc.start})") from None
        if not text.strip():
            raise DataError(f"{path}: the file is empty")
        frame = _read_jsonl(path, text, finite) if fmt == "jsonl" else _read_csv(path, text, finite)
    if frame.empty:
        raise DataError(f"{path}: the file has no rows")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column {missing[0]!r} (columns: {', '.join(map(str, frame.columns))})")
    return frame


def row_location(path: Path, frame: DataFrame, row: int) -> str:
    """Where row ``row`` (0-based) of ``frame`` read from ``path`` was written: ``:line`` or `` row n``."""
    lines = frame.attrs.get("lines")
    if isinstance(lines, list) and 0 <= row < len(lines):
        return f":{lines[row]}"
    fmt = FORMATS.get(Path(path).suffix.lower())
    return f":{row + 2}" if fmt == "csv" else f" row {row + 1}"


def is_non_finite(value: Any) -> bool:
    """Whether a written value is NaN or infinite: a float, or text such as ``nan``, ``-inf``, ``1e999``."""
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, str):
        text = value.strip()
        if NON_FINITE_TEXT.fullmatch(text):
            return True
        try:
            return not math.isfinite(float(text))
        except ValueError:
            return False
    return False


def _non_finite_error(path: Path, where: str, column: str, value: Any, missing: str) -> DataError:
    return DataError(f"{path}{where}: {column} is {value!r}, not a finite number ({missing})")


class _DuplicateKey(ValueError):
    pass


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key written twice (``json`` would keep the last one silently)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


def _read_jsonl(path: Path, text: str, finite: tuple[str, ...] = ()) -> DataFrame:
    import pandas as pd

    rows = []
    lines: list[int] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line, object_pairs_hook=_unique_object)
        except _DuplicateKey as exc:
            raise DataError(f"{path}:{lineno}: key {exc.args[0]!r} appears twice in one JSON object") from None
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
        except RecursionError:
            raise DataError(f"{path}:{lineno}: JSON nested too deeply to read") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}:{lineno}: each line must be a JSON object")
        for column in finite:
            if is_non_finite(row.get(column)):
                raise _non_finite_error(path, f":{lineno}", column, row[column], "write null for a missing value")
        rows.append(row)
        lines.append(lineno)
    frame = pd.DataFrame(rows)
    frame.attrs["lines"] = lines
    return frame


def _read_csv(path: Path, text: str, finite: tuple[str, ...] = ()) -> DataFrame:
    import pandas as pd

    header = next(csv.reader(io.StringIO(text)), [])
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise DataError(f"{path}:1: column {name!r} appears twice in the header")
        seen.add(name)
    try:
        with warnings.catch_warnings():
            # a row longer than the header would otherwise turn its first cells into an index, silently
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), keep_default_na=True, index_col=False)
    except pd.errors.ParserWarning:
        raise DataError(f"{path}: not a well-formed CSV file (a row has more fields than the header)") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise DataError(f"{path}: not a well-formed CSV file ({_one_line(exc)})") from None
    checked = [c for c in finite if c in frame.columns]
    if checked:
        cells = pd.read_csv(io.StringIO(text), dtype=str, na_filter=False, usecols=checked)
        for column in checked:
            for row, value in enumerate(cells[column]):
                if is_non_finite(value):
                    raise _non_finite_error(
                        path, f":{row + 2}", column, value, "leave the cell empty for a missing value"
                    )
    return frame


def _check_finite_parquet(path: Path, frame: DataFrame, finite: tuple[str, ...]) -> None:
    """Infinity (numbers) or NaN spelled as text in ``finite`` columns; a Parquet null reads as NaN, so NaN is missing."""
    for column in (c for c in finite if c in frame.columns):
        for row, value in enumerate(frame[column]):
            if (isinstance(value, float) and math.isinf(value)) or (isinstance(value, str) and is_non_finite(value)):
                raise _non_finite_error(path, f" row {row + 1}", column, value, "write null for a missing value")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + ("..." if len(text) > 300 else "")


def column_summary(frame: DataFrame) -> list[dict[str, Any]]:
    """Per column: name, dtype, missing values and distinct values (nested values counted as text)."""
    out = []
    for name in frame.columns:
        column = frame[name]
        hashable = column.map(
            lambda v: json.dumps(v, sort_keys=True, default=str) if isinstance(v, (dict, list)) else v
        )
        out.append(
            {
                "name": str(name),
                "dtype": str(column.dtype),
                "missing": int(column.isna().sum()),
                "distinct": int(hashable.nunique(dropna=True)),
            }
        )
    return out


def read_records(path: str | Path, *, required: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The rows as plain dicts, exactly as written for JSON Lines (no pandas type coercion or added keys)."""
    path = Path(path)
    frame = read_table(path, required=required)  # every check and one-line error of read_table
    if table_format(path) == "jsonl":
        try:
            text = path.read_bytes().decode("utf-8")
        except OSError as exc:
            raise DataError(os_error_text(exc, path)) from None
        return [dict(json.loads(line)) for line in text.splitlines() if line.strip()]
    rows: list[dict[str, Any]] = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return rows
