"""``Program``: a small driver that acts as the programme's users would, through the engine's
commands — claim and complete tasks, send messages, and let time pass while firing the timers that
fall due on the way, earliest first, at their due time, as the scheduler would.

The demo (``web.demo``) plays the programme's history with it on a simulated clock and opens the
live cycle with it on the real one; the scenario tests in ``tests/program`` use the same driver,
once reusing cached cases and once restoring every case from the database before each command
(``roundtrip``, the save/restore round trip). Each command runs in its own write transaction, as
a request or a CLI call would. A step that finds the programme in an unexpected state raises
``DemoFailed`` (never a bare ``assert``: the demo runs with ``python -O`` too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from web.demo_data import DISTRICT_ROLES, ROLES, user_specs
from workflow import materials
from workflow.clock import Clock, FakeClock, ensure_utc
from workflow.engine import Engine
from workflow.errors import ShanyuError
from workflow.history import verify_all
from workflow.replay import replay
from workflow.store import Database, HumanTask, Instance, Timer, User
from workflow.users import Actor, add_user, load_actor

T = TypeVar("T")


class DemoFailed(ShanyuError):
    """The demo (or a scenario) found the programme in a state its script did not expect."""

    code = "demo_failed"
    http_status = 500


def demo_users(
    session: Session, *, now: datetime, password: str | None = None, create: bool = True
) -> tuple[dict[str, Actor], int]:
    """The demo users by key (see ``demo_data.user_specs``), created when missing (with ``password``)
    and left as they are when they exist; returns them and how many were created."""
    existing = set(session.execute(select(User.name)).scalars())
    users: dict[str, Actor] = {}
    created = 0
    for key, name, roles, district, display in user_specs():
        if name in existing:
            users[key] = load_actor(session, name)
        elif create:
            users[key] = add_user(
                session, name, roles, district=district, password=password, display_name=display, now=now
            )
            created += 1
    return users, created


@dataclass
class Program:
    db: Database
    engine: Engine
    clock: Clock
    users: dict[str, Actor]
    roundtrip: bool = False
    # called after every command that succeeded (the tests' state oracle checks the cases it changed)
    observer: Callable[[], None] | None = None
    commands: int = field(default=0, init=False)  # write transactions run, for the demo's report

    def run(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn(session)`` in one write transaction; in round-trip mode drop every cached case first."""
        if self.roundtrip:
            self.engine.cases.forget()
        self.commands += 1
        with self.db.write() as session:
            result = fn(session)
        if self.observer is not None:
            self.observer()
        return result

    # -- who ------------------------------------------------------------------------------------
    def actor(self, role: str, district: str | None = None) -> Actor:
        """The user of ``role`` (a key of ``ROLES``, or admin/auditor); district roles need the district."""
        key = f"{role}:{district or ''}" if role in DISTRICT_ROLES else f"{role}:"
        if key not in self.users:
            raise DemoFailed(f"There is no demo user {key!r}.")
        return self.users[key]

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
        if len(found) != 1:
            open_ = [t.bpmn_id for t in self.tasks(instance_id)]
            raise DemoFailed(f"Expected one ready {bpmn_id} in case {instance_id}; its open tasks: {open_}.")
        return found[0]

    def cases(self, process_id: str, *, after: int = 0) -> dict[str | None, int]:
        """The cases of ``process_id`` by district (instance ids above ``after`` only)."""
        with self.db.read() as session:
            rows = session.execute(
                select(Instance.district, Instance.id)
                .where(Instance.process_id == process_id, Instance.id > after)
                .order_by(Instance.id)
            ).all()
        return {district: iid for district, iid in rows}

    def status(self, instance_id: int) -> str:
        with self.db.read() as session:
            inst = session.get(Instance, instance_id)
            if inst is None:
                raise DemoFailed(f"There is no case {instance_id}.")
            return inst.status

    # -- acting ---------------------------------------------------------------------------------
    def claim(self, task: HumanTask, who: Actor | None = None) -> Actor:
        actor = who or self.actor(role_key(task.role), task.district)
        self.run(lambda s: self.engine.claim(s, task.id, actor=actor, now=self.clock.now()))
        return actor

    def complete(self, task: HumanTask, data: dict[str, Any], who: Actor | None = None) -> None:
        actor = self.claim(task, who)
        data = self.attach(task, data, actor)
        self.run(lambda s: self.engine.complete(s, task.id, data, actor=actor, now=self.clock.now()))

    def attach(self, task: HumanTask, data: dict[str, Any], who: Actor) -> dict[str, Any]:
        """The scripts name materials by placeholder ids (``m-5a5a5a5a5a``); in the task's upload
        fields each placeholder becomes a real material of the task's case, added by ``who`` in one
        transaction: a short text file that says it is demo material. Returns the data with the
        real ids; the same placeholder in the same case gets the same material."""
        if not task.form:
            return data
        with self.db.read() as session:
            version = session.execute(
                select(Instance.process_version_id).where(Instance.id == task.instance_id)
            ).scalar_one()
            schema = self.engine.cases.forms_for(session, version).get(task.form) or {}
        fields = [key for key in materials.upload_fields(schema) if data.get(key)]
        if not fields:
            return data

        def add_all(session: Session) -> dict[str, Any]:
            result = dict(data)
            for key in fields:
                value = data[key]
                ids = [
                    materials.add(session, task.instance_id, demo_material(task.instance_id, key, placeholder),
                                  f"{key}-{placeholder}.txt", who, self.clock.now())
                    for placeholder in ([value] if isinstance(value, str) else value)
                ]
                result[key] = ids[0] if isinstance(value, str) else ids
            return result

        return self.run(add_all)

    def do(self, instance_id: int, bpmn_id: str, data: dict[str, Any]) -> None:
        self.complete(self.task(instance_id, bpmn_id), data)

    def start(self, process_id: str, data: dict[str, Any]) -> int:
        return self.run(
            lambda s: self.engine.start(s, process_id, data, actor=self.actor("city"), now=self.clock.now())
        )

    def message(self, name: str, keys: dict[str, Any], data: dict[str, Any]) -> list[int]:
        return self.run(
            lambda s: self.engine.message(s, name, keys, data, actor=self.actor("city"), now=self.clock.now())
        )

    def at(self, when: str) -> None:
        """Let time pass until ``when`` (Shanghai time if naive), firing every timer that falls due on the
        way at its due time (plus a second), earliest first, as the scheduler would. Simulated clocks only."""
        clock = self.clock
        if not isinstance(clock, FakeClock):
            raise DemoFailed("Only a simulated clock (FakeClock) can be moved.")
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
            clock.set(max(clock.now(), due_at + timedelta(seconds=1)))

            def fire(session: Session, iid: int = instance_id) -> int:
                return self.engine.fire_timers(session, iid, now=clock.now())

            fired = self.run(fire)
            if not fired:
                raise DemoFailed(f"A due timer of case {instance_id} did not fire.")
        clock.set(max(clock.now(), target))

    def now(self) -> datetime:
        return self.clock.now()

    # -- checking -------------------------------------------------------------------------------
    def check_history(self) -> int:
        """Every chain verifies and every case replays to its recorded states; returns the count."""
        return check_history(self.db)


def check_history(db: Database) -> int:
    """Verify every case's hash chain and replay every case (with a fresh engine, so that nothing
    cached helps); raise ``DemoFailed`` naming the first fault. Returns the number of cases."""
    fresh = Engine()
    with db.read() as session:
        broken = [r.to_dict() for r in verify_all(session) if not r.ok]
        if broken:
            raise DemoFailed(f"History chains broken: {broken}")
        ids = session.execute(select(Instance.id).order_by(Instance.id)).scalars().all()
        for iid in ids:
            result = replay(session, fresh, iid)
            if not result.ok:
                raise DemoFailed(f"Case {iid} does not replay: {result.to_dict()['first_mismatch']}")
    return len(ids)


def demo_material(instance_id: int, field: str, placeholder: str) -> bytes:
    """The content of a demo material: plain text that says what it stands for."""
    return (f"演示材料（示例，非真实文件）demo material, not a real document\n"
            f"案件 case {instance_id}; 表单字段 form field {field}; 演示编号 demo reference {placeholder}\n").encode()


def role_key(role: str | None) -> str:
    """The key of ``ROLES`` whose role is ``role``."""
    for key, name in ROLES.items():
        if name == role:
            return key
    raise DemoFailed(f"No demo user holds the role {role!r}.")
