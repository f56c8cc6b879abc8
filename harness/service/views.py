"""What the API and the pages show, read from the store and the run folders (the same readers the CLI uses).

Every function here reads; none evaluates, judges or renders anything new (that is what
jobs are for). File downloads go through :func:`safe_file`, which only ever returns a
regular file inside the folder it was asked about.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import InputError
from harness.schema.comparison import COMPARISON_PREFIX, RunComparison
from harness.schema.results import ITEMS_FILE, RESULTS_FILE, ItemRecord, RunResult, load_results, read_items
from harness.schema.verdict import Verdict
from harness.store.runs import RunRow, RunStore

ITEMS_PAGE_MAX = 500


class NotFound(LookupError):
    """What was asked for does not exist (HTTP 404)."""


@dataclass
class RunView:
    row: RunRow
    result: RunResult | None  # None while the run has no results (running or interrupted)
    run_dir: Path
    verdicts: list[dict[str, Any]] = field(default_factory=list)  # the store's verdict rows, oldest first

    @property
    def latest_verdict(self) -> dict[str, Any] | None:
        return self.verdicts[-1] if self.verdicts else None


def run_view(store: RunStore, run_id: str) -> RunView:
    """A run by id, with its results when it has them; NotFound otherwise."""
    row = store.find_run(run_id)
    if row is None:
        raise NotFound(f"no run {run_id!r} in the store")
    run_dir = Path(row.path)
    result = load_results(run_dir) if (run_dir / RESULTS_FILE).is_file() else None
    return RunView(row=row, result=result, run_dir=run_dir, verdicts=store.verdicts(run_id))


def finished_view(store: RunStore, run_id: str) -> RunView:
    view = run_view(store, run_id)
    if view.result is None:
        raise NotFound(f"run {run_id} has no results yet (status {view.row.status})")
    return view


def runs_overview(store: RunStore, limit: int = 50) -> list[dict[str, Any]]:
    """Recent runs with their headline metrics and latest verdict, newest first."""
    out = []
    for row in store.runs(limit=limit):
        verdicts = store.verdicts(row.run_id)
        latest = verdicts[-1] if verdicts else None
        out.append(
            {
                **row.__dict__,
                "verdict": latest["verdict"] if latest else None,
                "verdict_policy": latest["policy"] if latest else None,
                "verdict_at": latest["created_at"] if latest else None,
            }
        )
    return out


def run_summary(view: RunView) -> dict[str, Any]:
    """The API's view of one run: its row, every metric with its interval, each suite's status."""
    out: dict[str, Any] = {**view.row.__dict__, "verdicts": view.verdicts}
    if view.result is not None:
        out["metrics"] = [m.model_dump(mode="json") for m in view.result.metrics]
        out["suite_status"] = {k: v.model_dump(mode="json") for k, v in view.result.suite_status.items()}
        out["model"] = view.result.model.model_dump(mode="json")
        out["environment"] = view.result.environment.model_dump(mode="json")
    return out


def items_page(
    view: RunView, *, offset: int = 0, limit: int = 100, suite: str | None = None, correct: bool | None = None
) -> dict[str, Any]:
    """One page of the run's item records, optionally one suite's or only (in)correct ones."""
    if not 1 <= limit <= ITEMS_PAGE_MAX:
        raise InputError(f"limit must be between 1 and {ITEMS_PAGE_MAX}, got {limit}")
    if offset < 0:
        raise InputError(f"offset must be 0 or more, got {offset}")
    path = view.run_dir / ITEMS_FILE
    records: list[ItemRecord] = read_items(path) if path.is_file() else []
    chosen = [r for r in records if (suite is None or r.suite == suite) and (correct is None or r.correct == correct)]
    return {
        "run_id": view.row.run_id,
        "total": len(chosen),
        "offset": offset,
        "limit": limit,
        "items": [r.model_dump(mode="json") for r in chosen[offset : offset + limit]],
    }


def kept_verdicts(view: RunView) -> list[Verdict]:
    """Every verdict kept beside the run, one per policy and baseline, oldest first."""
    from harness.gate.judging import list_verdicts

    return list_verdicts(view.run_dir) if view.run_dir.is_dir() else []


def comparison_references(view: RunView) -> list[str]:
    """The baselines the run was compared with (each has a ``comparison-<run id>.json``)."""
    return sorted(p.stem.removeprefix(COMPARISON_PREFIX) for p in view.run_dir.glob(f"{COMPARISON_PREFIX}*.json"))


def stored_comparison(view: RunView, reference_run_id: str) -> RunComparison:
    from harness.comparison import load_comparison

    found = load_comparison(view.run_dir, reference_run_id)
    if found is None:
        raise NotFound(f"run {view.row.run_id} has no stored comparison with {reference_run_id}")
    return found


def discordant_items(reference: RunView, candidate: RunView, limit: int = 200) -> dict[str, Any]:
    """Items both runs answered with the same prompt whose correctness differs: the pairs behind McNemar's test."""

    def load(view: RunView) -> dict[tuple[str, str, str], ItemRecord]:
        path = view.run_dir / ITEMS_FILE
        records = read_items(path) if path.is_file() else []
        return {(r.suite, r.item_id, r.variant): r for r in records}

    a, b = load(reference), load(candidate)
    shared = [k for k in a if k in b and a[k].prompt_hash == b[k].prompt_hash]
    changed = [k for k in shared if a[k].correct != b[k].correct]
    rows = [
        {
            "suite": k[0],
            "item_id": k[1],
            "variant": k[2],
            "reference_correct": a[k].correct,
            "candidate_correct": b[k].correct,
            "reference_prediction": a[k].prediction,
            "candidate_prediction": b[k].prediction,
            "target": b[k].target,
        }
        for k in changed[:limit]
    ]
    return {
        "paired": len(shared),
        "changed": len(changed),
        "only_reference_correct": sum(a[k].correct for k in changed),
        "only_candidate_correct": sum(b[k].correct for k in changed),
        "rows": rows,
    }


