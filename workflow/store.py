"""Persistence: SQLAlchemy models and the ``Database`` that hands out transactions.

The edge (CLI, web view, scheduler job) owns the transaction::

    with db.write() as session:
        engine.complete_task(session, ...)

``write()`` takes the database's write lock up front (``BEGIN IMMEDIATE`` on SQLite, row locks
``SELECT … FOR UPDATE`` on PostgreSQL, taken by the engine), so that two writers never interleave
on one case. ``read()`` is a plain read transaction that never blocks writers.

Time columns hold UTC instants; ``UTCDateTime`` makes them timezone-aware on every backend.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    false,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import QueuePool
from sqlalchemy.types import TypeDecorator

from .errors import DatabaseNotReady
from .writes import Spare, write_transaction

DEFAULT_SQLITE_PATH = Path("instance") / "shanyu.db"


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)

    @staticmethod
    def fast_bind(dialect_name: str) -> Any:
        """The bind processor for statements run on the driver (``workflow.fastsql``): the same
        value SQLAlchemy would send (SQLite: its DATETIME text with microseconds; PostgreSQL: the
        naive UTC datetime), several times faster than the generic processor chain. One command
        binds its ``now`` to several columns, so the processor remembers its last answer (one
        processor per dialect, shared by every statement; datetimes are immutable)."""
        return _FAST_BINDS[dialect_name == "sqlite"]


def _fast_bind(sqlite: bool) -> Any:
    last: list[tuple[datetime | None, Any]] = [(None, None)]  # replaced whole: a thread reads either pair

    def process(value: datetime) -> Any:
        seen, answer = last[0]
        if seen is value:
            return answer
        zone = value.tzinfo
        if zone is None:
            raise ValueError("naive datetime given to a UTC column")
        if sqlite:
            # an instant in UTC prints its offset as "+00:00": cut it instead of replacing the zone
            answer = (value.isoformat(" ", "microseconds")[:-6] if zone is UTC
                      else value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds"))
        else:
            answer = value.astimezone(UTC).replace(tzinfo=None)
        last[0] = (value, answer)
        return answer

    return process


_FAST_BINDS = {True: _fast_bind(True), False: _fast_bind(False)}


class Base(DeclarativeBase):
    pass


class Bundle(Base):
    """A deployed set of BPMN/DMN files, stored once, keyed by the hash of their content."""

    __tablename__ = "bundle"
    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    files: Mapped[str] = mapped_column(Text)  # JSON: [[name, xml text], ...]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProcessVersion(Base):
    __tablename__ = "process_version"
    __table_args__ = (
        UniqueConstraint("process_id", "version", name="uq_process_version_number"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300), default="")
    bundle_hash: Mapped[str] = mapped_column(ForeignKey("bundle.content_hash"))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deployed_by: Mapped[str] = mapped_column(String(100))


class Instance(Base):
    """One case. ``lock_version`` counts every change (optimistic locking); ``state_token`` changes
    whenever the workflow state is written and validates in-process caches of loaded cases."""

    __tablename__ = "instance"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # running | completed | cancelled
    district: Mapped[str | None] = mapped_column(String(20), index=True)
    # the creation cycle of the start data's ``cycle_id``, if any (the inbox filters by it)
    cycle_id: Mapped[str | None] = mapped_column(String(100), index=True)
    started_by: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    state_token: Mapped[str] = mapped_column(String(32))
    meta: Mapped[str] = mapped_column(Text)  # JSON: workflow-level fields, see workflow.state
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    head_hash: Mapped[str] = mapped_column(String(64), default="")
    # the state digest recorded by the newest event: what a claim or a release records again
    state_digest: Mapped[str] = mapped_column(String(64), default="")
    # how the case merges task data (workflow.adapters.spiff): "copy", or "library" for cases
    # started before migration 0015, which keep SpiffWorkflow's own merge so that they replay
    data_merge: Mapped[str] = mapped_column(String(10), server_default="library")


class TaskRow(Base):
    """One SpiffWorkflow task of one case; a step rewrites only the rows of tasks it changed."""

    __tablename__ = "task_row"
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    body: Mapped[str] = mapped_column(Text)  # JSON without the data, see workflow.state
    data_hash: Mapped[str] = mapped_column(ForeignKey("data_blob.hash"))


class DataBlob(Base):
    """Task data, content-addressed: identical data across tasks and cases is stored once."""

    __tablename__ = "data_blob"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    body: Mapped[str] = mapped_column(Text)


class HumanTask(Base):
    """The inbox projection: one row per user task that is or was ready."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_inbox", "state", "role", "district"),
        # partial: only claimed rows, so a planner never walks it for "claimed_by IS NULL"
        Index("ix_human_task_claimed", "claimed_by", "state", sqlite_where=text("claimed_by IS NOT NULL"),
              postgresql_where=text("claimed_by IS NOT NULL")),
        # the tasks a user completed (the inbox's third tab); only completed rows have completed_by
        Index("ix_human_task_completed", "completed_by", "state", sqlite_where=text("completed_by IS NOT NULL"),
              postgresql_where=text("completed_by IS NOT NULL")),
        # the inbox sorted by due date, read in index order (workflow.inbox._by_due)
        Index("ix_human_task_due", "state", "due_at"),
        # one row per SpiffWorkflow task; the case's rows lie together, so a case's commands touch one page
        UniqueConstraint("instance_id", "task_id", name="uq_human_task_task"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    task_id: Mapped[str] = mapped_column(String(36))
    process_id: Mapped[str] = mapped_column(String(200))
    bpmn_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(200))
    district: Mapped[str | None] = mapped_column(String(20))
    form: Mapped[str | None] = mapped_column(String(300))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(20))  # ready | completed | cancelled
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(100))


