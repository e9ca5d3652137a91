"""A case whose timer leads into work over its budget never holds up the others (issue 10, "No hangs").

``hostile_timer`` waits for its timer, then doubles a list ``levels`` times by sharing its parts: with
21 levels it is small in memory but would be over 250,000 values written out. The sandbox
refuses it within its budget; the sweep logs the case, skips it and fires the next one on time; the
refused case stays due and the scheduler tries it again later, less and less often. Real APScheduler
jobs with short intervals, business time on a fake clock; tests wait for outcomes, never durations.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import deploy
from tests.workflow.test_scheduler__standby import FAST, fired, wait_until
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.history import verify_instance
from workflow.scheduler import Scheduler
from workflow.store import Database, HistoryEvent, Timer
from workflow.timers import RESOLUTION, sweep
from workflow.users import Actor

ADMIN = Actor("admin", frozenset({"admin"}))
BASE = FakeClock("2022-03-01T09:00:00+08:00").now()
OVER_BUDGET = 21  # levels: 2**21 leaves, more than task data may hold once written out


def start(db: Database, engine: Engine, clock: FakeClock, due: datetime, levels: int) -> int:
    with db.write() as session:
        return engine.start(session, "hostile_timer", {"due": due.isoformat(), "levels": levels},
                            actor=ADMIN, now=clock.now())


def timer_state(db: Database, instance_id: int) -> tuple[str, datetime | None]:
    with db.read() as session:
        state, fired_at = session.execute(
            select(Timer.state, Timer.fired_at).where(Timer.instance_id == instance_id)).one()
    return state, fired_at


@pytest.fixture
def scheduler(db: Database, clock: FakeClock) -> Iterator[Scheduler]:
    engine = Engine()
    deploy(engine, db, clock, "hostile_timer.bpmn")
    made = Scheduler(db, engine, clock=clock, **FAST)
    yield made
    made.shutdown()


def test_a_case_over_its_budget_is_skipped_and_the_next_fires_on_time(
    db: Database, clock: FakeClock, scheduler: Scheduler, caplog: pytest.LogCaptureFixture
) -> None:
    clock.set(BASE)
    heavy = start(db, scheduler.engine, clock, BASE + timedelta(hours=1), OVER_BUDGET)
    light = start(db, scheduler.engine, clock, BASE + timedelta(hours=2), 3)
    clock.set(BASE + timedelta(hours=2))  # both due; the heavy one first
    results: list[Any] = []  # every sweep's result, in order (last_result moves on with each sweep)
    update = scheduler.backoff.update
    scheduler.backoff.update = lambda result: (results.append(result), update(result))[1]  # type: ignore[method-assign]
    scheduler.start()
    wait_until(lambda: fired(db) == [light], "the second case's timer fired")
    wait_until(lambda: bool(results), "the first sweep's result is recorded")  # the rows commit before it

    assert timer_state(db, light) == ("fired", BASE + timedelta(hours=2) + RESOLUTION)  # on time
    assert timer_state(db, heavy) == ("waiting", None)  # stays due, nothing of it was saved
    result = results[0]
    [failure] = result.failed
    assert (failure.instance_id, failure.error) == (heavy, "unsafe_expression")
    assert "250,000 values" in failure.message and "翻倍" in failure.message
    assert f"case {heavy}: its due timers could not fire" in caplog.text
    with db.read() as session:
        assert verify_instance(session, heavy).ok and verify_instance(session, light).ok
        [payload] = session.execute(select(HistoryEvent.payload).where(
            HistoryEvent.instance_id == light, HistoryEvent.type == "timer_fired")).scalars()
    assert json.loads(payload)["fired_at"] == (BASE + timedelta(hours=2) + RESOLUTION).isoformat()

    # Tried again at the next sweep, then only after a growing wait (business time).
    wait_until(lambda: scheduler.backoff.failing.get(heavy, (0,))[0] >= 2, "the heavy case was tried again")
    sweeps = scheduler.sweeps
    wait_until(lambda: scheduler.sweeps >= sweeps + 3, "three more sweeps ran")
    assert scheduler.backoff.failing[heavy][0] == 2  # the clock stood still: not tried again
    assert scheduler.last_result is not None and scheduler.last_result.deferred == [heavy]
    clock.advance(hours=1)
    wait_until(lambda: scheduler.backoff.failing[heavy][0] == 3, "the heavy case was tried once the wait passed")
    assert timer_state(db, heavy) == ("waiting", None)


def test_timers_fire_reports_the_case_over_its_budget_and_fires_the_others(
    db: Database, clock: FakeClock
) -> None:
    engine = Engine()
    deploy(engine, db, clock, "hostile_timer.bpmn")
    heavy = start(db, engine, clock, clock.now() + timedelta(minutes=1), OVER_BUDGET)
    light = start(db, engine, clock, clock.now() + timedelta(minutes=2), 0)
    clock.advance(hours=1)
    result = sweep(db, engine, clock.now())
    assert result.cases == [light] and [f.instance_id for f in result.failed] == [heavy]
    again = sweep(db, Engine(), clock.now())  # a fresh process tries it again; it still fails, alone
    assert again.cases == [] and [f.instance_id for f in again.failed] == [heavy]
    assert timer_state(db, heavy) == ("waiting", None)
