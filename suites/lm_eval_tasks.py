"""Task YAMLs that build on lm-eval's stock task files.

A project task ``include``s the stock YAML by absolute path and overrides only what
must change (task name, tag, dataset location), so prompts, choices, filters and
metrics stay exactly those of the stock task.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path
from typing import Any

import yaml


def lm_eval_tasks_dir() -> Path:
    spec = find_spec("lm_eval")
    if spec is None or not spec.submodule_search_locations:
        from harness.errors import HarnessError

        raise HarnessError("lm-eval is not installed (pip install lm-eval)")
    return Path(next(iter(spec.submodule_search_locations))) / "tasks"


def stock_task_yaml(relative: str) -> Path:
    path = lm_eval_tasks_dir() / relative
    if not path.is_file():
        from harness.errors import HarnessError

        raise HarnessError(f"lm-eval's stock task file {relative} is missing; is the installed lm-eval 0.4.x?")
    return path


def task_yaml(include: Path, **overrides: Any) -> str:
    """YAML text of a task that includes ``include`` and overrides the given keys."""
    return yaml.safe_dump({"include": str(include), **overrides}, sort_keys=False, allow_unicode=True)
