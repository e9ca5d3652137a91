"""Which scheduler is the active one: one leader lock per database.

``lock_for(db)`` gives the lock a ``Scheduler`` competes for. ``try_acquire()`` never waits; a
scheduler that gets ``False`` stands by and asks again later. ``held()`` is asked before every
sweep and answers ``False`` once the lock is known to be lost. ``release()`` gives it up.

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) held on a dedicated
  connection that does nothing else. The server drops the lock the moment that session ends: the
  process exits or is killed (its socket closes), or the connection is lost. TCP keepalives on the
  connection (10 s idle, 3 probes 5 s apart) bound how long a vanished host keeps it. The key is
  derived from the schema in use, so that Shanyu databases sharing one PostgreSQL database in
  different schemas (``SHANYU_DATABASE_SCHEMA``) each have their own active scheduler. A session
  pooler in transaction mode (PgBouncer) would break session-level locks: connect the scheduler
  directly.
- SQLite: an exclusive ``flock`` on ``<database file>.scheduler.lock`` (it holds the active
  process's pid, for operators). The kernel releases it when the process exits, however it exits.
  An in-memory database belongs to one process; its lock is process-local.

The lock is about efficiency and order, not correctness: firing is idempotent under each case's
row lock (see ``workflow.timers``), so two schedulers that briefly both believe they are active
fire nothing twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from pathlib import Path
from typing import Protocol

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.engine import Engine as SAEngine
from sqlalchemy.pool import NullPool

from .store import Database

__all__ = ["AdvisoryLock", "FileLock", "LeaderLock", "ProcessLock", "lock_for"]

LOCK_NAME = "shanyu-scheduler"
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}


class LeaderLock(Protocol):
    def try_acquire(self) -> bool: ...

    def held(self) -> bool: ...

    def release(self) -> None: ...

    def describe(self) -> str: ...


def lock_for(db: Database) -> LeaderLock:
    """The leader lock for ``db`` (see module doc)."""
    if not db.is_sqlite:
        return AdvisoryLock(db)
    path = make_url(db.url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return ProcessLock(db.url)
    return FileLock(Path(path + ".scheduler.lock"))


class AdvisoryLock:
    """``pg_try_advisory_lock`` on a dedicated autocommit connection (see module doc)."""

    def __init__(self, db: Database, name: str = LOCK_NAME) -> None:
        self._db = db
        self._name = name
        self._key: int | None = None
        self._engine: SAEngine | None = None
        self._conn: Connection | None = None
        self._held = False

    def _lock_key(self) -> int:
        if self._key is None:
            with self._db.engine.connect() as conn:  # the schema this database's sessions use
                schema = conn.scalar(text("SELECT current_schema()"))
            digest = hashlib.sha256(f"{self._name}:{schema}".encode()).digest()
            self._key = int.from_bytes(digest[:8], "big", signed=True)
        return self._key

    def _connection(self) -> Connection:
        if self._conn is None:
            if self._engine is None:
                self._engine = create_engine(
                    self._db.engine.url,
                    poolclass=NullPool,
                    isolation_level="AUTOCOMMIT",
                    connect_args={"application_name": LOCK_NAME, **_KEEPALIVES},
                )
            self._conn = self._engine.connect()
        return self._conn

    def try_acquire(self) -> bool:
        if self._held:
            return self.held()
        key = self._lock_key()
        try:
            self._held = bool(
                self._connection().scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
            )
        except Exception:
            self._drop()
            raise
        return self._held

    def held(self) -> bool:
        if not self._held or self._conn is None:
            return False
        try:
            self._conn.scalar(text("SELECT 1"))  # the session is alive, so its lock is held
        except Exception:
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._conn is not None and self._held:
            try:
                self._conn.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": self._lock_key()})
            except Exception:  # closing the session below releases it anyway
                pass
        self._drop()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _drop(self) -> None:
        self._held = False
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # already broken
                pass

    def describe(self) -> str:
        return f"PostgreSQL advisory lock {self._key if self._key is not None else '(not yet taken)'}"


class FileLock:
    """An exclusive ``flock`` on a file next to the SQLite database (see module doc)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def describe(self) -> str:
        return f"file lock {self.path}"


_process_locks: set[str] = set()
_process_locks_guard = threading.Lock()


class ProcessLock:
    """For an in-memory SQLite database: one active scheduler per process and URL."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._held = False

    def try_acquire(self) -> bool:
        with _process_locks_guard:
            if not self._held and self.name not in _process_locks:
                _process_locks.add(self.name)
                self._held = True
        return self._held

    def held(self) -> bool:
        return self._held

    def release(self) -> None:
        with _process_locks_guard:
            if self._held:
                _process_locks.discard(self.name)
                self._held = False

    def describe(self) -> str:
        return f"in-process lock for {self.name}"
