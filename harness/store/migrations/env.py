"""Alembic environment of the run store: migrations run on the connection the store hands over.

The store opens the connection and holds its migration lock (SQLite ``BEGIN IMMEDIATE``,
PostgreSQL ``pg_advisory_xact_lock``) before Alembic runs, so two processes opening an
old store at once upgrade it once: see :func:`harness.store.schema_version.upgrade_store`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):  # pragma: no cover - only the store runs these migrations
    raise RuntimeError("the run store's migrations run through harness.store.schema_version.upgrade_store")
context.configure(connection=connection, target_metadata=None, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
