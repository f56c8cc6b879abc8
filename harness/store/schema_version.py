"""The run store's schema version: Alembic revisions in :mod:`harness.store.migrations`.

Opening a store brings it to the newest revision (:data:`HEAD`):

- a store at :data:`HEAD` costs one query, and Alembic is not even imported;
- an empty database gets the current tables (``harness.store.runs.metadata``), and on
  PostgreSQL the job queue's schema, and is stamped :data:`HEAD` (Alembic's "create, then
  stamp"; a test checks that this equals running every revision);
- any other store, including one written before the store was versioned (tables, no
  version), is upgraded revision by revision by Alembic.

Creation and upgrades hold a lock for their whole transaction (SQLite: ``BEGIN IMMEDIATE``,
the database's write lock; PostgreSQL: ``pg_advisory_xact_lock``), and read the version
again once they hold it, so processes that open a fresh or old store at the same moment
migrate it once and every one of them then sees the finished schema.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, inspect, text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.pool import NullPool

from harness.errors import InputError

HEAD = "0004"
REVISIONS = ("0001", "0002", "0003", "0004")
VERSION_TABLE = "alembic_version"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# pg_advisory_xact_lock key of store migrations ("harness" in ASCII, as a bigint)
PG_LOCK_KEY = 0x68_61_72_6E_65_73_73
QUEUE_TABLE = "procrastinate_jobs"


def current_revision(conn: Connection) -> str | None:
    """The store's revision; None when it has none (an empty database, or a store older than revisions)."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    rows = [str(r[0]) for r in conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))]
    return rows[0] if len(rows) == 1 else None


def _quick_revision(engine: Engine) -> str | None:
    """The revision read without any lock (None on any error: the locked path reads it again)."""
    try:
        with engine.connect() as conn:
            rows = [str(r[0]) for r in conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))]
    except (OperationalError, ProgrammingError):
        return None
    return rows[0] if len(rows) == 1 else None


def upgrade_store(engine: Engine, url: str, metadata: MetaData, *, shown: str, busy_timeout_ms: int) -> None:
    """Bring the store behind ``engine`` to :data:`HEAD` (see the module's docstring).

    ``metadata``: the current tables (:data:`harness.store.runs.metadata`); ``shown``: the
    store's URL as it may be printed; ``busy_timeout_ms``: how long SQLite waits for the lock.
    """
    revision = _quick_revision(engine)
    if revision == HEAD:
        return
    _refuse_unknown(revision, shown)
    with migration_connection(engine, url, busy_timeout_ms) as conn:
        revision = current_revision(conn)
        if revision == HEAD:
            return
        _refuse_unknown(revision, shown)
        if revision is None and not _table_names(conn):
            create_current_schema(conn, metadata)
        else:
            run_alembic(conn, "head")


def _refuse_unknown(revision: str | None, shown: str) -> None:
    if revision is not None and revision not in REVISIONS:
        raise InputError(
            f"run store {shown} has schema revision {revision}, which this harness does not know "
            f"(its newest is {HEAD}): upgrade harness to open it"
        )


def _table_names(conn: Connection) -> list[str]:
    return [name for name in inspect(conn).get_table_names() if name != VERSION_TABLE]


def create_current_schema(conn: Connection, metadata: MetaData) -> None:
    """Create the current tables (and the queue's schema on PostgreSQL) and stamp :data:`HEAD`."""
    metadata.create_all(conn, checkfirst=True)
    install_queue_schema(conn)
    conn.execute(text(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
    conn.execute(text(f"DELETE FROM {VERSION_TABLE}"))
    conn.execute(text(f"INSERT INTO {VERSION_TABLE} (version_num) VALUES (:head)"), {"head": HEAD})


def install_queue_schema(conn: Connection) -> None:
    """PostgreSQL: procrastinate's schema (the version pinned in pyproject.toml), once; other databases: nothing."""
    if conn.dialect.name != "postgresql" or inspect(conn).has_table(QUEUE_TABLE):
        return
    from procrastinate.schema import SchemaManager

    # through text(): the driver would read the "%" of the schema's PL/pgSQL as placeholders
    conn.execute(text(SchemaManager.get_schema()))


def run_alembic(conn: Connection, target: str) -> None:
    """Run the store's Alembic revisions up to ``target`` on ``conn`` (a connection already holding the lock)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    command.upgrade(config, target)


def script_head() -> str:
    """The head revision of the migration scripts (a test checks it equals :data:`HEAD`)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    return str(head)


@contextlib.contextmanager
def migration_connection(engine: Engine, url: str, busy_timeout_ms: int = 60_000) -> Iterator[Connection]:
    """A connection in a transaction that holds the store's migration lock until it commits."""
    if engine.dialect.name == "sqlite":
        locked = _sqlite_locking_engine(url, busy_timeout_ms)
        try:
            with locked.begin() as conn:
                yield conn
        finally:
            locked.dispose()
        return
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
        yield conn


def _sqlite_locking_engine(url: str, busy_timeout_ms: int) -> Engine:
    """An engine whose transactions start with ``BEGIN IMMEDIATE`` (the write lock, waited for)."""
    engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": busy_timeout_ms / 1000})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver's own BEGIN would be deferred: ours is below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
