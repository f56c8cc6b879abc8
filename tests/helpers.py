"""Builders for stored runs, so gate and report tests need no model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from click.testing import Result

from harness.schema.legacy import chance_of
from harness.schema.results import Environment, ModelInfo, RunResult, SuiteStatus, proportion_metric, write_results


def make_result(run_id: str = "run-a", metrics: dict[str, tuple[int, int]] | None = None, **model: str) -> RunResult:
    metrics = {"mmlu.accuracy": (70, 100), "gsm8k.exact_match": (40, 50)} if metrics is None else metrics
    suites = list(dict.fromkeys(name.split(".")[0] for name in metrics)) or ["mmlu"]
    return RunResult(
        run_id=run_id,
        created_at="2026-11-21T12:00:00+00:00",
        model=ModelInfo(base=model.get("base", "models/tiny"), fingerprint="sha256:" + "ab" * 32),
        suites=suites,
        suite_status={s: SuiteStatus(status="completed", n_items=100) for s in suites},
        metrics=[
            proportion_metric(name, k, n).model_copy(
                update={"suite": name.split(".")[0], "direction": "higher", "chance": chance_of(name)}
            )
            for name, (k, n) in metrics.items()
        ],
        environment=Environment(python="3.11.7"),
    )


def store_result(folder: Path, result: RunResult) -> Path:
    run_dir = folder / result.run_id
    write_results(run_dir, result)
    return run_dir


def run_cli(*args: str) -> Result:
    """Run the harness CLI in-process; the click result (exit code, output, exception)."""
    from click.testing import CliRunner

    from harness.cli import main

    return CliRunner().invoke(main, list(args))


def invoke(*args: str) -> tuple[int, str, str]:
    """Run the harness CLI in-process; returns exit code, stdout and stderr."""
    result = run_cli(*args)
    return result.exit_code, result.stdout, result.stderr
