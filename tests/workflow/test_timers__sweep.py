"""``sweep``: after downtime every timer that fell due fires exactly once, earliest first, with its due
and firing times in history; a broken case is skipped and reported; a timer due exactly at ``now``
fires deterministically; a case fired by someone else fires nothing and is reported as such."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text

from tests.conftest import deploy
from workflow import timers
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.history import list_events, verify_instance
from workflow.replay import replay
from workflow.store import Database, HistoryEvent, HumanTask, Timer, TimerFailure
from workflow.timers import sweep
from workflow.users import Actor

ADMIN = Actor("admin", frozenset({"admin"}))
BASE = FakeClock("2022-03-01T09:00:00+08:00").now()
OFFSETS_H = [5, 1, 4, 2, 6, 3]  # due hours after BASE, in the order the cases are started


def start_waiting(engine: Engine, db: Database, clock: FakeClock, due: datetime) -> int:
    with db.write() as session:
        return engine.start(session, "timers_wait", {"due": due.isoformat()}, actor=ADMIN, now=clock.now())


@pytest.fixture
def cases(db: Database, clock: FakeClock) -> dict[int, datetime]:
    """Six cases waiting for timers due 1 to 6 hours after BASE, started out of due order."""
    engine = Engine()
    deploy(engine, db, clock, "timers_wait.bpmn")
    started = {}
    for hours in OFFSETS_H:
        due = BASE + timedelta(hours=hours)
        started[start_waiting(engine, db, clock, due)] = due
    return started


def fired_events(db: Database) -> list[tuple[int, dict[str, object]]]:
    with db.read() as session:
        rows = session.execute(
            select(HistoryEvent.instance_id, HistoryEvent.payload)
            .where(HistoryEvent.type == "timer_fired")
            .order_by(HistoryEvent.id)
        ).all()
    return [(iid, json.loads(payload)) for iid, payload in rows]


def test_after_downtime_every_due_timer_fires_once_in_due_order(
    db: Database, clock: FakeClock, cases: dict[int, datetime]
) -> None:
    # "Stopped": nothing sweeps while the clock moves past every due time.
    clock.set(BASE + timedelta(days=2))
    restarted = Engine()  # a new process: nothing cached
    result = sweep(db, restarted, clock.now())

    in_due_order = sorted(cases, key=cases.__getitem__)
    assert result.cases == in_due_order and result.count == len(cases)
    assert [t.due_at for t in result.fired] == sorted(cases.values())
    assert all(t.fired_at == clock.now() for t in result.fired)
    assert (result.failed, result.already_fired, result.next_due) == ([], [], None)

    events = fired_events(db)
    assert [iid for iid, _payload in events] == in_due_order  # recorded in due order
    for iid, payload in events:
        [timer] = payload["timers"]  # type: ignore[misc]
        assert datetime.fromisoformat(timer["due"]) == cases[iid]
        assert timer["bpmn_id"] == "Timer_due"
        assert datetime.fromisoformat(payload["fired_at"]) == clock.now()  # type: ignore[arg-type]
    with db.read() as session:
        timers_now = session.execute(select(Timer.instance_id, Timer.state, Timer.fired_at)).all()
        assert {(iid, state, at) for iid, state, at in timers_now} == {
            (i, "fired", clock.now()) for i in cases
        }
        assert session.execute(
            select(HumanTask.instance_id).where(HumanTask.state == "ready")
        ).scalars().all() and all(verify_instance(session, iid).ok for iid in cases)
        assert all(replay(session, Engine(), iid).ok for iid in cases)

    again = sweep(db, Engine(), clock.now() + timedelta(minutes=1))
    assert (again.count, again.failed, again.already_fired) == (0, [], [])
    assert len(fired_events(db)) == len(cases)


def test_only_due_timers_fire_and_the_next_due_time_is_reported(
    db: Database, clock: FakeClock, cases: dict[int, datetime]
) -> None:
    now = BASE + timedelta(hours=3, minutes=30)
    result = sweep(db, Engine(), now)
    assert [t.due_at for t in result.fired] == [BASE + timedelta(hours=h) for h in (1, 2, 3)]
    assert result.next_due == BASE + timedelta(hours=4)
    assert sweep(db, Engine(), now).count == 0


def test_a_broken_case_is_skipped_and_reported_while_the_others_fire(
    db: Database, clock: FakeClock, cases: dict[int, datetime], caplog: pytest.LogCaptureFixture
) -> None:
    broken = sorted(cases, key=cases.__getitem__)[2]
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE task_row SET body = :b WHERE instance_id = :i"), {"b": "{not json", "i": broken}
        )
    clock.set(BASE + timedelta(days=1))
    result = sweep(db, Engine(), clock.now())
    assert sorted(result.cases) == sorted(set(cases) - {broken})
    [failure] = result.failed
    # the load-time check finds the stored rows altered before anything tries to run the case
    assert failure.instance_id == broken and failure.error == "state_altered"
    assert f"case {broken}: its due timers could not fire" in caplog.text
    with db.read() as session:
        state = session.execute(select(Timer.state).where(Timer.instance_id == broken)).scalar_one()
    assert state == "waiting"  # stays due: the next sweep tries again
    assert result.next_due is None  # which the next-due time does not count: no busy loop on it
    assert failures(db, broken) == (1, clock.now(), clock.now(), "state_altered")  # kept for operators
    clock.advance(minutes=5)
    assert sweep(db, Engine(), clock.now()).failed[0].instance_id == broken
    assert failures(db, broken) == (2, BASE + timedelta(days=1), clock.now(), "state_altered")


def failures(db: Database, instance_id: int) -> tuple[int, datetime, datetime, str] | None:
    with db.read() as session:
        row = session.get(TimerFailure, instance_id)
        return None if row is None else (row.failures, row.first_at, row.last_at, row.code)


def test_a_recorded_failure_goes_once_the_timers_fire(db: Database, clock: FakeClock,
                                                      cases: dict[int, datetime]) -> None:
    broken = min(cases, key=cases.__getitem__)
    with db.engine.begin() as conn:
        kept = conn.execute(text("SELECT task_id, body FROM task_row WHERE instance_id = :i"), {"i": broken}).all()
        conn.execute(text("UPDATE task_row SET body = :b WHERE instance_id = :i"), {"b": "{not json", "i": broken})
    clock.set(BASE + timedelta(days=1))
    sweep(db, Engine(), clock.now())
    with db.read() as session:
        row = session.get(TimerFailure, broken)
        assert row is not None and "no longer rebuild a case" in row.message
    with db.engine.begin() as conn:  # the damage is repaired
        for task_id, body in kept:
            conn.execute(text("UPDATE task_row SET body = :b WHERE instance_id = :i AND task_id = :t"),
                         {"b": body, "i": broken, "t": task_id})
    clock.advance(minutes=5)
    assert broken in sweep(db, Engine(), clock.now()).cases
    assert failures(db, broken) is None


def test_a_timer_due_exactly_now_fires_a_microsecond_later(db: Database, clock: FakeClock) -> None:
    engine = Engine()
    deploy(engine, db, clock, "timers_wait.bpmn")
    due = BASE + timedelta(hours=1)
    iid = start_waiting(engine, db, clock, due)
    with db.write() as session:  # SpiffWorkflow (and the engine) fire strictly after the due instant
        assert engine.fire_timers(session, iid, now=due) == 0
    result = sweep(db, engine, due)
    assert [(t.instance_id, t.due_at, t.fired_at) for t in result.fired] == [
        (iid, due, due + timedelta(microseconds=1))
    ]
    with db.read() as session:
        [_started, fired] = list_events(session, iid)
        assert fired.at == (due + timedelta(microseconds=1)).isoformat()
        assert replay(session, Engine(), iid).ok


def test_a_case_fired_by_someone_else_fires_nothing_and_says_so(
    db: Database,
    clock: FakeClock,
    cases: dict[int, datetime],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock.set(BASE + timedelta(days=1))
    with db.read() as session:
        stale = timers.due_cases(session, clock.now())  # what a second sweeper read a moment ago
    first = sweep(db, Engine(), clock.now())
    assert first.count == len(cases)
    monkeypatch.setattr(timers, "due_cases", lambda _session, _now: stale)
    caplog.set_level("INFO", logger="shanyu.timers")
    late = sweep(db, Engine(), clock.now() + timedelta(seconds=1))
    assert (late.count, late.failed) == (0, [])
    assert late.already_fired == [iid for iid, _first, _last in stale]
    assert "already fired by another sweep" in caplog.text
    assert len(fired_events(db)) == len(cases)


def test_a_sweep_stops_between_cases_when_asked(
    db: Database, clock: FakeClock, cases: dict[int, datetime]
) -> None:
    asked = iter([False, False, True])
    result = sweep(db, Engine(), BASE + timedelta(days=1), stop=lambda: next(asked))
    assert result.count == 2
    assert sweep(db, Engine(), BASE + timedelta(days=1)).count == len(cases) - 2
