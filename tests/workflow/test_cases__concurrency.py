"""A case changed behind the engine's back between reading and writing is detected, never
silently overwritten; a cached case is reused only while its state token matches the database."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from tests.conftest import deploy
from workflow import errors
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.history import list_events, verify_instance
from workflow.store import Database, HumanTask
from workflow.users import Actor


def started(db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor]) -> tuple[int, int]:
    deploy(engine, db, clock, "engine_basic.bpmn")
    with db.write() as s:
        iid = engine.start(s, "engine_basic", {"district": "310101"}, actor=users["huangpu"], now=clock.now())
    with db.read() as s:
        tid = s.execute(select(HumanTask.id).where(HumanTask.instance_id == iid)).scalar_one()
    return iid, tid


def test_a_version_bump_between_read_and_write_is_refused(db: Database, engine: Engine, clock: FakeClock,
                                                          users: dict[str, Actor],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    iid, tid = started(db, engine, clock, users)
    with db.write() as s:
        engine.claim(s, tid, actor=users["huangpu"], now=clock.now())

    original = engine.cases.lock_for_task

    def lock_then_interfere(session, task_id):  # type: ignore[no-untyped-def]
        row, case = original(session, task_id)
        session.execute(text("UPDATE instance SET lock_version = lock_version + 1 WHERE id = :i"), {"i": iid})
        return row, case

    monkeypatch.setattr(engine.cases, "lock_for_task", lock_then_interfere)
    with pytest.raises(errors.ConcurrentModification, match="Nothing was saved"), db.write() as s:
        engine.complete(s, tid, {"x": 1}, actor=users["huangpu"], now=clock.now())
    monkeypatch.undo()

    with db.read() as s:
        assert [e.type for e in list_events(s, iid)] == ["instance_started", "task_claimed"]
        assert verify_instance(s, iid).ok
    with db.write() as s:  # the failed attempt left no half-changed case in the cache
        engine.complete(s, tid, {"x": 2}, actor=users["huangpu"], now=clock.now())
    with db.read() as s:
        assert list_events(s, iid)[-1].payload["data"] == {"x": 2}


def test_a_second_engine_sees_changes_made_by_the_first(db: Database, clock: FakeClock,
                                                         users: dict[str, Actor]) -> None:
    """Two processes (two engines with their own caches) on one database never act on stale state."""
    first, second = Engine(), Engine()
    iid, tid = started(db, first, clock, users)
    with db.write() as s:
        second.claim(s, tid, actor=users["huangpu"], now=clock.now())  # second caches the case
    with db.write() as s:
        first.complete(s, tid, {"by": "first"}, actor=users["huangpu"], now=clock.now())
    with pytest.raises(errors.TaskNotReady), db.write() as s:
        second.complete(s, tid, {"by": "second"}, actor=users["huangpu"], now=clock.now())
    clock.advance(hours=2)
    with db.write() as s:
        assert second.fire_timers(s, iid, now=clock.now()) == 1  # second reloaded the newer state
    with db.read() as s:
        assert [e.type for e in list_events(s, iid)][-2:] == ["task_completed", "timer_fired"]
        assert verify_instance(s, iid).ok