class Timer(Base):
    __tablename__ = "timer"
    __table_args__ = (Index("ix_timer_due", "state", "due_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36), unique=True)
    bpmn_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300), default="")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(20))  # waiting | fired | cancelled
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TimerFailure(Base):
    """Why a case's due timers could not fire (``workflow.timers.sweep``): kept, with how many sweeps
    in a row failed, until they fire."""

    __tablename__ = "timer_failure"
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    code: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)


class MessageSubscription(Base):
    """A task waiting for a message; ``keys`` holds the correlation values it answers to."""

    __tablename__ = "message_subscription"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36), unique=True)
    message_name: Mapped[str] = mapped_column(String(200), index=True)
    keys: Mapped[str] = mapped_column(Text)  # canonical JSON object


class PendingMessage(Base):
    """A message thrown or sent while nobody waited for it; delivered when a matching wait appears."""

    __tablename__ = "pending_message"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_name: Mapped[str] = mapped_column(String(200), index=True)
    keys: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_by: Mapped[str] = mapped_column(String(100))
    source_instance_id: Mapped[int | None] = mapped_column(Integer)
    delivered_to: Mapped[int | None] = mapped_column(Integer)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HistoryEvent(Base):
    """Append-only, hash-chained per instance. Nothing updates or deletes a row."""

    __tablename__ = "history_event"
    __table_args__ = (UniqueConstraint("instance_id", "seq", name="uq_history_event_seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(50))
    at: Mapped[str] = mapped_column(String(40))  # ISO UTC, exactly as hashed
    actor: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON, exactly as hashed
    state_digest: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class User(Base):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    district: Mapped[str | None] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    email: Mapped[str | None] = mapped_column(String(254))  # where notifications are mailed, if anywhere


class SystemEvent(Base):
    """The journal of changes outside any case (``workflow.journal``): append-only, hash-chained."""

    __tablename__ = "system_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    type: Mapped[str] = mapped_column(String(50))
    at: Mapped[str] = mapped_column(String(40))  # ISO UTC, exactly as hashed
    actor: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON, exactly as hashed
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Anchor(Base):
    """A signed statement (Ed25519) of every case's chain head at one moment (``workflow.anchors``)."""

    __tablename__ = "anchor"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    statement: Mapped[str] = mapped_column(Text)  # canonical JSON, exactly as signed
    signature: Mapped[str] = mapped_column(String(128))  # hex
    public_key: Mapped[str] = mapped_column(String(64))  # hex, raw Ed25519
    case_count: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(100))


class TaskDraft(Base):
    """Form data the holder of a task saved without completing it: unvalidated, outside the case's
    state and history, visible only to that user, deleted when the task is completed."""

    __tablename__ = "task_draft"
    human_task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id"), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    data: Mapped[str] = mapped_column(Text)  # JSON object
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UserRole(Base):
    __tablename__ = "user_role"
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(200), primary_key=True)


class LaneRole(Base):
    """Admin mapping from a BPMN lane name to the role whose members may claim its tasks."""

    __tablename__ = "lane_role"
    lane: Mapped[str] = mapped_column(String(200), primary_key=True)
    role: Mapped[str] = mapped_column(String(200))


class CalendarDay(Base):
    """An official announcement entry overriding the built-in PRC calendar for one day."""

    __tablename__ = "calendar_day"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(300), default="")


class CalendarYear(Base):
    """A year whose complete official schedule was imported, so that it counts as known."""

    __tablename__ = "calendar_year"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(300), default="")
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)


def table_of(model: type[Base]) -> Table:
    """The Core table of a model, for hot-path statements that skip the ORM."""
    return cast(Table, model.__table__)


