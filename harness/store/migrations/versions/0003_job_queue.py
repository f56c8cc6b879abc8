"""PostgreSQL only: the schema of the job queue (procrastinate) that dispatches the service's jobs
to workers on any machine. SQLite stores need nothing: their jobs are dispatched from the jobs table.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from harness.store.schema_version import install_queue_schema

    install_queue_schema(op.get_bind())
