"""The inbox query returns exactly what ``Actor.may_work_on`` allows, and each of its branches is
answered from an index rather than a scan of every open task."""

from __future__ import annotations

from sqlalchemy import select, text

from tests.conftest import deploy
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.inbox import claimable_query, claimable_tasks
from workflow.store import Database, HumanTask
from workflow.users import Actor


def test_each_user_sees_what_they_may_work_on(db: Database, engine: Engine, clock: FakeClock,
                                              users: dict[str, Actor]) -> None:
    deploy(engine, db, clock, "engine_basic.bpmn")
    with db.write() as s:
        a = engine.start(s, "engine_basic", {"district": "310101"}, actor=users["huangpu"], now=clock.now())
        b = engine.start(s, "engine_basic", {"district": "310104"}, actor=users["xuhui"], now=clock.now())
        engine.start(s, "engine_basic", {"district": "310101"}, actor=users["huangpu"], now=clock.now())
    with db.read() as s:
        ids = {r.instance_id: r.id for r in s.execute(select(HumanTask.instance_id, HumanTask.id))}
        every = sorted(ids.values())
    with db.write() as s:
        engine.claim(s, ids[a], actor=users["huangpu2"], now=clock.now())
    with db.read() as s:
        def seen(name: str) -> list[int]:
            return [t.id for t in claimable_tasks(s, users[name])]

        assert seen("huangpu") == [t for t in every if t not in (ids[a], ids[b])]
        assert seen("huangpu2") == [t for t in every if t != ids[b]]  # own claim + unclaimed of 310101
        assert seen("xuhui") == [ids[b]]
        assert seen("city") == []  # no task in the municipal lane is open yet
        unclaimed = [t for t in every if t != ids[a]]
        assert seen("admin") == unclaimed  # anything open, but not what someone else claimed
        assert seen("auditor") == []
        assert [t.id for t in claimable_tasks(s, users["admin"], limit=1)] == unclaimed[:1]


def test_branches_use_the_indexes(db: Database, users: dict[str, Actor]) -> None:
    if not db.is_sqlite:
        return  # PostgreSQL plans by statistics; the bench measures it (bench/inbox_scaling.py)
    for name in ("huangpu", "city"):
        statement = claimable_query(users[name]).compile(db.engine, compile_kwargs={"literal_binds": True})
        with db.engine.connect() as conn:
            plan = " | ".join(str(row[-1]) for row in conn.execute(text(f"EXPLAIN QUERY PLAN {statement}")))
        assert "SCAN human_task" not in plan, plan
        assert "ix_human_task_inbox" in plan and "ix_human_task_claimed" in plan, plan
