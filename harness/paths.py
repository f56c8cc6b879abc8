"""Per-user locations: the run store and caches (HARNESS_HOME overrides them all)."""

from __future__ import annotations

import os
from pathlib import Path


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
