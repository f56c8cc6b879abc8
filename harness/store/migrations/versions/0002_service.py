"""The service's tables: users, API tokens, jobs with their progress lines, failed-login counters.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import JSON, Boolean, Column, Float, Integer, MetaData, String, Table, Text, false

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def service_tables() -> MetaData:
    metadata = MetaData()
    Table(
        "users",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(120), nullable=False, unique=True),
        Column("password_hash", Text, nullable=False),
        Column("role", String(40), nullable=False),
        Column("created_at", String(40), nullable=False),
        Column("disabled", Boolean, nullable=False, server_default=false()),
    )
    Table(
        "api_tokens",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(120), nullable=False, index=True),
        Column("token_sha256", String(64), nullable=False, unique=True),
        Column("hint", String(16), nullable=False),
        Column("role", String(40), nullable=False),
        Column("created_by", String(120), nullable=False),
        Column("created_at", String(40), nullable=False),
        Column("last_used_at", String(40)),
        Column("revoked", Boolean, nullable=False, server_default=false()),
    )
    Table(
        "jobs",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("kind", String(20), nullable=False),
        Column("status", String(20), nullable=False, index=True),
        Column("params", JSON, nullable=False),
        Column("submitted_by", String(120), nullable=False),
        Column("created_at", String(40), nullable=False),
        Column("started_at", String(40)),
        Column("finished_at", String(40)),
        Column("worker", String(200)),
        Column("heartbeat_at", Float),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("run_id", String(80), index=True),
        Column("result", JSON),
        Column("error", Text),
        Column("interrupted", Boolean, nullable=False, server_default=false()),
        Column("resumed_from", Integer),
        Column("resumed_by", Integer),
        Column("queue_ref", String(40)),
    )
    Table(
        "job_progress",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("job_id", Integer, nullable=False, index=True),
        Column("created_at", String(40), nullable=False),
        Column("line", Text, nullable=False),
    )
    Table(
        "login_failures",
        metadata,
        Column("key", String(200), primary_key=True),
        Column("failures", Integer, nullable=False),
        Column("window_start", Float, nullable=False),
    )
    return metadata


def upgrade() -> None:
    service_tables().create_all(op.get_bind(), checkfirst=True)
