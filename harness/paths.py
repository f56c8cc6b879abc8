"""Where things live: the harness home (run store, caches) and local benchmark data.

``HARNESS_HOME`` overrides the per-user home; benchmark data comes from ``--data-dir``,
then ``HARNESS_DATA_DIR``, else the hub (unless the Hugging Face libraries are told to
stay offline).
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.errors import DataError

DATA_DIR_ENV = "HARNESS_DATA_DIR"


def harness_home() -> Path:
    override = os.environ.get("HARNESS_HOME")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("harness", appauthor=False))


def cache_dir() -> Path:
    return harness_home() / "cache"


def default_store_url() -> str:
    return f"sqlite:///{harness_home() / 'runs.db'}"


def resolve_data_dir(option: str | Path | None) -> Path | None:
    value = option if option is not None else os.environ.get(DATA_DIR_ENV) or None
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        source = "--data-dir" if option is not None else DATA_DIR_ENV
        raise DataError(f"data directory {value} (from {source}) does not exist")
    return path.resolve()


def hub_allowed() -> bool:
    """False when the user has told Hugging Face libraries to stay offline."""
    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("HF_DATASETS_OFFLINE", ""))
    return not any(f.strip().lower() in {"1", "true", "yes", "on"} for f in flags)
