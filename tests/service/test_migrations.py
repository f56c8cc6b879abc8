"""Schema migrations (Alembic): every earlier store reaches the same newest schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from harness.errors import InputError
from harness.store import RunStore
from harness.store.audit import append_entry, verify_chain
from harness.store.runs import metadata
from harness.store.schema_version import HEAD, migration_connection, run_alembic, script_head


def schema_of(url: str) -> dict[str, dict[str, object]]:
    """Tables, their columns (name, type, nullability), unique constraints and indexes, as the database reports them."""
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        out: dict[str, dict[str, object]] = {}
        for table in sorted(inspector.get_table_names()):
            if table.startswith("procrastinate_"):
                continue
            out[table] = {
                "columns": sorted(
                    (c["name"], str(c["type"]).split("(")[0].upper(), c["nullable"])
                    for c in inspector.get_columns(table)
                ),
                "unique": sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)),
                "indexes": sorted((tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(table)),
            }
        return out
    finally:
        engine.dispose()


def test_the_head_constant_is_the_head_of_the_migration_scripts() -> None:
    assert script_head() == HEAD


def test_creating_the_newest_schema_equals_running_every_revision(store_url: str, tmp_path: Path) -> None:
    """A store created at once ("create, then stamp") and one migrated revision by revision are the same."""
    RunStore(store_url)
    created = schema_of(store_url)
    if store_url.startswith("sqlite"):
        migrated_url = f"sqlite:///{tmp_path / 'migrated.db'}"
    else:
        migrated_url = store_url.rsplit("/", 1)[0] + "/" + store_url.rsplit("/", 1)[1] + "_m"
        with create_engine(store_url, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{migrated_url.rsplit("/", 1)[1]}"'))
    engine = create_engine(migrated_url)
    try:
        with migration_connection(engine, migrated_url) as conn:
            run_alembic(conn, "head")
    finally:
        engine.dispose()
    assert schema_of(migrated_url) == created
    assert set(created) == {t.name for t in metadata.sorted_tables} | {"alembic_version"}


def old_sqlite_store(path: Path) -> None:
    """A store as harness wrote it before the store had revisions, and before the newer columns."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE runs (run_id VARCHAR(80) PRIMARY KEY, created_at VARCHAR(40) NOT NULL, model_base TEXT NOT NULL, "
            "model_adapter TEXT, fingerprint VARCHAR(80) NOT NULL, suites JSON NOT NULL, headline JSON NOT NULL, path TEXT NOT NULL)"
        )
        conn.execute("INSERT INTO runs VALUES ('r1', '2026-01-01', 'm', NULL, 'sha256:x', '[]', '{}', '/nowhere')")
        conn.execute(
            "CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at VARCHAR(40) NOT NULL, "
            "run_id VARCHAR(80) NOT NULL, action VARCHAR(40) NOT NULL, entry JSON NOT NULL, "
            "prev_hash VARCHAR(64) NOT NULL UNIQUE, entry_hash VARCHAR(64) NOT NULL UNIQUE)"
        )


def test_a_store_older_than_revisions_is_upgraded_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old_sqlite_store(path)
    url = f"sqlite:///{path}"
    store = RunStore(url)
    (row,) = store.runs()
    assert row.run_id == "r1" and row.status == "finished"
    append_entry(store, "r1", "signoff", {})
    assert verify_chain(store, recorded=[]).ok
    fresh = tmp_path / "fresh.db"
    RunStore(f"sqlite:///{fresh}")

    def columns(schema: dict[str, dict[str, object]]) -> dict[str, list[tuple[object, ...]]]:
        return {table: [c[:2] for c in found["columns"]] for table, found in schema.items()}  # type: ignore[attr-defined]

    assert columns(schema_of(url)) == columns(schema_of(f"sqlite:///{fresh}"))  # every table, every column


def test_a_postgresql_store_older_than_revisions_is_upgraded(pg_url: str) -> None:
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE runs (run_id VARCHAR(80) PRIMARY KEY, created_at VARCHAR(40) NOT NULL, model_base TEXT NOT NULL, "
                "model_adapter TEXT, fingerprint VARCHAR(80) NOT NULL, suites JSON NOT NULL, headline JSON NOT NULL, path TEXT NOT NULL)"
            )
        )
        conn.execute(
            text("INSERT INTO runs VALUES ('r1', '2026-01-01', 'm', NULL, 'sha256:x', '[]', '{}', '/nowhere')")
        )
    engine.dispose()
    store = RunStore(pg_url)
    (row,) = store.runs()
    assert row.status == "finished"
    assert {"users", "api_tokens", "jobs", "job_progress", "login_failures", "procrastinate_jobs"} <= set(
        inspect(store.engine).get_table_names()
    )


def test_a_store_from_a_newer_harness_is_refused_with_its_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    RunStore(url)
    with sqlite3.connect(tmp_path / "runs.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(InputError, match="schema revision 9999, which this harness does not know"):
        RunStore(url)


def test_a_store_at_revision_0003_gains_the_intake_and_selection_tables_and_keeps_its_rows(store_url: str) -> None:
    """Revision 0004: a store written before intake and selection records were kept is upgraded in place."""
    store = RunStore(store_url)
    store.record_verdict("r1", "p", "pass", "2026-11-22", baseline=None, path=None)
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE intake_records"))
        conn.execute(text("DROP TABLE selections"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0003'"))
    store.engine.dispose()
    upgraded = RunStore(store_url)
    assert {"intake_records", "selections"} <= set(inspect(upgraded.engine).get_table_names())
    assert [v["verdict"] for v in upgraded.verdicts("r1")] == ["pass"]
    intake_id = upgraded.add_intake(
        {"verdict": "warn"}, created_at="2026-11-22", fingerprint="sha256:m", model="m", verdict="warn"
    )
    assert upgraded.latest_intake("sha256:m") == upgraded.intake_record(intake_id)
    with create_engine(store_url).connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD == "0004"
