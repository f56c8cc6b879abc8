"""Base-model intake and selection records: the tables ``harness intake`` and ``harness select`` keep.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import JSON, Column, Index, Integer, MetaData, String, Table, Text

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def intake_tables() -> MetaData:
    metadata = MetaData()
    intake = Table(
        "intake_records",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("created_at", String(40), nullable=False),
        Column("fingerprint", String(80)),
        Column("model", Text, nullable=False),
        Column("verdict", String(20), nullable=False),
        Column("record", JSON, nullable=False),
    )
    Index("ix_intake_records_fingerprint", intake.c.fingerprint)
    selections = Table(
        "selections",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("created_at", String(40), nullable=False),
        Column("chosen_fingerprint", String(80)),
        Column("policy", Text, nullable=False),
        Column("record", JSON, nullable=False),
    )
    Index("ix_selections_chosen_fingerprint", selections.c.chosen_fingerprint)
    return metadata


def upgrade() -> None:
    intake_tables().create_all(op.get_bind(), checkfirst=True)