def database_url(explicit: str | None = None) -> str:
    """``explicit``, else ``SHANYU_DATABASE_URL``, else a SQLite file under ./instance/."""
    url = explicit or os.environ.get("SHANYU_DATABASE_URL")
    if url:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return url
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


SQLITE_SYNCHRONOUS = ("NORMAL", "FULL", "EXTRA")


def sqlite_synchronous(explicit: str | None = None) -> str:
    """``explicit``, else ``SHANYU_SQLITE_SYNCHRONOUS``, else NORMAL.

    In WAL mode NORMAL never corrupts the database, and a commit survives the process crashing;
    only a power loss or an operating-system crash may take back the last commits. FULL also
    syncs the log on every commit, so that a commit survives power loss too; it costs about a
    quarter of the throughput (docs/performance.md). PostgreSQL, the multi-node store, commits
    durably.
    """
    value = (explicit or os.environ.get("SHANYU_SQLITE_SYNCHRONOUS") or "NORMAL").strip().upper()
    if value not in SQLITE_SYNCHRONOUS:
        raise DatabaseNotReady(f"SHANYU_SQLITE_SYNCHRONOUS must be one of {', '.join(SQLITE_SYNCHRONOUS)}, "
                               f"not {value!r}.")
    return value


class Database:
    """One engine plus session factory. ``write()`` and ``read()`` are the only ways in (``ping()``
    reads nothing)."""

    def __init__(self, url: str | None = None, *, echo: bool = False, synchronous: str | None = None) -> None:
        """``synchronous``: SQLite's commit durability, see ``sqlite_synchronous``."""
        self.url = database_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            self.synchronous = sqlite_synchronous(synchronous)
            self._prepare_sqlite_path()
            self.engine: Engine = create_engine(self.url, echo=echo)
            _configure_sqlite(self.engine, self.synchronous)
        else:
            schema = os.environ.get("SHANYU_DATABASE_SCHEMA")
            kwargs: dict[str, Any] = {"pool_pre_ping": True}
            if schema:
                kwargs["connect_args"] = {"options": f"-csearch_path={schema}"}
            self.engine = create_engine(self.url, echo=echo, **kwargs)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._writer = self.engine.execution_options(shanyu_write=True)  # same pool; begins IMMEDIATE
        # SQLite: one committed write connection kept for the next write (workflow.writes); only
        # with a pool whose connections any thread may use (a file database's QueuePool)
        self._spare: Spare | None = None
        if self.is_sqlite and isinstance(self.engine.pool, QueuePool):
            self._spare = Spare()
            weakref.finalize(self, self._spare.close)  # a Database dropped undisposed gives it back

    def _prepare_sqlite_path(self) -> None:
        path = self.url.split("///", 1)[1] if "///" in self.url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)

    def write(self) -> AbstractContextManager[Session]:
        """A write transaction; commits on success, rolls back on any exception. See
        ``workflow.writes``: the session joins the transaction only if the ORM is used."""
        return write_transaction(self._writer, "BEGIN IMMEDIATE" if self.is_sqlite else None, self._spare)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (rolled back at the end)."""
        with self._sessions() as session:
            yield session  # closing the session ends the transaction; loaded objects stay readable

    def ping(self) -> None:
        """One statement on a pooled connection, on the driver (``/healthz``): raises if the
        database does not answer. An ORM session for it cost more than the rest of the request."""
        pooled = self.engine.raw_connection()
        try:
            cursor = pooled.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchall()
            cursor.close()
        finally:
            pooled.close()

    def create_all(self) -> None:
        """Create the schema directly (tests); ``shanyu init`` runs the Alembic migrations instead."""
        Base.metadata.create_all(self.engine)

    def idle_connections(self) -> int:
        """Connections checked out of the pool but in no transaction: the spare (0 or 1)."""
        return 0 if self._spare is None else self._spare.held()

    def dispose(self) -> None:
        if self._spare is not None:
            self._spare.close()
        self.engine.dispose()


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    """WAL, a generous busy timeout, foreign keys, and BEGIN IMMEDIATE for writers.

    pysqlite's own transaction handling starts transactions lazily (deferred), which lets two
    writers both read and then fail to upgrade their lock. We turn it off and issue BEGIN ourselves.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA synchronous={synchronous}")  # one of SQLITE_SYNCHRONOUS
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # straight to the driver: this runs once per transaction, on the hot path
        driver = conn.connection.driver_connection
        assert driver is not None
        if driver.in_transaction:  # a write transaction, begun on the driver (workflow.writes)
            return
        driver.execute("BEGIN IMMEDIATE" if conn.get_execution_options().get("shanyu_write") else "BEGIN")
