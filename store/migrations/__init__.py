"""Alembic environment of the core store (run through ``store.schema``, no alembic.ini)."""
