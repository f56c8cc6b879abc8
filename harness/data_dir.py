"""Where local benchmark data lives: --data-dir, then HARNESS_DATA_DIR, else the hub."""

from __future__ import annotations

import os
from pathlib import Path

from harness.errors import DataError

ENV_VAR = "HARNESS_DATA_DIR"


def resolve_data_dir(option: str | Path | None) -> Path | None:
    value = option if option is not None else os.environ.get(ENV_VAR) or None
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        source = "--data-dir" if option is not None else ENV_VAR
        raise DataError(f"data directory {value} (from {source}) does not exist")
    return path.resolve()


def hub_allowed() -> bool:
    """False when the user has told Hugging Face libraries to stay offline."""
    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("HF_DATASETS_OFFLINE", ""))
    return not any(f.strip().lower() in {"1", "true", "yes", "on"} for f in flags)
