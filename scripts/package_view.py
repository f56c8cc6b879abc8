"""Build one file tree of the ``harness`` package for tools that read files (import-linter, mypy).

pyproject.toml maps the top-level folders ``suites/``, ``training/``, ``reports/``,
``templates/`` and ``policies/`` into the package as ``harness.suites`` and so on; an
installed harness sees them, but a tool that walks ``harness/`` on disk does not. This
writes ``<view>/harness/`` with a link to every entry of ``harness/`` and one per mapped
folder, so ``PYTHONPATH=<view>`` shows those tools the package as Python imports it.

    python scripts/package_view.py .lint-view
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent


def build(view: Path) -> Path:
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    package = view / "harness"
    if view.exists():
        shutil.rmtree(view)
    package.mkdir(parents=True)
    for entry in (ROOT / "harness").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for name, folder in mapping.items():
        if name.startswith("harness."):
            (package / name.removeprefix("harness.")).symlink_to(ROOT / folder)
    return package


if __name__ == "__main__":
    print(build(Path(sys.argv[1] if len(sys.argv) > 1 else ".lint-view").resolve()))
