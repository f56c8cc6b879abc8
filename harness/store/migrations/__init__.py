"""Alembic environment and revisions of the run store's schema (see :mod:`harness.store.schema_version`)."""
