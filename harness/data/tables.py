"""Reading a dataset file (JSON Lines, CSV or Parquet) into a pandas DataFrame, with one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import DataError

if TYPE_CHECKING:
    from pandas import DataFrame


FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def table_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"{path}: unknown data format {path.suffix!r} (expected .jsonl, .csv or .parquet)")
    return fmt


def read_table(path: str | Path, *, required: tuple[str, ...] = ()) -> DataFrame:
    """The file as a DataFrame; a missing, empty, non-UTF-8 or malformed file is a DataError naming where."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    fmt = table_format(path)
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    if fmt == "parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types for a broken file
            raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: not UTF-8 text (byte {exc.start})") from None
        if not text.strip():
            raise DataError(f"{path}: the file is empty")
        frame = _read_jsonl(path, text) if fmt == "jsonl" else _read_csv(path, text)
    if frame.empty:
        raise DataError(f"{path}: the file has no rows")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column {missing[0]!r} (columns: {', '.join(map(str, frame.columns))})")
    return frame


def _read_jsonl(path: Path, text: str) -> DataFrame:
    import pandas as pd

    rows = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}:{lineno}: each line must be a JSON object")
        rows.append(row)
    return pd.DataFrame(rows)


def _read_csv(path: Path, text: str) -> DataFrame:
    import io

    import pandas as pd

    try:
        return pd.read_csv(io.StringIO(text), keep_default_na=True)
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: not a well-formed CSV file ({str(exc).strip()})") from None


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
        return [dict(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows: list[dict[str, Any]] = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return rows
