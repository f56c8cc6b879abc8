"""Versioned dataset records: content hash, shape, sources, licence and lineage, in the run store.

A version names exactly one content: registering other bytes under a version that
exists is refused, registering the same bytes again changes nothing. Evidence about a
version (Great Expectations results, agreement, conflicts) is stored beside it and
gathered into its ``provenance.json``.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.data.tables import column_summary, read_table, table_format
from harness.errors import DataError, InputError
from harness.files.atomic import atomic_write_json
from harness.files.hashing import sha256_file
from harness.paths import harness_home
from harness.schema.results import Metric, proportion_metric
from harness.store import RunStore

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,119}$")
VERSION_RE = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
SOURCE_TYPES = (
    "interview",
    "sop",
    "after-action-report",
    "oracle-labels",
    "public-benchmark",
    "expert-annotation",
    "synthetic",
    "regulation",
    "web",
    "other",
)
PROVENANCE_FILE = "provenance.json"
REGISTER_ATTEMPTS = 5  # a registration that loses a race re-reads the store and decides again


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    id: str
    expert: str | None = None


class DatasetRecord(BaseModel):
    """One registered dataset version."""

    model_config = ConfigDict(extra="forbid")

    name: str
    version: str
    sha256: str = Field(description="SHA-256 of the file's bytes")
    bytes: int
    format: str
    rows: int
    columns: list[dict[str, Any]]
    sources: list[Source] = Field(default_factory=list)
    contributors: list[str] = Field(default_factory=list)
    license: str | None = None
    description: str | None = None
    file: str = Field(description="where the file was when registered")
    created_at: str
    parent: str | None = Field(default=None, description="NAME@VERSION this version was derived from")
    transform: str | None = Field(default=None, description="how it was derived from the parent")

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


def parse_ref(ref: str) -> tuple[str, str]:
    """``NAME@X.Y.Z`` -> (name, version)."""
    name, sep, version = ref.partition("@")
    if not sep or not NAME_RE.match(name) or not VERSION_RE.match(version):
        raise InputError(f"{ref!r} is not a dataset reference NAME@X.Y.Z (name: lowercase letters, digits, - and _)")
    return name, version


def parse_source(text: str) -> Source:
    """``TYPE:ID[:EXPERT]``, e.g. ``interview:INT-007:fire-officer-3``."""
    parts = text.split(":", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise InputError(f"--source {text!r}: expected TYPE:ID[:EXPERT]")
    if parts[0] not in SOURCE_TYPES:
        raise InputError(f"--source {text!r}: type {parts[0]!r} is not one of {', '.join(SOURCE_TYPES)}")
    return Source(type=parts[0], id=parts[1], expert=parts[2] if len(parts) == 3 and parts[2] else None)


def get_record(store: RunStore, ref: str) -> DatasetRecord:
    name, version = parse_ref(ref)
    raw = store.dataset(name, version)
    if raw is None:
        known = [r["version"] for r in store.datasets(name)]
        hint = f"; registered versions: {', '.join(known)}" if known else "; nothing is registered under that name"
        raise InputError(f"dataset {ref} is not registered{hint}")
    return DatasetRecord.model_validate(raw)


def register_dataset(
    store: RunStore,
    path: str | Path,
    *,
    name: str,
    version: str | None = None,
    sources: list[Source] | None = None,
    license: str | None = None,
    description: str | None = None,
    contributors: list[str] | None = None,
    parent: str | None = None,
    transform: str | None = None,
) -> tuple[DatasetRecord, bool]:
    """Register ``path`` as ``name@version``; returns the record and whether it is new.

    Without a version: 1.0.0 for a new name, the existing version when the same bytes
    are registered again, else the next minor version after the latest.

    Safe under concurrency: the store's primary key (name, version) lets exactly one of
    two registrations of a version create it; the other re-reads the store and returns
    the record (same content), refuses (other content under a version it named), or
    takes the next minor version (other content, no version named), as it would have
    done one moment later.
    """
    path = Path(path)
    if not NAME_RE.match(name):
        raise InputError(
            f"dataset name {name!r}: use lowercase letters, digits, - and _ (it becomes part of metric names)"
        )
    if version is not None and not VERSION_RE.match(version):
        raise InputError(f"--version {version!r} is not a semantic version X.Y.Z")
    if parent is not None:
        get_record(store, parent)
        if not transform:
            raise InputError("--parent needs --transform: say how this version was derived from it")
    elif transform:
        raise InputError("--transform describes a derivation: give the --parent it was derived from")
    fmt = table_format(path)
    frame = read_table(path)
    digest = sha256_file(path)
    sources = sources or []
    experts = [s.expert for s in sources if s.expert]
    for _ in range(REGISTER_ATTEMPTS):
        existing = store.datasets(name)
        target = version
        if target is None:
            same_content = next((r for r in existing if r["sha256"] == digest), None)
            if same_content is not None:
                return DatasetRecord.model_validate(same_content), False
            target = _next_minor([r["version"] for r in existing]) if existing else "1.0.0"
        previous = store.dataset(name, target)
        if previous is not None:
            if previous["sha256"] == digest:
                return DatasetRecord.model_validate(previous), False
            if version is None:  # another process took the next version since we listed them: look again
                continue
            raise DataError(
                f"{name}@{target} is already registered with other content (sha256 {previous['sha256'][:12]}…, "
                f"this file {digest[:12]}…); a version never changes: register it as a new version"
            )
        record = DatasetRecord(
            name=name,
            version=target,
            sha256=digest,
            bytes=path.stat().st_size,
            format=fmt,
            rows=len(frame),
            columns=column_summary(frame),
            sources=sources,
            contributors=sorted(set((contributors or []) + experts)),
            license=license,
            description=description,
            file=str(path.resolve()),
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            parent=parent,
            transform=transform,
        )
        if store.add_dataset(name, target, digest, record.created_at, record.model_dump(mode="json")):
            write_provenance(store, record.ref)
            return record, True
        # another process registered name@target between our read and our insert: look again
    raise DataError(
        f"dataset {name}: other processes kept registering versions of it; {REGISTER_ATTEMPTS} attempts failed, try again"
    )


def verify_dataset(store: RunStore, ref: str, path: str | Path) -> tuple[bool, DatasetRecord, str]:
    """Whether ``path`` holds exactly the registered bytes; returns (ok, record, actual sha256)."""
    record = get_record(store, ref)
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    actual = sha256_file(path)
    return actual == record.sha256, record, actual


def lineage(store: RunStore, ref: str) -> tuple[list[DatasetRecord], list[tuple[int, DatasetRecord]]]:
    """The ancestors of ``ref`` (oldest first) and the tree of its descendants as (depth, record)."""
    record = get_record(store, ref)
    ancestors: list[DatasetRecord] = []
    seen = {record.ref}
    parent = record.parent
    while parent:
        if parent in seen:
            raise DataError(f"dataset lineage of {ref} loops at {parent}")
        seen.add(parent)
        ancestor = get_record(store, parent)
        ancestors.insert(0, ancestor)
        parent = ancestor.parent
    everything = [DatasetRecord.model_validate(r) for r in store.datasets()]
    children: dict[str, list[DatasetRecord]] = {}
    for r in everything:
        if r.parent:
            children.setdefault(r.parent, []).append(r)
    tree: list[tuple[int, DatasetRecord]] = []

    def walk(node: DatasetRecord, depth: int) -> None:
        tree.append((depth, node))
        for child in sorted(children.get(node.ref, []), key=lambda r: r.created_at):
            walk(child, depth + 1)

    walk(record, 0)
    return ancestors, tree


def add_evidence(store: RunStore, ref: str, kind: str, payload: dict[str, Any]) -> Path:
    """Attach evidence (validation, agreement, conflicts) to a version; rewrites its provenance.json."""
    record = get_record(store, ref)
    store.add_evidence(
        record.name, record.version, kind, datetime.now(timezone.utc).isoformat(timespec="seconds"), payload
    )
    return write_provenance(store, ref)


def provenance(store: RunStore, ref: str) -> dict[str, Any]:
    """Everything known about a dataset version: record, lineage, validation, agreement, conflicts."""
    record = get_record(store, ref)
    ancestors, _ = lineage(store, ref)
    evidence = store.evidence(record.name, record.version)
    return {
        "schema_version": "1",
        "dataset": record.model_dump(mode="json"),
        "lineage": [{"ref": a.ref, "sha256": a.sha256, "transform": a.transform} for a in ancestors],
        "validation": evidence.get("validation"),
        "agreement": evidence.get("agreement"),
        "conflicts": evidence.get("conflicts"),
        "metrics": [m.model_dump(mode="json") for m in dataset_metrics(store, ref)],
    }


def provenance_path(ref: str) -> Path:
    name, version = parse_ref(ref)
    return harness_home() / "datasets" / name / version / PROVENANCE_FILE


def write_provenance(store: RunStore, ref: str, target: Path | None = None) -> Path:
    return atomic_write_json(target or provenance_path(ref), provenance(store, ref))


def dataset_metrics(store: RunStore, ref: str) -> list[Metric]:
    """Gate-ready metrics ``data.<name>.<metric>`` from the evidence stored for a version."""
    record = get_record(store, ref)
    evidence = store.evidence(record.name, record.version)
    prefix = f"data.{record.name}"
    metrics: list[Metric] = [Metric(name=f"{prefix}.rows", value=record.rows, n=record.rows)]
    validation = evidence.get("validation")
    if validation:
        metrics.append(
            proportion_metric(f"{prefix}.expectations_passed", validation["passed"], validation["evaluated"])
        )
    agreement = evidence.get("agreement")
    if agreement:
        for m in agreement["metrics"]:
            metrics.append(Metric.model_validate(m | {"name": f"{prefix}.{m['name']}"}))
    conflicts = evidence.get("conflicts")
    if conflicts:
        metrics.append(proportion_metric(f"{prefix}.disputed_share", conflicts["disputed"], conflicts["n_items"]))
        metrics.append(
            proportion_metric(
                f"{prefix}.needs_third_expert_share", conflicts["needs_third_expert"], conflicts["n_items"]
            )
        )
    return metrics


def _next_minor(versions: list[str]) -> str:
    latest = max(tuple(int(p) for p in v.split(".")) for v in versions)
    return f"{latest[0]}.{latest[1] + 1}.0"
