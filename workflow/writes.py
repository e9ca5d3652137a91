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
``commit()`` only flushes, so nothing inside the block can commit half of a command. Once the
block has ended the session refuses to give out a bind, so a session kept past its block can
never reach a later transaction on the same connection.

**The spare connection** (SQLite). Checking a connection out of SQLAlchemy's pool and back in
(with the pool's rollback on return) costs about 15 µs of Python per transaction, as much as the
driver's own ``BEGIN IMMEDIATE`` and ``COMMIT`` together. A ``Spare`` keeps one connection whose
transaction committed, with the ORM never having joined, checked out for the next write
transaction to take. It is a slot of one, taken and filled under a lock: a connection is in the
slot or in one transaction, never both, so two threads never share it. A transaction that found
the slot empty (another thread holds the spare) checks a connection out of the pool as before,
and gives it back to the pool when the slot is full again. A transaction that failed, or in which
the ORM joined, always gives its connection back to the pool.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from .adapters.sqla import connection_on
from .fastsql import DRIVER


class TransactionEnded(RuntimeError):
    """A write session was used after its ``with db.write()`` block ended."""


class WriteSession(Session):
    """The session of one write transaction; see the module docstring."""

    def __init__(self, engine: Engine, dbapi_connection: Any) -> None:
        super().__init__(autoflush=False, expire_on_commit=False, join_transaction_mode="rollback_only")
        self._write_engine = engine
        self._dbapi_connection: Any = dbapi_connection  # None once the block has ended
        self.joined: Connection | None = None  # set once the ORM takes part
        self.info[DRIVER] = (engine.dialect, dbapi_connection.driver_connection)

    def get_bind(self, *args: Any, **kwargs: Any) -> Connection:
        if self.joined is None:
            if self._dbapi_connection is None:
                raise TransactionEnded("This write session's transaction has ended; open a new `with db.write()`.")
            conn = connection_on(self._write_engine, self._dbapi_connection)
            conn.begin()  # the driver is already inside the transaction; this only tells SQLAlchemy
            self.joined = conn
        return self.joined

    def end(self) -> None:
        """The block is over: no statement of this session reaches the connection any more."""
        self.info.pop(DRIVER, None)
        self._dbapi_connection = None


class Spare:
    """At most one idle write connection, checked out of the pool; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: Any = None

    def take(self) -> Any:
        """The spare connection, now the caller's alone; None when there is none."""
        with self._lock:
            pooled, self._held = self._held, None
        return pooled

    def keep(self, pooled: Any) -> bool:
        """Hold ``pooled``, a connection outside any transaction, unless a spare is held already."""
        with self._lock:
            if self._held is not None:
                return False
            self._held = pooled
            return True

    def held(self) -> int:
        """How many connections the slot holds (0 or 1)."""
        with self._lock:
            return 0 if self._held is None else 1

    def close(self) -> None:
        """Give the spare connection back to the pool."""
        pooled = self.take()
        if pooled is not None:
            pooled.close()


@contextmanager
def write_transaction(engine: Engine, begin: str | None, spare: Spare | None = None) -> Iterator[Session]:
    """One write transaction on a pooled connection (``spare``'s, if it holds one). ``begin`` is
    the statement that opens it (SQLite: ``BEGIN IMMEDIATE``); drivers that open transactions
    themselves pass ``None``."""
    pooled: Any = spare.take() if spare is not None else None
    if pooled is None:
        pooled = engine.raw_connection()
    session: WriteSession | None = None
    kept = False
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
            session.end()
            if session.joined is not None:
                session.close()
        if spare is not None and session.joined is None and not driver.in_transaction:
            kept = spare.keep(pooled)
    finally:
        if not kept:
            if session is not None and session.joined is not None:
                session.joined.close()  # gives the pooled connection back
            else:
                pooled.close()
