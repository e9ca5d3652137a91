"""The scheduler runs real APScheduler jobs with short intervals; business time is a fake clock.
Tests wait for outcomes (with a generous limit), never for durations.

One scheduler per database is active (a file lock next to the SQLite file, an advisory lock on
PostgreSQL); a second one stands by and takes over once the first stops. The first sweep after
downtime fires everything that fell due; ``nudge`` brings the next sweep forward.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from tests.conftest import deploy
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.scheduler import Scheduler
from workflow.scheduler_lock import AdvisoryLock, FileLock, ProcessLock, lock_for
from workflow.store import Database, HistoryEvent, Timer
from workflow.users import Actor

ADMIN = Actor("admin", frozenset({"admin"}))
BASE = FakeClock("2022-03-01T09:00:00+08:00").now()
FAST = {"poll_interval": 0.05, "standby_interval": 0.05}


def wait_until(condition: Callable[[], bool], what: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting until {what}")
        time.sleep(0.01)


def fired(db: Database) -> list[int]:
    """Cases with a fired timer, in the order their timer_fired events were recorded."""
    with db.read() as session:
        return list(
            session.execute(
                select(HistoryEvent.instance_id)
                .where(HistoryEvent.type == "timer_fired")
                .order_by(HistoryEvent.id)
            ).scalars()
        )


def start_waiting(db: Database, engine: Engine, clock: FakeClock, due: datetime) -> int:
    with db.write() as session:
        return engine.start(session, "timers_wait", {"due": due.isoformat()}, actor=ADMIN, now=clock.now())


@pytest.fixture
def schedulers() -> Iterator[list[Scheduler]]:
    made: list[Scheduler] = []
    yield made
    for scheduler in made:
        scheduler.shutdown()


def test_lock_kind_follows_the_database(db: Database) -> None:
    lock = lock_for(db)
    if db.is_sqlite:
        assert isinstance(lock, FileLock) and lock.path.name == "shanyu.db.scheduler.lock"
    else:
        assert isinstance(lock, AdvisoryLock)
    assert isinstance(lock_for(Database("sqlite://")), ProcessLock)


def test_one_scheduler_sweeps_the_other_stands_by_then_takes_over(
    db: Database, clock: FakeClock, schedulers: list[Scheduler]
) -> None:
    engine = Engine()
    deploy(engine, db, clock, "timers_wait.bpmn")
    ids = {hours: start_waiting(db, engine, clock, BASE + timedelta(hours=hours)) for hours in (3, 1, 2, 5)}
    clock.set(BASE + timedelta(hours=2, minutes=30))  # the scheduler was down while 1h and 2h fell due

    first = Scheduler(db, Engine(), clock=clock, **FAST)
    schedulers.append(first)
    first.start()
    wait_until(lambda: first.sweeps >= 1, "the first scheduler swept")
    assert first.active and fired(db) == [ids[1], ids[2]]  # the catch-up, in due order

    second = Scheduler(db, Engine(), clock=clock, **FAST)
    schedulers.append(second)
    second.start()
    wait_until(lambda: second.runs >= 3, "the second scheduler asked for the lock three times")
    assert not second.active and second.sweeps == 0 and first.active

    clock.set(BASE + timedelta(hours=3, minutes=30))
    wait_until(lambda: len(fired(db)) == 3, "the 3h timer fired")
    first.shutdown()  # releases the lock
    assert not first.active
    wait_until(lambda: second.active, "the standby took over")
    clock.set(BASE + timedelta(hours=6))
    wait_until(lambda: len(fired(db)) == 4, "the 5h timer fired")
    assert fired(db) == [ids[1], ids[2], ids[3], ids[5]]
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Timer).where(Timer.state == "waiting")) == 0


def test_nudge_brings_the_next_sweep_forward(
    db: Database, clock: FakeClock, schedulers: list[Scheduler]
) -> None:
    engine = Engine()
    deploy(engine, db, clock, "timers_wait.bpmn")
    scheduler = Scheduler(db, engine, clock=clock, poll_interval=3600, standby_interval=3600)
    schedulers.append(scheduler)
    scheduler.start()
    wait_until(lambda: scheduler.sweeps >= 1, "the first sweep ran")
    iid = start_waiting(db, engine, clock, clock.now() + timedelta(hours=1))  # a command made a timer
    clock.advance(hours=2)
    scheduler.nudge(clock.now() + timedelta(days=1))  # later than planned: changes nothing
    scheduler.nudge()  # now
    wait_until(lambda: fired(db) == [iid], "the nudged sweep fired the new timer")
    # only a nudge could sweep again within the hour-long poll interval (the counter moves just
    # after the sweep's commit, so wait for it rather than read it once)
    wait_until(lambda: scheduler.sweeps >= 2, "the nudged sweep finished")


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_scheduler_whose_lock_session_dies_stops_sweeping_until_it_holds_the_lock_again(
    db: Database, clock: FakeClock, schedulers: list[Scheduler], caplog: pytest.LogCaptureFixture
) -> None:
    scheduler = Scheduler(db, Engine(), clock=clock, **FAST)
    schedulers.append(scheduler)
    scheduler.start()
    wait_until(lambda: scheduler.active, "the scheduler is active")
    lock = scheduler.lock
    assert isinstance(lock, AdvisoryLock) and lock.held()
    with db.engine.connect() as conn:  # e.g. the server restarted or a network cut ended the session
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'shanyu-scheduler' AND pid IN "
                "(SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
                "objid = :objid AND classid = :classid)"
            ),
            {"objid": scheduler_key(lock) & 0xFFFFFFFF, "classid": (scheduler_key(lock) >> 32) & 0xFFFFFFFF},
        )
        conn.commit()
    wait_until(lambda: "lost the scheduler lock" in caplog.text, "the scheduler noticed")
    wait_until(
        lambda: scheduler.active and lock.held(), "the scheduler holds the lock again (nobody else had it)"
    )


def scheduler_key(lock: AdvisoryLock) -> int:
    key = lock._lock_key()
    return key + (1 << 64) if key < 0 else key


def test_the_active_scheduler_anchors_the_chain_heads_once_a_day(
    db: Database, clock: FakeClock, schedulers: list[Scheduler], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workflow.anchors import DAILY, check_anchor, read_anchor
    from workflow.store import Anchor

    monkeypatch.setenv("SHANYU_ANCHOR_KEY", str(tmp_path / "anchor.pem"))
    monkeypatch.setenv("SHANYU_ANCHOR_DIR", str(tmp_path / "anchors"))
    engine = Engine()
    deploy(engine, db, clock, "timers_wait.bpmn")
    start_waiting(db, engine, clock, BASE + timedelta(days=30))

    def anchors() -> int:
        with db.read() as session:
            return int(session.execute(select(func.count()).select_from(Anchor)).scalar_one())

    scheduler = Scheduler(db, engine, clock=clock, anchor_every=DAILY, **FAST)
    schedulers.append(scheduler)
    scheduler.start()
    wait_until(lambda: anchors() == 1, "the first anchor is written")
    runs = scheduler.runs
    wait_until(lambda: scheduler.runs > runs + 3, "a few more sweeps")
    assert anchors() == 1  # not again within the day
    clock.set(clock.now() + timedelta(days=1, minutes=1))
    wait_until(lambda: anchors() == 2, "the next day's anchor")
    files = sorted((tmp_path / "anchors").glob("anchor-*.json"))
    assert len(files) == 2
    with db.read() as session:
        assert check_anchor(session, read_anchor(files[-1].read_text())).ok
