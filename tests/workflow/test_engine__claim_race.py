"""Two claimers race for one task: exactly one wins, the other gets TaskAlreadyClaimed — 200 times
in a row, with two threads sharing one engine and with two separate processes."""

from __future__ import annotations

import multiprocessing as mp
import threading
from typing import Any

from sqlalchemy import select

from tests.conftest import deploy
from workflow import errors
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.history import verify_instance
from workflow.store import Database, HumanTask
from workflow.users import Actor

ROUNDS = 200


def open_tasks(db: Database, engine: Engine, clock: FakeClock, actor: Actor, n: int) -> list[int]:
    deploy(engine, db, clock, "engine_basic.bpmn")
    with db.write() as session:
        ids = [
            engine.start(session, "engine_basic", {"district": "310101"}, actor=actor, now=clock.now())
            for _ in range(n)
        ]
    with db.read() as session:
        return list(
            session.execute(
                select(HumanTask.id).where(HumanTask.instance_id.in_(ids)).order_by(HumanTask.id)
            ).scalars()
        )


def claim_outcome(db: Database, engine: Engine, task_id: int, actor: Actor, now: Any) -> str:
    try:
        with db.write() as session:
            engine.claim(session, task_id, actor=actor, now=now)
        return "won"
    except errors.TaskAlreadyClaimed:
        return "lost"


def check_rounds(db: Database, task_ids: list[int], outcomes: dict[int, list[tuple[str, str]]]) -> None:
    with db.read() as session:
        for task_id in task_ids:
            results = outcomes[task_id]
            assert sorted(r for _, r in results) == ["lost", "won"], (task_id, results)
            winner = next(who for who, r in results if r == "won")
            ht = session.get(HumanTask, task_id)
            assert ht is not None and ht.claimed_by == winner
            assert verify_instance(session, ht.instance_id).ok


def test_two_threads_claiming_one_task(
    db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor]
) -> None:
    task_ids = open_tasks(db, engine, clock, users["huangpu"], ROUNDS)
    outcomes: dict[int, list[tuple[str, str]]] = {t: [] for t in task_ids}
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def worker(actor: Actor) -> None:
        try:
            for task_id in task_ids:
                barrier.wait(timeout=60)
                outcomes[task_id].append((actor.name, claim_outcome(db, engine, task_id, actor, clock.now())))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(users[name],)) for name in ("huangpu", "huangpu2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    check_rounds(db, task_ids, outcomes)


def _process_worker(
    url: str, schema: str | None, name: str, task_ids: list[int], barrier: Any, queue: Any
) -> None:
    import os

    if schema:
        os.environ["SHANYU_DATABASE_SCHEMA"] = schema
    database = Database(url)
    engine = Engine()
    from workflow.users import load_actor

    with database.read() as session:
        actor = load_actor(session, name)
    clock = FakeClock()
    for task_id in task_ids:
        barrier.wait(timeout=60)
        queue.put((task_id, name, claim_outcome(database, engine, task_id, actor, clock.now())))


def test_two_processes_claiming_one_task(
    db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor]
) -> None:
    task_ids = open_tasks(db, engine, clock, users["huangpu"], ROUNDS)
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    queue = ctx.Queue()
    schema = None if db.is_sqlite else _schema_of(db)
    procs = [
        ctx.Process(
            target=_process_worker,
            args=(
                db.engine.url.render_as_string(hide_password=False),
                schema,
                name,
                task_ids,
                barrier,
                queue,
            ),
        )
        for name in ("huangpu", "huangpu2")
    ]
    for p in procs:
        p.start()
    outcomes: dict[int, list[tuple[str, str]]] = {t: [] for t in task_ids}
    for _ in range(2 * ROUNDS):
        task_id, name, result = queue.get(timeout=120)
        outcomes[task_id].append((name, result))
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    check_rounds(db, task_ids, outcomes)


def _schema_of(db: Database) -> str:
    with db.engine.connect() as conn:
        return str(conn.exec_driver_sql("SELECT current_schema()").scalar())
