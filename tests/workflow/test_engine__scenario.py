"""A small case runs start to end through the engine commands: user task → timer → user task →
message catch. Every scenario runs twice: once reusing cached cases, once restoring every case
from the database before each command (the save/restore round trip)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import deploy
from workflow import errors
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.history import list_events, verify_instance
from workflow.store import Database, HumanTask, Instance, MessageSubscription, Timer
from workflow.users import Actor


@pytest.fixture(params=["cached", "roundtrip"])
def run(request: pytest.FixtureRequest, db: Database, engine: Engine) -> Callable[..., Any]:
    """Run ``fn(session)`` in one write transaction; in round-trip mode drop every cached case first."""

    def call(fn: Callable[[Any], Any]) -> Any:
        if request.param == "roundtrip":
            engine.cases.forget()
        with db.write() as session:
            return fn(session)

    return call


def ready_tasks(db: Database, instance_id: int) -> list[HumanTask]:
    with db.read() as session:
        return list(
            session.execute(
                select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.state == "ready")
            ).scalars()
        )


def test_case_runs_start_to_end(
    db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor], run: Callable[..., Any]
) -> None:
    deploy(engine, db, clock, "engine_basic.bpmn")
    huangpu, city = users["huangpu"], users["city"]
    iid = run(
        lambda s: engine.start(
            s, "engine_basic", {"district": "310101", "score": 91}, actor=huangpu, now=clock.now()
        )
    )

    [submit] = ready_tasks(db, iid)
    assert (submit.bpmn_id, submit.name, submit.lane, submit.role, submit.district) == (
        "Task_submit",
        "提交申报",
        "区有关部门",
        "区有关部门",
        "310101",
    )

    run(lambda s: engine.claim(s, submit.id, actor=huangpu, now=clock.now()))
    clock.advance(minutes=5)
    run(
        lambda s: engine.complete(s, submit.id, {"materials": ["m-1", "m-2"]}, actor=huangpu, now=clock.now())
    )

    assert ready_tasks(db, iid) == []
    with db.read() as session:
        [timer] = session.execute(select(Timer).where(Timer.instance_id == iid)).scalars()
    assert timer.state == "waiting"
    assert timer.due_at == clock.now() + timedelta(hours=1)

    clock.advance(minutes=30)
    assert run(lambda s: engine.fire_timers(s, iid, now=clock.now())) == 0  # not yet due
    clock.advance(minutes=31)
    assert run(lambda s: engine.fire_timers(s, iid, now=clock.now())) == 1
    assert run(lambda s: engine.fire_timers(s, iid, now=clock.now())) == 0  # idempotent

    [review] = ready_tasks(db, iid)
    assert (review.bpmn_id, review.role, review.district) == ("Task_review", "市有关部门", "310101")
    run(lambda s: engine.claim(s, review.id, actor=city, now=clock.now()))
    run(lambda s: engine.complete(s, review.id, {"opinion": "同意"}, actor=city, now=clock.now()))

    with db.read() as session:
        [sub] = session.execute(
            select(MessageSubscription).where(MessageSubscription.instance_id == iid)
        ).scalars()
    assert sub.message_name == "audit_result"
    assert sub.keys == '{"district":"310101"}'

    with pytest.raises(errors.MessageNotDelivered):
        run(
            lambda s: engine.message(
                s, "audit_result", {"district": "310104"}, {"result": "pass"}, actor=city, now=clock.now()
            )
        )
    reached = run(
        lambda s: engine.message(
            s, "audit_result", {"district": "310101"}, {"result": "pass"}, actor=city, now=clock.now()
        )
    )
    assert reached == [iid]

    with db.read() as session:
        inst = session.get(Instance, iid)
        assert inst is not None and inst.status == "completed"
        events = list_events(session, iid)
        assert [e.type for e in events] == [
            "instance_started",
            "task_claimed",
            "task_completed",
            "timer_fired",
            "task_claimed",
            "task_completed",
            "message_delivered",
        ]
        assert events[2].payload["data"] == {"materials": ["m-1", "m-2"]}
        assert events[3].payload["timers"][0]["bpmn_id"] == "Timer_wait"
        assert events[-1].payload["keys"] == {"district": "310101"}
        assert verify_instance(session, iid).ok
    assert not ready_tasks(db, iid)


def _digests_of_one_run(db: Database, clock: FakeClock, users: dict[str, Actor], mode: str) -> list[str]:
    engine = Engine()
    start = clock.now()

    def step(fn: Callable[[Any], Any]) -> Any:
        if mode == "roundtrip":
            engine.cases.forget()
        with db.write() as session:
            return fn(session)

    iid = step(lambda s: engine.start(s, "engine_basic", {"district": "310101"}, actor=users["huangpu"], now=start))
    [t] = ready_tasks(db, iid)
    step(lambda s: engine.claim(s, t.id, actor=users["huangpu"], now=start))
    step(lambda s: engine.complete(s, t.id, {"x": 1}, actor=users["huangpu"], now=start))
    step(lambda s: engine.fire_timers(s, iid, now=start + timedelta(hours=2)))
    with db.read() as session:
        return [e.state_digest for e in list_events(session, iid)]


def test_roundtrip_and_cached_runs_record_identical_digests(db: Database, clock: FakeClock,
                                                          users: dict[str, Actor]) -> None:
    """The state digest does not depend on whether a case was cached or restored, nor on task UUIDs."""
    deploy(Engine(), db, clock, "engine_basic.bpmn")
    cached = _digests_of_one_run(db, clock, users, "cached")
    restored = _digests_of_one_run(db, clock, users, "roundtrip")
    assert cached == restored
    assert len(set(cached)) == 3  # claim leaves the state as it was


def test_user_errors_change_nothing(
    db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor], run: Callable[..., Any]
) -> None:
    deploy(engine, db, clock, "engine_basic.bpmn")
    iid = run(
        lambda s: engine.start(
            s, "engine_basic", {"district": "310101"}, actor=users["huangpu"], now=clock.now()
        )
    )
    [t] = ready_tasks(db, iid)

    with pytest.raises(errors.TaskNotClaimed, match="must be claimed"):
        run(lambda s: engine.complete(s, t.id, {}, actor=users["huangpu"], now=clock.now()))
    with pytest.raises(errors.PermissionDenied, match="district 310101"):
        run(lambda s: engine.claim(s, t.id, actor=users["xuhui"], now=clock.now()))
    with pytest.raises(errors.PermissionDenied, match="role"):
        run(lambda s: engine.claim(s, t.id, actor=users["city"], now=clock.now()))
    with pytest.raises(errors.PermissionDenied, match="auditor"):
        run(lambda s: engine.claim(s, t.id, actor=users["auditor"], now=clock.now()))
    run(lambda s: engine.claim(s, t.id, actor=users["huangpu"], now=clock.now()))
    with pytest.raises(errors.InvalidData, match="JSON object"):
        run(
            lambda s: engine.complete(
                s, t.id, ["not", "an", "object"], actor=users["huangpu"], now=clock.now()
            )
        )
    with pytest.raises(errors.InvalidData, match="__class__"):
        run(lambda s: engine.complete(s, t.id, {"__class__": 1}, actor=users["huangpu"], now=clock.now()))
    with pytest.raises(errors.NotFound, match="Task 9999"):
        run(lambda s: engine.claim(s, 9999, actor=users["huangpu"], now=clock.now()))
    with pytest.raises(errors.NotFound, match="No process 'nope'"):
        run(lambda s: engine.start(s, "nope", {}, actor=users["huangpu"], now=clock.now()))
    with pytest.raises(errors.PermissionDenied, match="district 310104"):
        run(
            lambda s: engine.start(
                s, "engine_basic", {"district": "310104"}, actor=users["huangpu"], now=clock.now()
            )
        )

    with db.read() as session:
        events = list_events(session, iid)
        assert [e.type for e in events] == ["instance_started", "task_claimed"]
        assert verify_instance(session, iid).ok
    # the task is still there and still completes
    run(lambda s: engine.complete(s, t.id, {"ok": True}, actor=users["huangpu"], now=clock.now()))
    with pytest.raises(errors.TaskNotReady):
        run(lambda s: engine.complete(s, t.id, {}, actor=users["huangpu"], now=clock.now()))


def test_messages_thrown_by_a_case_reach_the_waiting_case(
    db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor], run: Callable[..., Any]
) -> None:
    deploy(engine, db, clock, "engine_basic.bpmn")
    deploy(engine, db, clock, "engine_sender.bpmn")
    hp, city = users["huangpu"], users["city"]
    waiting = {}
    for district, actor in (("310101", hp), ("310104", users["xuhui"])):
        iid = run(
            lambda s, d=district, a=actor: engine.start(
                s, "engine_basic", {"district": d}, actor=a, now=clock.now()
            )
        )
        for _ in range(2):
            [t] = ready_tasks(db, iid)
            who = actor if t.bpmn_id == "Task_submit" else city
            run(lambda s, t=t, w=who: engine.claim(s, t.id, actor=w, now=clock.now()))
            run(lambda s, t=t, w=who: engine.complete(s, t.id, {}, actor=w, now=clock.now()))
            clock.advance(hours=2)
            run(lambda s, i=iid: engine.fire_timers(s, i, now=clock.now()))
        waiting[district] = iid

    sender = run(
        lambda s: engine.start(
            s, "engine_sender", {"district": "310104", "score": 85}, actor=city, now=clock.now()
        )
    )
    with db.read() as session:
        statuses = {d: session.get(Instance, i).status for d, i in waiting.items()}  # type: ignore[union-attr]
        assert statuses == {"310101": "running", "310104": "completed"}
        assert session.get(Instance, sender).status == "completed"  # type: ignore[union-attr]
        [delivered] = [e for e in list_events(session, waiting["310104"]) if e.type == "message_delivered"]
        assert delivered.payload["from_instance"] == sender
        assert delivered.payload["data"] == {"district": "310104", "result": "pass"}
        assert list_events(session, sender)[0].payload["messages_sent"] == [
            {"message": "audit_result", "keys": {"district": "310104"}}
        ]


def test_message_sent_before_anyone_waits_is_kept_until_a_case_waits(
    db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor], run: Callable[..., Any]
) -> None:
    deploy(
        engine,
        db,
        clock,
        "engine_basic.bpmn",
    )
    deploy(engine, db, clock, "engine_sender.bpmn")
    city, hp = users["city"], users["huangpu"]
    run(
        lambda s: engine.start(
            s, "engine_sender", {"district": "310101", "score": 10}, actor=city, now=clock.now()
        )
    )
    iid = run(lambda s: engine.start(s, "engine_basic", {"district": "310101"}, actor=hp, now=clock.now()))
    for who in (hp, city):
        [t] = ready_tasks(db, iid)
        run(lambda s, t=t, w=who: engine.claim(s, t.id, actor=w, now=clock.now()))
        run(lambda s, t=t, w=who: engine.complete(s, t.id, {}, actor=w, now=clock.now()))
        clock.advance(hours=2)
        run(lambda s: engine.fire_timers(s, iid, now=clock.now()))
    with db.read() as session:
        assert session.get(Instance, iid).status == "completed"  # type: ignore[union-attr]
        [delivered] = [e for e in list_events(session, iid) if e.type == "message_delivered"]
        assert delivered.payload["data"]["result"] == "fail"
