"""Two scheduler processes on one PostgreSQL database (each its own Database, Engine and Scheduler,
started with multiprocessing's spawn) over 200 due timers: each timer fires exactly once; killing
the active process (SIGKILL, no clean-up) lets the standby take over and fire the rest, including
timers added after the kill.

The processes use the system clock; the timers were due in 2022. Waits are for outcomes, with
generous limits; nothing is asserted about durations.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import PgSchema, deploy, postgres_url
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.history import verify_all
from workflow.store import Database, HistoryEvent, Timer
from workflow.users import Actor

pytestmark = pytest.mark.postgres

ADMIN = Actor("admin", frozenset({"admin"}))
FIRST, LATER = 200, 50


def run_scheduler(url: str, schema: str, report: Any) -> None:
    """A scheduler process: report (pid, active) whenever that changes; run until killed."""
    from workflow.scheduler import Scheduler

    os.environ["SHANYU_DATABASE_SCHEMA"] = schema
    scheduler = Scheduler(Database(url), Engine(), poll_interval=0.2, standby_interval=0.2)
    scheduler.start()
    reported = None
    while True:
        if scheduler.active != reported:
            reported = scheduler.active
            report.put((os.getpid(), reported))
        time.sleep(0.02)


def wait_until(condition: Callable[[], bool], what: str, limit: float = 45.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting until {what}")
        time.sleep(0.02)


def start_cases(db: Database, engine: Engine, clock: FakeClock, count: int) -> None:
    for i in range(count):
        due = clock.now() + timedelta(days=1, minutes=i)
        with db.write() as session:
            engine.start(session, "timers_wait", {"due": due.isoformat()}, actor=ADMIN, now=clock.now())


def fired_count(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Timer).where(Timer.state == "fired")) or 0)


def active_pid(report: Any, wanted: set[int], limit: float = 45.0) -> int:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            pid, active = report.get(timeout=0.5)
        except queue.Empty:
            continue
        if active and pid in wanted:
            return int(pid)
    pytest.fail(f"none of {sorted(wanted)} became the active scheduler")


def test_two_processes_fire_each_timer_once_and_the_standby_takes_over() -> None:
    schema = PgSchema(postgres_url() or "")
    db = schema.database()
    db.create_all()
    spawn = multiprocessing.get_context("spawn")
    report = spawn.Queue()
    processes = []
    try:
        engine, clock = Engine(), FakeClock("2022-01-04T09:00:00+08:00")
        deploy(engine, db, clock, "timers_wait.bpmn")
        start_cases(db, engine, clock, FIRST)

        processes = [
            spawn.Process(target=run_scheduler, args=(schema.url, schema.name, report), daemon=True)
            for _ in range(2)
        ]
        for process in processes:
            process.start()
        pids = {p.pid for p in processes if p.pid is not None}
        active = active_pid(report, pids)
        wait_until(lambda: fired_count(db) >= 20, "the active scheduler fired some timers")
        os.kill(active, signal.SIGKILL)
        start_cases(db, engine, clock, LATER)  # due already; only the standby can fire these

        survivor = active_pid(report, pids - {active})
        wait_until(lambda: fired_count(db) == FIRST + LATER, "every timer fired")
        assert [p.is_alive() for p in processes if p.pid == survivor] == [True]

        with db.read() as session:
            states = dict(session.execute(select(Timer.state, func.count()).group_by(Timer.state)).all())
            per_case = session.execute(
                select(HistoryEvent.instance_id, func.count())
                .where(HistoryEvent.type == "timer_fired")
                .group_by(HistoryEvent.instance_id)
            ).all()
            chains = list(verify_all(session))
        assert states == {"fired": FIRST + LATER}
        assert len(per_case) == FIRST + LATER and {count for _iid, count in per_case} == {1}
        assert all(chain.ok for chain in chains) and len(chains) == FIRST + LATER
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
            process.join(timeout=10)
        db.dispose()
        schema.drop()
