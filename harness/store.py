"""The run store: every run, metric and gate verdict indexed in one database.

SQLite (one file, WAL mode) by default; any SQLAlchemy URL, e.g. PostgreSQL, for a
shared deployment. The run directories stay the source of truth; the store indexes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    select,
)
from sqlalchemy.exc import ArgumentError, OperationalError

from harness.errors import InputError
from harness.paths import default_store_url
from harness.results import RunResult

metadata = MetaData()

runs_table = Table(
    "runs",
    metadata,
    Column("run_id", String(80), primary_key=True),
    Column("created_at", String(40), nullable=False),
    Column("model_base", Text, nullable=False),
    Column("model_adapter", Text),
    Column("fingerprint", String(80), nullable=False, index=True),
    Column("suites", JSON, nullable=False),
    Column("headline", JSON, nullable=False),
    Column("path", Text, nullable=False),
)

metrics_table = Table(
    "metrics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(80), ForeignKey("runs.run_id"), index=True, nullable=False),
    Column("name", String(200), nullable=False),
    Column("value", Float),
    Column("n", Integer, nullable=False),
    Column("ci_low", Float),
    Column("ci_high", Float),
    Column("ci_method", String(60)),
)

verdicts_table = Table(
    "verdicts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(80), index=True, nullable=False),
    Column("policy", Text, nullable=False),
    Column("baseline_run_id", String(80)),
    Column("verdict", String(20), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("path", Text),
)


datasets_table = Table(
    "datasets",
    metadata,
    Column("name", String(120), primary_key=True),
    Column("version", String(40), primary_key=True),
    Column("sha256", String(64), nullable=False, index=True),
    Column("created_at", String(40), nullable=False),
    Column("record", JSON, nullable=False),
)

dataset_evidence_table = Table(
    "dataset_evidence",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(120), nullable=False, index=True),
    Column("version", String(40), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("payload", JSON, nullable=False),
)


audit_table = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", String(40), nullable=False),
    Column("run_id", String(80), index=True, nullable=False),
    Column("action", String(40), nullable=False),
    Column("entry", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False, unique=True),
)

dossiers_table = Table(
    "dossiers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(80), index=True, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("pdf", Text),
    Column("pdf_sha256", String(64)),
    Column("html", Text, nullable=False),
    Column("html_sha256", String(64), nullable=False),
)


@dataclass(frozen=True)
class RunRow:
    run_id: str
    created_at: str
    model_base: str
    model_adapter: str | None
    fingerprint: str
    suites: list[str]
    headline: dict[str, Any]
    path: str


class RunStore:
    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_store_url()
        self.engine = _make_engine(self.url)
        try:
            metadata.create_all(self.engine)
        except OperationalError as exc:
            raise InputError(f"run store {self.url}: {exc.orig}") from None

    def index_run(self, result: RunResult, run_dir: Path, headline: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(metrics_table.delete().where(metrics_table.c.run_id == result.run_id))
            conn.execute(runs_table.delete().where(runs_table.c.run_id == result.run_id))
            conn.execute(
                runs_table.insert().values(
                    run_id=result.run_id,
                    created_at=result.created_at,
                    model_base=result.model.base,
                    model_adapter=result.model.adapter,
                    fingerprint=result.model.fingerprint,
                    suites=result.suites,
                    headline=headline,
                    path=str(run_dir.resolve()),
                )
            )
            if result.metrics:
                conn.execute(
                    metrics_table.insert(),
                    [{"run_id": result.run_id, **m.model_dump()} for m in result.metrics],
                )

    def record_verdict(self, run_id: str, policy: str, verdict: str, created_at: str, *, baseline: str | None, path: Path | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                verdicts_table.insert().values(
                    run_id=run_id,
                    policy=policy,
                    baseline_run_id=baseline,
                    verdict=verdict,
                    created_at=created_at,
                    path=str(path) if path else None,
                )
            )

    def runs(self, limit: int | None = None) -> list[RunRow]:
        query = select(runs_table).order_by(runs_table.c.created_at.desc())
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [RunRow(**row._mapping) for row in conn.execute(query)]

    def find_run(self, run_id: str) -> RunRow | None:
        query = select(runs_table).where(runs_table.c.run_id == run_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return RunRow(**row._mapping) if row else None

    def verdicts(self, run_id: str) -> list[dict[str, Any]]:
        query = select(verdicts_table).where(verdicts_table.c.run_id == run_id).order_by(verdicts_table.c.id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]


    # ------------------------------------------------------------------ datasets
    def add_dataset(self, name: str, version: str, sha256: str, created_at: str, record: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                datasets_table.insert().values(name=name, version=version, sha256=sha256, created_at=created_at, record=record)
            )

    def dataset(self, name: str, version: str) -> dict[str, Any] | None:
        query = select(datasets_table.c.record).where(datasets_table.c.name == name, datasets_table.c.version == version)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return dict(row[0]) if row else None

    def datasets(self, name: str | None = None) -> list[dict[str, Any]]:
        query = select(datasets_table.c.record).order_by(datasets_table.c.name, datasets_table.c.created_at)
        if name is not None:
            query = query.where(datasets_table.c.name == name)
        with self.engine.connect() as conn:
            return [dict(row[0]) for row in conn.execute(query)]

    def add_evidence(self, name: str, version: str, kind: str, created_at: str, payload: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                dataset_evidence_table.insert().values(
                    name=name, version=version, kind=kind, created_at=created_at, payload=payload
                )
            )

    def evidence(self, name: str, version: str) -> dict[str, dict[str, Any]]:
        """The latest evidence of each kind (validation, agreement, conflicts) for a dataset version."""
        query = (
            select(dataset_evidence_table)
            .where(dataset_evidence_table.c.name == name, dataset_evidence_table.c.version == version)
            .order_by(dataset_evidence_table.c.id)
        )
        latest: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                latest[row.kind] = {"created_at": row.created_at, **dict(row.payload)}
        return latest


    # ------------------------------------------------------------------ audit log and dossiers
    def audit_rows(self, run_id: str | None = None) -> list[dict[str, Any]]:
        query = select(audit_table).order_by(audit_table.c.id)
        if run_id is not None:
            query = query.where(audit_table.c.run_id == run_id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def append_audit(self, row: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(audit_table.insert().values(**row))

    def record_dossier(self, row: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(dossiers_table.insert().values(**row))

    def latest_dossier(self, run_id: str) -> dict[str, Any] | None:
        query = select(dossiers_table).where(dossiers_table.c.run_id == run_id).order_by(dossiers_table.c.id.desc())
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return dict(row._mapping) if row else None


def _make_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, json_serializer=lambda obj: json.dumps(obj, ensure_ascii=False))
    except (ArgumentError, ImportError) as exc:
        raise InputError(f"run store URL {url!r} is not usable: {exc}") from None
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine
