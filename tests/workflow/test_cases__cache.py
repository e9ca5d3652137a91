"""The cache of loaded cases is bounded by a number of cases and by a number of tasks across them;
the least recently used go first, the case just saved always stays, and an evicted case is loaded
from the database again without the caller noticing."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import deploy
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.store import Database, HumanTask
from workflow.users import Actor


def start(engine: Engine, db: Database, clock: FakeClock, actor: Actor) -> int:
    with db.write() as session:
        return engine.start(session, "engine_basic", {"district": "310101", "score": 80}, actor=actor,
                            now=clock.now())


def tasks_of(engine: Engine, instance_id: int) -> int:
    return len(engine.cases._cache[instance_id].loaded.saved)


def test_the_task_budget_evicts_least_recently_used_cases(db: Database, clock: FakeClock,
                                                         users: dict[str, Actor]) -> None:
    probe = Engine()
    deploy(probe, db, clock, "engine_basic.bpmn")
    first = start(probe, db, clock, users["huangpu"])
    per_case = tasks_of(probe, first)
    assert per_case > 1

    engine = Engine(cache_size=100, cache_tasks=3 * per_case)
    ids = [start(engine, db, clock, users["huangpu"]) for _ in range(5)]
    assert list(engine.cases._cache) == ids[2:]  # three fit; the two oldest went
    assert engine.cases.cached() == (3, 3 * per_case)

    # a claim changes no workflow state and loads nothing
    with db.read() as session:
        ht = session.execute(select(HumanTask).where(HumanTask.instance_id == ids[0])).scalar_one()
    with db.write() as session:
        engine.claim(session, ht.id, actor=users["huangpu"], now=clock.now())
    assert list(engine.cases._cache) == ids[2:]
    # completing a task of an older case loads it (it was evicted) and makes it the most recent
    with db.write() as session:
        engine.complete(session, ht.id, {}, actor=users["huangpu"], now=clock.now())
    assert list(engine.cases._cache) == [ids[3], ids[4], ids[0]]
    assert engine.cases.cached()[1] == 3 * per_case


def test_the_case_count_bounds_too(db: Database, clock: FakeClock, users: dict[str, Actor]) -> None:
    engine = Engine(cache_size=2, cache_tasks=10_000)
    deploy(engine, db, clock, "engine_basic.bpmn")
    ids = [start(engine, db, clock, users["huangpu"]) for _ in range(4)]
    assert list(engine.cases._cache) == ids[2:]
    engine.cases.forget(ids[3])
    assert engine.cases.cached() == (1, tasks_of(engine, ids[2]))
    engine.cases.forget()
    assert engine.cases.cached() == (0, 0)


def test_a_case_larger_than_the_budget_stays_while_it_is_the_last_one(db: Database, clock: FakeClock,
                                                                      users: dict[str, Actor]) -> None:
    engine = Engine(cache_tasks=1)
    deploy(engine, db, clock, "engine_basic.bpmn")
    first = start(engine, db, clock, users["huangpu"])
    assert list(engine.cases._cache) == [first]
    second = start(engine, db, clock, users["huangpu"])
    assert list(engine.cases._cache) == [second]
