"""Alembic env for the core store.

The URL comes from ``config.attributes["url"]`` (set by store.schema), or a live
connection from ``config.attributes["connection"]``; engines come from ``make_engine`` so the
SQLite settings (WAL, BEGIN IMMEDIATE) hold during migrations too. Logging is left to the
application: no fileConfig here.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from store.engine import make_engine
from store.models import Base

config = context.config


def _configure(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        # SQLite cannot ALTER most things: later revisions rebuild tables in batch mode.
        render_as_batch=sqlite,
        # make_engine issues an explicit BEGIN on SQLite, so DDL is transactional there too:
        # a failed upgrade leaves the schema as it was.
        transactional_ddl=True,
    )


def _run_offline() -> None:
    context.configure(
        url=config.attributes.get("url") or config.get_main_option("sqlalchemy.url"),
        target_metadata=Base.metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: set config.attributes['url']")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    _run_offline()
else:
    _run_online()
