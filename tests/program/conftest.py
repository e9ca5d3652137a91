"""Fixtures for the programme's scenarios: the diagrams in ``bpmn/`` deployed, one user per role and
district, a fake clock, and ``Program``, a small driver that acts as the users would (claim and
complete, send messages, let time pass while firing due timers in order, like the scheduler).

Every scenario runs twice (``run``): reusing cached cases, and restoring every case from the
database before each command (the save/restore round trip).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.program.data import DISTRICTS
from workflow.clock import FakeClock, ensure_utc
from workflow.engine import Engine
from workflow.history import verify_all
from workflow.replay import replay
from workflow.specs import bundle_from_paths
from workflow.store import Database, HumanTask, Instance, Timer
from workflow.users import Actor, add_user

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
ROLES = {
    "district": "区有关部门",
    "leader": "区委区政府",
    "city": "市有关部门",
    "approver": "市级审批",
    "audit": "审核专家组",
}
DISTRICT_ROLES = ("district", "leader")


def make_engine() -> Engine:
    """The engine as production builds it: the working-day functions read the database's calendar
    and their results are recorded in history."""
    return Engine()


@pytest.fixture
def engine() -> Engine:
    return make_engine()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock("2021-12-10T09:00:00+08:00")


@pytest.fixture(params=["cached", "roundtrip"])
def run(request: pytest.FixtureRequest, db: Database, engine: Engine) -> Callable[..., Any]:
    """Run ``fn(session)`` in one write transaction; in round-trip mode drop every cached case first."""

    def call(fn: Callable[[Any], Any]) -> Any:
        if request.param == "roundtrip":
            engine.cases.forget()
        with db.write() as session:
            return fn(session)

    return call


@dataclass
class Program:
    db: Database
    engine: Engine
    clock: FakeClock
    run: Callable[..., Any]
    users: dict[str, Actor]

    # -- who ------------------------------------------------------------------------------------
    def actor(self, role: str, district: str | None = None) -> Actor:
        """The user of ``role`` (role key, see ``ROLES``); district roles need the district."""
        return self.users[f"{role}:{district or ''}" if role in DISTRICT_ROLES else f"{role}:"]

    # -- what is open ---------------------------------------------------------------------------
    def tasks(self, instance_id: int | None = None, bpmn_id: str | None = None) -> list[HumanTask]:
        query = select(HumanTask).where(HumanTask.state == "ready").order_by(HumanTask.id)
        if instance_id is not None:
            query = query.where(HumanTask.instance_id == instance_id)
        if bpmn_id is not None:
            query = query.where(HumanTask.bpmn_id == bpmn_id)
        with self.db.read() as session:
            return list(session.execute(query).scalars())

    def task(self, instance_id: int, bpmn_id: str) -> HumanTask:
        found = self.tasks(instance_id, bpmn_id)
        assert len(found) == 1, (
            f"expected one ready {bpmn_id} in case {instance_id}, found {self.tasks(instance_id)}"
        )
        return found[0]

    def cases(self, process_id: str) -> dict[str | None, int]:
        with self.db.read() as session:
            rows = session.execute(
                select(Instance.district, Instance.id)
                .where(Instance.process_id == process_id)
                .order_by(Instance.id)
            ).all()
        return {district: iid for district, iid in rows}

    def status(self, instance_id: int) -> str:
        with self.db.read() as session:
            inst = session.get(Instance, instance_id)
            assert inst is not None
            return inst.status

    # -- acting ---------------------------------------------------------------------------------
    def claim(self, task: HumanTask, who: Actor | None = None) -> Actor:
        actor = who or self.actor(_role_key(task.role), task.district)
        self.run(lambda s: self.engine.claim(s, task.id, actor=actor, now=self.clock.now()))
        return actor

    def complete(self, task: HumanTask, data: dict[str, Any], who: Actor | None = None) -> None:
        actor = self.claim(task, who)
        self.run(lambda s: self.engine.complete(s, task.id, data, actor=actor, now=self.clock.now()))

    def do(self, instance_id: int, bpmn_id: str, data: dict[str, Any]) -> None:
        self.complete(self.task(instance_id, bpmn_id), data)

    def start(self, process_id: str, data: dict[str, Any]) -> int:
        return int(
            self.run(
                lambda s: self.engine.start(
                    s, process_id, data, actor=self.actor("city"), now=self.clock.now()
                )
            )
        )

    def message(self, name: str, keys: dict[str, Any], data: dict[str, Any]) -> list[int]:
        return list(
            self.run(
                lambda s: self.engine.message(
                    s, name, keys, data, actor=self.actor("city"), now=self.clock.now()
                )
            )
        )

    def at(self, when: str) -> None:
        """Let time pass until ``when`` (Shanghai time if naive), firing every timer that falls due on the
        way at its due time (plus a second), earliest first, as the scheduler would."""
        target = ensure_utc(when)
        while True:
            with self.db.read() as session:
                due = session.execute(
                    select(Timer.instance_id, Timer.due_at)
                    .where(Timer.state == "waiting", Timer.due_at < target)
                    .order_by(Timer.due_at, Timer.id)
                    .limit(1)
                ).first()
            if due is None:
                break
            instance_id, due_at = due
            self.clock.set(max(self.clock.now(), due_at + timedelta(seconds=1)))
            fired = self.run(lambda s, i=instance_id: self.engine.fire_timers(s, i, now=self.clock.now()))
            assert fired, f"a due timer of case {instance_id} did not fire"
        self.clock.set(max(self.clock.now(), target))

    def now(self) -> datetime:
        return self.clock.now()

    # -- checking -------------------------------------------------------------------------------
    def assert_history_sound(self) -> int:
        """Every chain verifies and every case replays to its recorded states; returns the count."""
        fresh = make_engine()
        with self.db.read() as session:
            assert all(result.ok for result in verify_all(session)), [
                r.to_dict() for r in verify_all(session)
            ]
            ids = session.execute(select(Instance.id).order_by(Instance.id)).scalars().all()
            for iid in ids:
                result = replay(session, fresh, iid)
                assert result.ok, result.to_dict()["first_mismatch"]
        return len(ids)


def _role_key(role: str | None) -> str:
    return next(key for key, name in ROLES.items() if name == role)


@pytest.fixture
def program(db: Database, engine: Engine, clock: FakeClock, run: Callable[..., Any]) -> Iterator[Program]:
    users: dict[str, Actor] = {}
    with db.write() as session:
        for key in ("city", "approver", "audit"):
            users[f"{key}:"] = add_user(session, key, [ROLES[key]], now=clock.now())
        for code, *_rest in DISTRICTS:
            for key in ("district", "leader"):
                users[f"{key}:{code}"] = add_user(
                    session, f"{key}{code}", [ROLES[key]], district=code, now=clock.now()
                )
        admin = Actor("admin", frozenset({"admin"}))
        files = dict(bundle_from_paths([BPMN]).files)
        engine.deploy(session, files, actor=admin, now=clock.now())
    yield Program(db, engine, clock, run, users)


__all__ = ["Program", "make_engine"]
