"""The run store as harness released it before migrations: runs, metrics, verdicts, datasets,
dataset evidence, the signed audit log, item records and dossiers.

A store written before the store was versioned has some or all of these tables, perhaps
without the columns added later (``runs.status``, ``audit_log.signature``); this revision
creates what is missing and adds those columns, so it brings every earlier store to the
same schema. The tables are a frozen copy: later changes are later revisions.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import JSON, Column, Float, ForeignKey, Integer, MetaData, String, Table, Text, inspect, text

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# columns added after a table's first release: (table, column, SQL type and default)
ADDED_COLUMNS = (
    ("runs", "status", "VARCHAR(20) NOT NULL DEFAULT 'finished'"),
    ("audit_log", "signature", "VARCHAR(128)"),
)


def first_release_tables() -> MetaData:
    metadata = MetaData()
    Table(
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
        Column("status", String(20), nullable=False, server_default="finished"),
    )
    Table(
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
    Table(
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
    Table(
        "datasets",
        metadata,
        Column("name", String(120), primary_key=True),
        Column("version", String(40), primary_key=True),
        Column("sha256", String(64), nullable=False, index=True),
        Column("created_at", String(40), nullable=False),
        Column("record", JSON, nullable=False),
    )
    Table(
        "dataset_evidence",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(120), nullable=False, index=True),
        Column("version", String(40), nullable=False),
        Column("kind", String(40), nullable=False),
        Column("created_at", String(40), nullable=False),
        Column("payload", JSON, nullable=False),
    )
    Table(
        "audit_log",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("created_at", String(40), nullable=False),
        Column("run_id", String(80), index=True, nullable=False),
        Column("action", String(40), nullable=False),
        Column("entry", JSON, nullable=False),
        Column("prev_hash", String(64), nullable=False, unique=True),
        Column("entry_hash", String(64), nullable=False, unique=True),
        Column("signature", String(128)),
    )
    Table(
        "item_records",
        metadata,
        Column("model_key", String(120), primary_key=True),
        Column("engine", String(40), primary_key=True),
        Column("task_key", String(64), primary_key=True),
        Column("item_id", String(400), primary_key=True),
        Column("record", Text, nullable=False),
    )
    Table(
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
    return metadata


def upgrade() -> None:
    connection = op.get_bind()
    first_release_tables().create_all(connection, checkfirst=True)
    inspector = inspect(connection)
    for table, column, sql_type in ADDED_COLUMNS:
        present = {c["name"] for c in inspector.get_columns(table)}
        if column not in present:
            connection.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}"))
