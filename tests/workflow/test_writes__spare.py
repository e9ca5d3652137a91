"""The spare write connection (``workflow.writes.Spare``, SQLite): a committed transaction's
connection is kept for the next write transaction instead of going back to the pool. It must never
be in two transactions at once (the web server runs 8 threads), never keep a failed transaction's
connection, never let a session outlive its block, and go back to the pool on ``dispose``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from tests.conftest import deploy
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.fastsql import DRIVER, Prepared
from workflow.history import verify_all
from workflow.store import Database, HumanTask, PendingMessage, table_of
from workflow.users import Actor
from workflow.writes import TransactionEnded

PENDING = table_of(PendingMessage)
_INSERT = Prepared(insert(PENDING).values(
    message_name=bindparam("name"), keys="{}", payload="{}", sent_at=bindparam("at"), sent_by="test"))
AT = datetime(2026, 12, 3, 22, 30, tzinfo=UTC)
THREADS = 8  # waitress's default


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'spare.db'}")
    database.create_all()
    yield database
    database.dispose()


def driver_of(session: Session) -> Any:
    return session.info[DRIVER][1]


def count(db: Database) -> int:
    with db.read() as session:
        return int(session.execute(select(func.count()).select_from(PendingMessage)).scalar_one())


def test_a_committed_connection_is_the_next_transactions(sqlite_db: Database) -> None:
    with sqlite_db.write() as session:
        _INSERT.run(session, {"name": "a", "at": AT})
        first = driver_of(session)
    assert sqlite_db.idle_connections() == 1
    assert not first.in_transaction  # committed before it was kept
    with sqlite_db.write() as session:
        assert driver_of(session) is first
        assert sqlite_db.idle_connections() == 0  # taken: no one else can have it now
        _INSERT.run(session, {"name": "b", "at": AT})
    assert count(sqlite_db) == 2
    assert sqlite_db.engine.pool.checkedout() == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("use_orm", [False, True])
def test_a_failed_transaction_gives_its_connection_back_to_the_pool(sqlite_db: Database, use_orm: bool) -> None:
    with pytest.raises(RuntimeError, match="boom"), sqlite_db.write() as session:
        _INSERT.run(session, {"name": "lost", "at": AT})
        if use_orm:
            session.execute(select(PendingMessage.id)).all()
        raise RuntimeError("boom")
    assert sqlite_db.idle_connections() == 0
    assert sqlite_db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert count(sqlite_db) == 0


def test_a_transaction_the_orm_joined_is_not_kept(sqlite_db: Database) -> None:
    with sqlite_db.write() as session:
        session.execute(select(PendingMessage.id)).all()
    assert sqlite_db.idle_connections() == 0
    assert sqlite_db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_session_cannot_outlive_its_block(sqlite_db: Database) -> None:
    """The kept connection serves the next transaction, so a session held past its block must
    not reach it: neither through the ORM nor through driver statements."""
    with sqlite_db.write() as session:
        _INSERT.run(session, {"name": "a", "at": AT})
    with pytest.raises(TransactionEnded):
        session.execute(select(PendingMessage.id))
    with pytest.raises(TransactionEnded):
        _INSERT.run(session, {"name": "late", "at": AT})
    assert count(sqlite_db) == 1


def test_dispose_gives_the_spare_back(sqlite_db: Database) -> None:
    with sqlite_db.write() as session:
        _INSERT.run(session, {"name": "a", "at": AT})
    pool = sqlite_db.engine.pool
    assert sqlite_db.idle_connections() == 1
    sqlite_db.dispose()
    assert sqlite_db.idle_connections() == 0
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


def test_no_spare_on_postgresql_or_without_a_queue_pool(tmp_path: Path) -> None:
    memory = Database("sqlite://")  # one connection per thread (SingletonThreadPool): nothing to share
    try:
        memory.create_all()
        with memory.write() as session:
            _INSERT.run(session, {"name": "a", "at": AT})
        assert memory.idle_connections() == 0
    finally:
        memory.dispose()


class InUse:
    """Which driver connections are inside a ``with db.write()`` block right now."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.busy: set[int] = set()
        self.clashes = 0
        self.seen: set[int] = set()

    @contextmanager
    def write(self, db: Database) -> Iterator[Session]:
        with db.write() as session:
            key = id(driver_of(session))
            with self.lock:
                if key in self.busy:
                    self.clashes += 1
                self.busy.add(key)
                self.seen.add(key)
            try:
                yield session
            finally:
                with self.lock:
                    self.busy.discard(key)


def test_eight_threads_never_share_a_connection(sqlite_db: Database, tmp_path: Path) -> None:
    """Eight threads run whole cases (start, claim, release, claim, complete) and failing
    transactions through one ``Database``: no connection is ever in two blocks at once, every
    command lands, every chain verifies, and afterwards only the spare is checked out."""
    db = sqlite_db
    engine = Engine()
    clock = FakeClock("2022-01-04T09:00:00+08:00")
    worker = Actor("huangpu", frozenset({"区有关部门"}), district="310101")
    deploy(engine, db, clock, "engine_basic.bpmn")
    in_use = InUse()
    failures: list[BaseException] = []
    started: list[int] = []
    cases_per_thread = 6
    barrier = threading.Barrier(THREADS)

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            for round_ in range(cases_per_thread):
                now = clock.now()
                with in_use.write(db) as session:
                    iid = engine.start(session, "engine_basic", {"district": "310101"}, actor=worker, now=now)
                with db.read() as session:
                    hid = session.execute(select(HumanTask.id).where(HumanTask.instance_id == iid)).scalar_one()
                for command in (engine.claim, engine.release, engine.claim):
                    with in_use.write(db) as session:
                        command(session, hid, actor=worker, now=now)
                if round_ % 2:
                    with pytest.raises(RuntimeError), in_use.write(db) as session:
                        _INSERT.run(session, {"name": f"lost-{index}", "at": AT})
                        raise RuntimeError("a failing command")
                with in_use.write(db) as session:
                    engine.complete(session, hid, {"ok": True}, actor=worker, now=now)
                with in_use.write(db) as session:
                    _INSERT.run(session, {"name": f"kept-{index}-{round_}", "at": AT})
                started.append(iid)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert in_use.clashes == 0
    assert len(in_use.seen) > 1  # the threads did overlap: some took a connection from the pool
    assert len(started) == THREADS * cases_per_thread
    with db.read() as session:
        results = list(verify_all(session))
        done = session.execute(select(func.count()).select_from(HumanTask)
                               .where(HumanTask.state == "completed", HumanTask.completed_by == "huangpu")).scalar_one()
    assert len(results) == len(started) and all(r.ok for r in results)
    assert done == len(started)
    assert count(db) == len(started)  # the failing transactions left nothing
    assert db.idle_connections() <= 1
    assert db.engine.pool.checkedout() == db.idle_connections()  # type: ignore[attr-defined]
