"""The run store: every run, metric and gate verdict indexed in one database.

SQLite (one file, WAL mode) by default; any SQLAlchemy URL, e.g. PostgreSQL, for a
shared deployment. The run directories stay the source of truth; the store indexes them,
keeps the datasets' records and evidence, the audit log, and the item records engines
measured (so an unchanged model is never asked the same thing twice).

A run is indexed when it starts (status ``running``, its folder) and completed when its
``results.json`` is written; a run killed between the two is completed the next time the
store looks it up (:meth:`RunStore.find_run`, :meth:`RunStore.runs`), so a run whose
results exist on disk is never lost to the store.
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
    Boolean,
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
    false,
    select,
)
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, ProgrammingError

from harness.errors import InputError
from harness.paths import default_store_url
from harness.schema.results import RESULTS_FILE, ItemRecord, RunResult, load_results

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
    # running: indexed when it started, results.json not yet seen; finished: indexed from results.json
    Column("status", String(20), nullable=False, server_default="finished"),
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
    # Ed25519 signature (hex) of the entry hash, by a key held outside the store (harness.store.signing)
    Column("signature", String(128)),
)

SCHEMA_ATTEMPTS = 5

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


# ---------------------------------------------------------------------------- base-model intake and selection
# ``harness intake`` and ``harness select`` keep their records (schemas harness.intake and
# harness.selection, whole) so that the dossier, the pages and the API read them back.

intake_records_table = Table(
    "intake_records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", String(40), nullable=False),
    Column("fingerprint", String(80), index=True),
    Column("model", Text, nullable=False),
    Column("verdict", String(20), nullable=False),
    Column("record", JSON, nullable=False),
)

selections_table = Table(
    "selections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", String(40), nullable=False),
    Column("chosen_fingerprint", String(80), index=True),
    Column("policy", Text, nullable=False),
    Column("record", JSON, nullable=False),
)


# ---------------------------------------------------------------------------- the service (harness serve)
# Users sign in with a password (an argon2 hash is kept); API tokens are kept as the SHA-256 of
# the token; jobs are what the service runs for its users, with their progress lines; failed
# logins are counted here so that every process of the service shares the counter.

users_table = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(120), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(40), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("disabled", Boolean, nullable=False, server_default=false()),
)

api_tokens_table = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(120), nullable=False, index=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("hint", String(16), nullable=False),  # the token's first characters, to tell tokens apart
    Column("role", String(40), nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("last_used_at", String(40)),
    Column("revoked", Boolean, nullable=False, server_default=false()),
)

jobs_table = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),  # run, gate, compare, report, dossier, train
    Column("status", String(20), nullable=False, index=True),  # queued, running, succeeded, failed
    Column("params", JSON, nullable=False),
    Column("submitted_by", String(120), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("started_at", String(40)),
    Column("finished_at", String(40)),
    Column("worker", String(200)),  # host:pid of the worker running it
    Column("heartbeat_at", Float),  # seconds since the epoch, renewed while it runs
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("run_id", String(80), index=True),
    Column("result", JSON),
    Column("error", Text),
    Column("interrupted", Boolean, nullable=False, server_default=false()),  # its worker died or was stopped
    Column("resumed_from", Integer),  # the interrupted job this one continues
    Column("resumed_by", Integer),  # the job that continues this interrupted one
    Column("queue_ref", String(40)),  # the job's id in the PostgreSQL queue (procrastinate)
)

job_progress_table = Table(
    "job_progress",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, nullable=False, index=True),
    Column("created_at", String(40), nullable=False),
    Column("line", Text, nullable=False),
)

login_failures_table = Table(
    "login_failures",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_start", Float, nullable=False),
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
    status: str = "finished"  # running: started, no results.json seen yet (in progress, or interrupted)


class RunStore:
    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_store_url()
        self.engine = _make_engine(self.url)
        create_schema(self.engine, self.url)

    def start_run(
        self,
        run_id: str,
        created_at: str,
        *,
        model_base: str,
        model_adapter: str | None,
        fingerprint: str,
        suites: list[str],
        run_dir: Path,
    ) -> None:
        """Index a run as it starts (status running), so it is known before it has results.

        A run resumed after an interruption keeps its row; a finished row is never
        turned back into a running one.
        """
        with self.engine.begin() as conn:
            existing = conn.execute(select(runs_table.c.status).where(runs_table.c.run_id == run_id)).first()
            if existing is not None:
                return
            conn.execute(
                runs_table.insert().values(
                    run_id=run_id,
                    created_at=created_at,
                    model_base=model_base,
                    model_adapter=model_adapter,
                    fingerprint=fingerprint,
                    suites=suites,
                    headline={},
                    path=str(run_dir.resolve()),
                    status="running",
                )
            )

    def index_run(self, result: RunResult, run_dir: Path, headline: dict[str, Any] | None = None) -> None:
        """Index a finished run from its results (status finished); ``headline`` defaults to
        the headline metric of each suite, as the results name them."""
        if headline is None:
            headline = run_headline(result)
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
                    status="finished",
                )
            )
            if result.metrics:
                conn.execute(
                    metrics_table.insert(),
                    [{"run_id": result.run_id, **m.model_dump()} for m in result.metrics],
                )

    def remove_run(self, run_id: str) -> None:
        """Forget a run that failed before it measured anything (its folder is removed by the runner)."""
        with self.engine.begin() as conn:
            conn.execute(metrics_table.delete().where(metrics_table.c.run_id == run_id))
            conn.execute(runs_table.delete().where(runs_table.c.run_id == run_id))

    def complete_from_disk(self, row: RunRow) -> RunRow:
        """A running row whose results.json exists (the run was killed after writing it): index it now.

        Returns the row as the store now has it; a row still without results stays as it is.
        """
        if row.status != "running":
            return row
        run_dir = Path(row.path)
        if not (run_dir / RESULTS_FILE).is_file():
            return row
        try:
            result = load_results(run_dir)
        except InputError:
            return row  # not a readable results file: left for the user to see, not indexed
        if result.run_id != row.run_id:
            return row
        self.index_run(result, run_dir)
        return self._row(row.run_id) or row

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
        """Runs, newest first; a running row whose results.json exists is completed on the way."""
        query = select(runs_table).order_by(runs_table.c.created_at.desc())
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = [RunRow(**row._mapping) for row in conn.execute(query)]
        return [self.complete_from_disk(row) for row in rows]

    def find_run(self, run_id: str) -> RunRow | None:
        """The run's row; a run killed after writing results.json is indexed on sight."""
        row = self._row(run_id)
        return self.complete_from_disk(row) if row is not None else None

    def _row(self, run_id: str) -> RunRow | None:
        query = select(runs_table).where(runs_table.c.run_id == run_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return RunRow(**row._mapping) if row else None

    def verdicts(self, run_id: str) -> list[dict[str, Any]]:
        query = select(verdicts_table).where(verdicts_table.c.run_id == run_id).order_by(verdicts_table.c.id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    # ------------------------------------------------------------------ datasets
    def add_dataset(self, name: str, version: str, sha256: str, created_at: str, record: dict[str, Any]) -> bool:
        """Insert a dataset version; False when that name and version exist already (another
        writer may have registered it a moment ago: the primary key decides, the caller re-reads)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    datasets_table.insert().values(
                        name=name, version=version, sha256=sha256, created_at=created_at, record=record
                    )
                )
        except IntegrityError:
            return False
        return True

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

    def audit_head(self) -> str | None:
        """The newest entry's hash, None while the log is empty."""
        query = select(audit_table.c.entry_hash).order_by(audit_table.c.id.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return str(row[0]) if row else None

    def recorded_files(self) -> list[tuple[str, Path]]:
        """Files that record an audit head, as (kind, path): each verdict.json and each dossier's dossier.json."""
        with self.engine.connect() as conn:
            verdicts = [r[0] for r in conn.execute(select(verdicts_table.c.path).order_by(verdicts_table.c.id))]
            dossiers = [r[0] for r in conn.execute(select(dossiers_table.c.html).order_by(dossiers_table.c.id))]
        files = [("verdict", Path(p)) for p in verdicts if p]
        files += [("dossier", Path(p).parent / "dossier.json") for p in dossiers if p]
        return files

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
        raise InputError(
            f"run store {shown_url(self.url)}: could not append to the audit log after {attempts} attempts"
        )

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

    # ------------------------------------------------------------------ base-model intake and selection
    def add_intake(
        self, record: dict[str, Any], *, created_at: str, fingerprint: str | None, model: str, verdict: str
    ) -> int:
        """Keep an intake record (schema harness.intake, as JSON); returns its id."""
        with self.engine.begin() as conn:
            inserted = conn.execute(
                intake_records_table.insert().values(
                    created_at=created_at, fingerprint=fingerprint, model=model, verdict=verdict, record=record
                )
            )
            key = inserted.inserted_primary_key
            assert key is not None
            return int(key[0])

    def intake_records(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Intake records, newest first: id, created_at, fingerprint, model, verdict and the record."""
        query = select(intake_records_table).order_by(intake_records_table.c.id.desc())
        return self._rows(query.limit(limit) if limit else query)

    def intake_record(self, intake_id: int) -> dict[str, Any] | None:
        rows = self._rows(select(intake_records_table).where(intake_records_table.c.id == intake_id))
        return rows[0] if rows else None

    def latest_intake(self, fingerprint: str) -> dict[str, Any] | None:
        """The newest intake record of the model with this fingerprint, None when it never went through intake."""
        query = (
            select(intake_records_table)
            .where(intake_records_table.c.fingerprint == fingerprint)
            .order_by(intake_records_table.c.id.desc())
            .limit(1)
        )
        rows = self._rows(query)
        return rows[0] if rows else None

    def add_selection(
        self, record: dict[str, Any], *, created_at: str, chosen_fingerprint: str | None, policy: str
    ) -> int:
        """Keep a selection record (schema harness.selection, as JSON); returns its id."""
        with self.engine.begin() as conn:
            inserted = conn.execute(
                selections_table.insert().values(
                    created_at=created_at, chosen_fingerprint=chosen_fingerprint, policy=policy, record=record
                )
            )
            key = inserted.inserted_primary_key
            assert key is not None
            return int(key[0])

    def selections(self, limit: int | None = None, *, chose: str | None = None) -> list[dict[str, Any]]:
        """Selection records, newest first; ``chose``: only those that chose the model with this fingerprint."""
        query = select(selections_table).order_by(selections_table.c.id.desc())
        if chose is not None:
            query = query.where(selections_table.c.chosen_fingerprint == chose)
        return self._rows(query.limit(limit) if limit else query)

    def selection(self, selection_id: int) -> dict[str, Any] | None:
        rows = self._rows(select(selections_table).where(selections_table.c.id == selection_id))
        return rows[0] if rows else None

    def _rows(self, query: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]


def run_headline(result: RunResult) -> dict[str, Any]:
    """Each suite's headline metric with its interval: the one its status names, else the suite's
    metric of scope headline, else its first whole-suite metric (results written before suites named one)."""
    out: dict[str, Any] = {}
    for suite in result.suites:
        status = result.suite_status.get(suite)
        metric = result.metric(status.headline) if status is not None and status.headline else None
        if metric is None and (status is None or not status.headline):
            own = [m for m in result.metrics if m.suite == suite and not m.is_breakdown]
            metric = next((m for m in own if m.scope == "headline"), own[0] if own else None)
        if metric is not None:
            out[metric.name] = {
                "value": metric.value,
                "n": metric.n,
                "ci_low": metric.ci_low,
                "ci_high": metric.ci_high,
            }
    return out


def create_schema(engine: Engine, url: str) -> None:
    """Create the store, or upgrade it to the newest schema revision, safely under concurrency.

    Alembic revisions (:mod:`harness.store.schema_version`) hold a lock while they create or
    upgrade, so concurrent openers migrate once; what is left to race (a database that
    cannot lock, such as a server other than PostgreSQL) is retried on the schema the
    winner left, which is then complete.
    """
    from harness.store.schema_version import upgrade_store

    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            upgrade_store(engine, url, metadata, shown=shown_url(url), busy_timeout_ms=BUSY_TIMEOUT_MS)
            return
        except (OperationalError, IntegrityError, ProgrammingError) as exc:
            if attempt + 1 == SCHEMA_ATTEMPTS or not _is_schema_race(exc):
                raise InputError(f"run store {shown_url(url)}: {_one_line(exc)}") from None
            time.sleep(0.05 * (attempt + 1))


def _is_schema_race(exc: Exception) -> bool:
    """Errors a concurrent creator of the same schema causes: the object exists already, or is locked."""
    message = str(getattr(exc, "orig", exc)).lower()
    return isinstance(exc, IntegrityError) or any(
        marker in message for marker in ("already exists", "duplicate column", "database is locked", "duplicate key")
    )


def _one_line(exc: Exception) -> str:
    return (str(getattr(exc, "orig", exc)).strip().splitlines() or [type(exc).__name__])[0]


def _insert_ignoring_duplicates(engine: Engine, table: Table) -> Any:
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    if engine.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()
    return table.insert()


BUSY_TIMEOUT_MS = 60_000  # wait for another writer rather than fail


def _set_wal(cursor: Any) -> None:
    """Switch a SQLite database to WAL; a fresh file being switched by another process at the same
    moment answers "database is locked" without waiting, so that is retried."""
    import sqlite3

    for attempt in range(50):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 49:
                raise
            time.sleep(0.02 * (attempt + 1))


def shown_url(url: str) -> str:
    """The store URL as it may be printed: with any password hidden."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url.split("@")[-1] if "@" in url else url


def _make_engine(url: str) -> Engine:
    try:
        connect_args: dict[str, Any] = {}
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
            connect_args["timeout"] = BUSY_TIMEOUT_MS / 1000
        engine = create_engine(
            url, json_serializer=lambda obj: json.dumps(obj, ensure_ascii=False), connect_args=connect_args
        )
    except (ArgumentError, ImportError) as exc:
        raise InputError(f"run store URL {shown_url(url)!r} is not usable: {exc}") from None
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            _set_wal(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine
