"""Alembic environment: runs on the connection ``workflow.migrate`` hands in (or the configured URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import workflow.materials  # noqa: F401  (materials attached to cases)
import workflow.registers  # noqa: F401  (the programme's register tables)
from workflow.store import Base, database_url

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(database_url(config.get_main_option("sqlalchemy.url") or None))
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
