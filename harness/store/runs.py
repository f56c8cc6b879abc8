"""The run store: every run, metric and gate verdict indexed in one database.

SQLite (one file, WAL mode) by default; any SQLAlchemy URL, e.g. PostgreSQL, for a
shared deployment. The run directories stay the source of truth; the store indexes them,
keeps the datasets' records and evidence, the audit log, and the item records engines
measured (so an unchanged model is never asked the same thing twice).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
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
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError

from harness.errors import InputError
from harness.paths import default_store_url
from harness.schema.results import ItemRecord, RunResult

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
    # unique: two appends that read the same head cannot both link to it, so the chain cannot fork
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("entry_hash", String(64), nullable=False, unique=True),
)

item_records_table = Table(
    "item_records",
    metadata,
    Column("model_key", String(120), primary_key=True),
    Column("engine", String(40), primary_key=True),
    Column("task_key", String(64), primary_key=True),
    Column("item_id", String(400), primary_key=True),
    Column("record", Text, nullable=False),
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

    def record_verdict(
        self, run_id: str, policy: str, verdict: str, created_at: str, *, baseline: str | None, path: Path | None
    ) -> None:
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
                datasets_table.insert().values(
                    name=name, version=version, sha256=sha256, created_at=created_at, record=record
                )
            )

    def dataset(self, name: str, version: str) -> dict[str, Any] | None:
        query = select(datasets_table.c.record).where(
            datasets_table.c.name == name, datasets_table.c.version == version
        )
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

    def append_audit(self, build: Callable[[str], dict[str, Any]], *, attempts: int = 200) -> dict[str, Any]:
        """Append ``build(previous entry hash)`` to the audit chain in one transaction.

        The head is read and the entry inserted in the same transaction, and the
        previous hash is unique, so concurrent appends never fork the chain: the loser
        of a race sees a conflict and retries on the new head.
        """
        for attempt in range(attempts):
            try:
                with self.engine.begin() as conn:
                    head = conn.execute(
                        select(audit_table.c.entry_hash).order_by(audit_table.c.id.desc()).limit(1)
                    ).first()
                    row = build(head[0] if head else "")
                    conn.execute(audit_table.insert().values(**row))
                return row
            except (IntegrityError, OperationalError):
                time.sleep(min(0.5, 0.01 * (attempt + 1)))
        raise InputError(f"run store {self.url}: could not append to the audit log after {attempts} attempts")

    # ------------------------------------------------------------------ item records
    def item_records(self, model_key: str, engine: str, task_keys: Iterable[str]) -> dict[str, dict[str, ItemRecord]]:
        """Stored records by task key and item id, for one model and engine."""
        keys = sorted(set(task_keys))
        out: dict[str, dict[str, ItemRecord]] = {key: {} for key in keys}
        if not keys:
            return out
        table = item_records_table
        query = select(table.c.task_key, table.c.item_id, table.c.record).where(
            table.c.model_key == model_key, table.c.engine == engine, table.c.task_key.in_(keys)
        )
        with self.engine.connect() as conn:
            for task_key, item_id, record in conn.execute(query):
                out[task_key][item_id] = ItemRecord.model_validate_json(record)
        return out

    def save_item_records(self, model_key: str, engine: str, records: dict[str, list[ItemRecord]]) -> None:
        """Keep records by task key; a record already stored for the same key and item stays as it is."""
        rows = [
            {
                "model_key": model_key,
                "engine": engine,
                "task_key": task_key,
                "item_id": r.item_id,
                "record": r.model_dump_json(),
            }
            for task_key, task_records in records.items()
            for r in task_records
        ]
        if not rows:
            return
        insert = _insert_ignoring_duplicates(self.engine, item_records_table)
        with self.engine.begin() as conn:
            conn.execute(insert, rows)

    def record_dossier(self, row: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(dossiers_table.insert().values(**row))

    def latest_dossier(self, run_id: str) -> dict[str, Any] | None:
        query = select(dossiers_table).where(dossiers_table.c.run_id == run_id).order_by(dossiers_table.c.id.desc())
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return dict(row._mapping) if row else None


def _insert_ignoring_duplicates(engine: Engine, table: Table) -> Any:
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    if engine.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()
    return table.insert()


def _make_engine(url: str) -> Engine:
    try:
        connect_args: dict[str, Any] = {}
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
            connect_args["timeout"] = 60  # wait for another writer rather than fail
        engine = create_engine(
            url, json_serializer=lambda obj: json.dumps(obj, ensure_ascii=False), connect_args=connect_args
        )
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
