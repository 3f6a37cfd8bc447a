"""Alembic environment of the core store (run through ``adapters.core.schema``, no alembic.ini)."""
