"""``typename`` is the key SpiffWorkflow's serializer marks stored dates and ids with; a dict of the
case's own data with that key would come back from the database as something else, or make the
case impossible to load. Such data is refused with where it is, from users and from scripts, and
nothing is saved; the same word as a value, or inside a string, is ordinary data."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import deploy
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.errors import InvalidData
from workflow.history import list_events
from workflow.store import Database, HumanTask
from workflow.users import Actor


def ready_task(db: Database, instance_id: int) -> HumanTask:
    with db.read() as session:
        return session.execute(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                       HumanTask.state == "ready")).scalar_one()


def start(engine: Engine, db: Database, clock: FakeClock, actor: Actor, data: dict[str, Any]) -> int:
    with db.write() as session:
        return engine.start(session, "state_reserved", {"district": "310101", **data}, actor=actor, now=clock.now())


def claimed_task(engine: Engine, db: Database, clock: FakeClock, actor: Actor, *, tag: bool) -> tuple[int, HumanTask]:
    """A new case of the fixture, its first task claimed by ``actor``; with ``tag`` its script
    writes a dict keyed ``typename`` once that task is completed."""
    deploy(engine, db, clock, "state_reserved.bpmn")
    iid = start(engine, db, clock, actor, {"label": "甲", "tag": tag})
    ht = ready_task(db, iid)
    with db.write() as session:
        engine.claim(session, ht.id, actor=actor, now=clock.now())
    return iid, ht


@pytest.mark.parametrize(("data", "where"), [
    ({"note": {"typename": "datetime", "value": "not a date"}}, "note.typename"),
    ({"rows": [{"a": 1}, {"b": {"typename": "UUID"}}]}, "rows[1].b.typename"),
    ({"typename": "x"}, "typename"),
])
def test_submitted_data_with_the_tag_key_is_refused(db: Database, engine: Engine, clock: FakeClock,
                                                    users: dict[str, Actor], data: dict[str, Any],
                                                    where: str) -> None:
    huangpu = users["huangpu"]
    iid, ht = claimed_task(engine, db, clock, huangpu, tag=False)
    with pytest.raises(InvalidData, match="Task data cannot hold a field named 'typename' " + re.escape(f"(at {where})")):
        with db.write() as session:
            engine.complete(session, ht.id, data, actor=huangpu, now=clock.now())
    with pytest.raises(InvalidData, match="Start data cannot hold a field named 'typename'"):
        start(engine, db, clock, huangpu, data)

    # nothing was saved: the task is still ready and claimed, and the case loads from its rows
    engine.cases.forget()
    assert ready_task(db, iid).claimed_by == "huangpu"
    with db.write() as session:
        engine.complete(session, ht.id, {"comment": "typename", "quoted": '"typename": 1'}, actor=huangpu,
                        now=clock.now())
    with db.read() as session:
        assert [e.type for e in list_events(session, iid)][-1] == "task_completed"


def test_a_script_that_writes_the_tag_key_fails_the_command_and_saves_nothing(
        db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor]) -> None:
    huangpu = users["huangpu"]
    iid, ht = claimed_task(engine, db, clock, huangpu, tag=True)
    with pytest.raises(InvalidData, match=r"cannot hold a field named 'typename' \(at summary.typename\)"):
        with db.write() as session:
            engine.complete(session, ht.id, {"comment": "ok"}, actor=huangpu, now=clock.now())
    assert ready_task(db, iid).state == "ready"
    with db.read() as session:
        assert [e.type for e in list_events(session, iid)] == ["instance_started", "task_claimed"]
