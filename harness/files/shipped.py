"""The YAML files harness ships in ``harness.policies`` (policies, risk catalogue, expectation suites).

Kept apart from the YAML validation so that ``--help`` texts can list them without importing pydantic.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def shipped_files(folder: str, accepts: Callable[[Path], bool] | None = None) -> dict[str, Path]:
    """The YAML files shipped in ``harness.policies/<folder>`` that ``accepts``, by file name."""
    from importlib.resources import files

    shipped = Path(str(files("harness.policies"))) / folder
    return {p.name: p for p in sorted(shipped.glob("*.yaml")) if accepts is None or accepts(p)}


def is_policy_file(path: Path) -> bool:
    """A gate policy has a top-level ``rules:`` list; the risk catalogue, intake and selection policies do not."""
    return any(line.startswith("rules:") for line in path.read_text(encoding="utf-8").splitlines())


def shipped_policy_names() -> list[str]:
    """The gate policies harness ships: the YAML files of ``policies/`` with a top-level ``rules:`` list."""
    return sorted(path.stem for path in shipped_files("", is_policy_file).values())
