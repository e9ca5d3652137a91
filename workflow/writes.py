"""Write transactions: a pooled DBAPI connection, with the ORM session built on it only when used.

A command's hot statements run on the driver (``workflow.fastsql``); most commands never touch
the ORM. Setting up a SQLAlchemy ``Connection`` and an ORM transaction for each of them cost
about 70 µs per command on SQLite, more than the engine's whole SQLite commit (docs/performance.md).
So ``write_transaction`` begins the transaction on the DBAPI connection itself, and the
``WriteSession`` it yields wraps that same connection in a ``Connection`` (whose transaction it
joins) the first time anything asks the session for a bind: ORM queries, ``add``, ``flush``,
``connection()``. Either way there is one transaction, committed at the block's end and rolled
back whole on any exception.

The session does not own the transaction (``join_transaction_mode="rollback_only"``): its
``commit()`` only flushes, so nothing inside the block can commit half of a command.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from .adapters.sqla import connection_on
from .fastsql import DRIVER


class WriteSession(Session):
    """The session of one write transaction; see the module docstring."""

    def __init__(self, engine: Engine, dbapi_connection: Any) -> None:
        super().__init__(autoflush=False, expire_on_commit=False, join_transaction_mode="rollback_only")
        self._write_engine = engine
        self._dbapi_connection = dbapi_connection
        self.joined: Connection | None = None  # set once the ORM takes part
        self.info[DRIVER] = (engine.dialect, dbapi_connection.driver_connection)

    def get_bind(self, *args: Any, **kwargs: Any) -> Connection:
        if self.joined is None:
            conn = connection_on(self._write_engine, self._dbapi_connection)
            conn.begin()  # the driver is already inside the transaction; this only tells SQLAlchemy
            self.joined = conn
        return self.joined


@contextmanager
def write_transaction(engine: Engine, begin: str | None) -> Iterator[Session]:
    """One write transaction on a pooled connection. ``begin`` is the statement that opens it
    (SQLite: ``BEGIN IMMEDIATE``); drivers that open transactions themselves pass ``None``."""
    pooled: Any = engine.raw_connection()
    session: WriteSession | None = None
    try:
        driver = pooled.driver_connection
        if begin is not None:
            driver.execute(begin)
        session = WriteSession(engine, pooled)
        try:
            yield session
            session.flush()  # objects added but never flushed: this is where the ORM joins
            if session.joined is not None:
                session.joined.commit()
            else:
                driver.commit()
        except BaseException:
            if session.joined is not None:
                if session.in_transaction():
                    session.rollback()
                session.joined.rollback()
            else:
                driver.rollback()
            raise
        finally:
            session.info.pop(DRIVER, None)
            if session.joined is not None:
                session.close()
    finally:
        if session is not None and session.joined is not None:
            session.joined.close()  # gives the pooled connection back
        else:
            pooled.close()
