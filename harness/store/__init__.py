"""The run store (runs, metrics, verdicts, datasets, item records) and its audit log."""

from harness.store.runs import RunRow, RunStore

__all__ = ["RunRow", "RunStore"]
