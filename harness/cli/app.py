"""The application object every command receives: the run store, run lookup, output helpers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from harness.schema.results import RunResult
    from harness.store.runs import RunStore


@dataclass
class App:
    """What the commands share; built once by ``harness`` from its global options."""

    store_url: str | None = None
    debug: bool = False

    @cached_property
    def store(self) -> RunStore:
        from harness.store.runs import RunStore

        return RunStore(self.store_url)

    def resolve_run(self, ref: str) -> Path:
        """A run directory, a results.json, or a run id known to the run store (a finished run is indexed on sight)."""
        from harness.runner.resolve import resolve_run

        return resolve_run(self.store, ref)

    def load_run(self, ref: str) -> tuple[RunResult, Path]:
        """The run's results and its directory."""
        from harness.schema.results import load_results, resolve_results_path

        path = resolve_results_path(self.resolve_run(ref))
        return load_results(path), path.parent

    @staticmethod
    def say(message: str, *, tag: str = "harness") -> None:
        """A progress line on stderr, so stdout stays parseable."""
        click.echo(f"[{tag}] {message}", err=True)

    @staticmethod
    def emit_json(obj: Any) -> None:
        click.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str))

    @staticmethod
    def table(rows: Sequence[Sequence[str]]) -> None:
        """Rows as left-aligned columns (the first row is the header)."""
        if not rows:
            return
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for row in rows:
            click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


pass_app = click.make_pass_decorator(App)
