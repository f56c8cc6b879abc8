"""Finding a run by its folder, its results.json or its run id; a run with results is never lost.

A run is indexed as it starts and completed when its results.json is written. A run
killed between the two has its results on disk and a store row still marked running;
the first lookup that sees it indexes it (:meth:`RunStore.find_run`), so it is listed,
gated and rendered like any other.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import InputError
from harness.schema.results import RESULTS_FILE, load_results
from harness.store.runs import RunStore


def resolve_run(store: RunStore | None, ref: str | Path) -> Path:
    """The folder of the run ``ref`` names: a run folder, its results.json, or a run id in ``store``.

    A folder is returned as it is, results or not (``--resume`` needs one without); when
    it has results and ``store`` still lists it as running, it is indexed on sight.
    """
    path = Path(ref)
    if path.exists():
        run_dir = path.parent if path.is_file() else path
        if store is not None and (run_dir / RESULTS_FILE).is_file():
            index_on_sight(store, run_dir)
        return run_dir
    row = store.find_run(str(ref)) if store is not None else None
    if row is None:
        raise InputError(f"{ref}: no such run directory, results file or run id")
    return Path(row.path)


def index_on_sight(store: RunStore, run_dir: Path) -> bool:
    """Index a finished run whose store row is still running (it was killed after writing
    results.json); True when the store now lists it as finished."""
    row = store.find_run(load_results(run_dir).run_id)  # completes a running row whose results are on disk
    return row is not None and row.status == "finished"