def dossier_view(store: RunStore, run_id: str) -> dict[str, Any] | None:
    """The run's latest recorded dossier: its files, its summary (open placeholders), whether it is signed."""
    from harness.files.hashing import sha256_file

    latest = store.latest_dossier(run_id)
    if latest is None:
        return None
    folder = Path(latest["html"]).parent
    summary: dict[str, Any] = {}
    summary_path = folder / "dossier.json"
    if summary_path.is_file():
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            summary = {}
    signed_file = Path(latest["pdf"] or latest["html"])
    recorded = latest["pdf_sha256"] or latest["html_sha256"]
    intact = signed_file.is_file() and sha256_file(signed_file) == recorded
    signoffs = [
        {**r["entry"], "entry_hash": r["entry_hash"], "current": r["entry"].get("dossier_sha256") == recorded}
        for r in store.audit_rows(run_id)
        if r["action"] == "signoff"
    ]
    signed = any(s["current"] for s in signoffs)
    placeholders = [_placeholder(p) for p in summary.get("placeholders", [])]
    return {
        "record": latest,
        "folder": str(folder),
        "files": list_files(folder),
        # the rendering cannot hold its own sign-off: a sign-off of this very file fills that item
        "placeholders": [p for p in placeholders if not (signed and p["field"] == SIGNOFF_FIELD)],
        "summary": summary,
        "signed_file": signed_file.name,
        "signed_sha256": recorded,
        "intact": intact,
        "signoffs": signoffs,
    }


SIGNOFF_FIELD = "signoff"


def _placeholder(item: object) -> dict[str, Any]:
    """A dossier's open item as ``{"field", "label"}`` (dossier.json lists labels, or objects with field and label)."""
    if isinstance(item, dict):
        return {"field": item.get("field"), "label": str(item.get("label", item.get("field", "")))}
    return {"field": None, "label": str(item)}


def list_files(folder: Path) -> list[dict[str, Any]]:
    """The regular files directly in ``folder`` (name and size)."""
    if not folder.is_dir():
        return []
    return [
        {"name": p.name, "bytes": p.stat().st_size}
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.is_symlink() and not p.name.startswith(".")
    ]


def safe_file(folder: Path, relative: str) -> Path:
    """``folder/relative`` when it is a regular file inside ``folder``; NotFound for anything else.

    Refused: absolute paths, ``..`` anywhere, hidden names, and any path (or symlink) that
    resolves outside the folder.
    """
    parts = Path(relative).parts
    if not relative or Path(relative).is_absolute() or any(p in ("..", ".") or p.startswith(".") for p in parts):
        raise NotFound(f"no file {relative!r} here")
    if "\\" in relative or "\x00" in relative:
        raise NotFound(f"no file {relative!r} here")
    base = folder.resolve()
    target = (folder / relative).resolve()
    if not target.is_relative_to(base) or not target.is_file():
        raise NotFound(f"no file {relative!r} here")
    return target


def dataset_view(store: RunStore, name: str, version: str) -> dict[str, Any]:
    """A dataset version's provenance (record, lineage up, validation, agreement, conflicts) and its derived versions."""
    from harness.data.registry import lineage, provenance

    ref = f"{name}@{version}"
    if store.dataset(name, version) is None:
        raise NotFound(f"no dataset {ref} in the store")
    record = provenance(store, ref)
    _, tree = lineage(store, ref)
    record["derived"] = [{"depth": depth, "ref": r.ref, "transform": r.transform} for depth, r in tree]
    return record


def audit_view(store: RunStore, run_id: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Audit entries, newest first."""
    rows = store.audit_rows(run_id)
    return list(reversed(rows))[:limit]
