"""Who may do what (issue 10): start needs the lane of the start event, a case without a district is
municipal, deploy needs the process owner, messages go only into the sender's district, a user
task outside every lane is refused at deploy, ``user add`` knows the roles and districts, and
concurrent deploys of one process get consecutive versions."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import BPMN, deploy
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.errors import InvalidData, InvalidSpec, PermissionDenied
from workflow.inbox import claimable_tasks
from workflow.store import Database, HistoryEvent, HumanTask, Instance, ProcessVersion
from workflow.users import PROCESS_OWNER, Actor, add_user, check_user, map_lane

REPO_BPMN = Path(__file__).resolve().parents[2] / "bpmn"


def open_tasks(db: Database, iid: int) -> list[HumanTask]:
    with db.read() as s:
        return list(s.execute(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.state == "ready"))
                    .scalars())


def to_audit(engine: Engine, db: Database, clock: FakeClock, users: dict[str, Actor], district: str | None,
             starter: Actor) -> int:
    """Start engine_basic and take it to its wait for ``audit_result``."""
    data = {"district": district}  # None: a municipal case that still correlates by district (null)
    with db.write() as s:
        iid = engine.start(s, "engine_basic", data, actor=starter, now=clock.now())
    for _ in range(2):
        [t] = open_tasks(db, iid)
        who = users["city"] if t.bpmn_id == "Task_review" else starter
        with db.write() as s:
            engine.claim(s, t.id, actor=who, now=clock.now())
            engine.complete(s, t.id, {}, actor=who, now=clock.now())
        clock.advance(hours=2)
        with db.write() as s:
            engine.fire_timers(s, iid, now=clock.now())
    assert open_tasks(db, iid) == []
    return iid


def events(db: Database) -> int:
    with db.read() as s:
        return len(s.execute(select(HistoryEvent.id)).all())


# -- 1. start: the lane of the start event, checked before the data --------------------------------
def test_start_needs_the_role_of_the_start_events_lane(db: Database, engine: Engine, clock: FakeClock,
                                                       users: dict[str, Actor]) -> None:
    deploy(engine, db, clock, "timers_wait.bpmn")  # its start event is in lane 市有关部门
    due = clock.now().isoformat()
    with db.write() as s, pytest.raises(PermissionDenied) as refused:
        engine.start(s, "timers_wait", {"due": due}, actor=users["huangpu"], now=clock.now())
    assert "huangpu" in refused.value.message and "市有关部门" in refused.value.message
    with db.write() as s, pytest.raises(PermissionDenied):  # before the data: not an InvalidData
        engine.start(s, "timers_wait", {"_bad": 1}, actor=users["huangpu"], now=clock.now())
    with db.write() as s:
        engine.start(s, "timers_wait", {"due": due}, actor=users["city"], now=clock.now())
        engine.start(s, "timers_wait", {"due": due}, actor=users["admin"], now=clock.now())
    with db.write() as s:  # a lane mapped to another role: that role starts it, as the inbox maps
        map_lane(s, "市有关部门", "城市处")
    with db.write() as s, pytest.raises(PermissionDenied):
        engine.start(s, "timers_wait", {"due": due}, actor=users["city"], now=clock.now())
    with db.write() as s:
        engine.start(s, "timers_wait", {"due": due}, actor=Actor("c", frozenset({"城市处"})), now=clock.now())


def test_a_message_started_process_is_started_by_hand_only_by_admin(
        db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor]) -> None:
    from workflow.specs import bundle_from_paths

    with db.write() as s:
        engine.deploy(s, dict(bundle_from_paths([REPO_BPMN]).files), actor=users["admin"], now=clock.now())
    with db.write() as s, pytest.raises(PermissionDenied) as refused:
        engine.start(s, "revocation", {}, actor=users["city"], now=clock.now())
    assert "only an admin" in refused.value.message


# -- 2. a case without a district is municipal ----------------------------------------------------
def test_district_users_neither_start_nor_see_nor_claim_municipal_cases(
        db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor]) -> None:
    deploy(engine, db, clock, "engine_basic.bpmn")
    with db.write() as s, pytest.raises(PermissionDenied) as refused:
        engine.start(s, "engine_basic", {}, actor=users["huangpu"], now=clock.now())
    assert "municipal" in refused.value.message
    with db.write() as s, pytest.raises(PermissionDenied):
        engine.start(s, "engine_basic", {"district": "310104"}, actor=users["huangpu"], now=clock.now())
    with db.write() as s:
        iid = engine.start(s, "engine_basic", {}, actor=users["admin"], now=clock.now())
    [task] = open_tasks(db, iid)
    assert (task.role, task.district) == ("区有关部门", None)
    with db.read() as s:
        assert claimable_tasks(s, users["huangpu"]) == []
        assert claimable_tasks(s, users["xuhui"]) == []
    for name in ("huangpu", "xuhui"):
        with db.write() as s, pytest.raises(PermissionDenied):
            engine.claim(s, task.id, actor=users[name], now=clock.now())
    municipal = Actor("m", frozenset({"区有关部门"}))  # municipal staff of that role act everywhere
    assert users["huangpu"].may_act_in(None) is False and municipal.may_work_on("区有关部门", None)
    assert not municipal.may_work_on(None, None) and users["admin"].may_work_on(None, None)


# -- 3. deploy needs the process owner -----------------------------------------------------------
def test_deploy_needs_the_process_owner_or_admin(db: Database, engine: Engine, clock: FakeClock,
                                                 users: dict[str, Actor]) -> None:
    files = {"engine_basic.bpmn": (BPMN / "engine_basic.bpmn").read_bytes()}
    for name in ("huangpu", "city"):
        with db.write() as s, pytest.raises(PermissionDenied) as refused:
            engine.deploy(s, files, actor=users[name], now=clock.now())
        assert PROCESS_OWNER in refused.value.message and name in refused.value.message
    with db.write() as s:
        owner = add_user(s, "owner", [PROCESS_OWNER], now=clock.now())
    with db.write() as s:
        [done] = engine.deploy(s, files, actor=owner, now=clock.now())
    with db.read() as s:
        assert s.get(ProcessVersion, done.version_id).deployed_by == "owner"  # type: ignore[union-attr]


# -- 4. messages only into the sender's district -------------------------------------------------
def test_messages_go_only_into_cases_of_the_senders_district(
        db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor]) -> None:
    deploy(engine, db, clock, "engine_basic.bpmn")
    xuhui_case = to_audit(engine, db, clock, users, "310104", users["xuhui"])
    municipal_case = to_audit(engine, db, clock, users, None, users["admin"])
    before = events(db)
    for keys in ({"district": "310104"}, {"district": "null"}):
        with db.write() as s, pytest.raises(PermissionDenied) as refused:
            engine.message(s, "audit_result", keys, {"result": "pass"}, actor=users["huangpu"], now=clock.now())
        assert "huangpu" in refused.value.message and "Nothing was delivered" in refused.value.message
    assert events(db) == before
    with db.write() as s:
        assert engine.message(s, "audit_result", {"district": "310104"}, {}, actor=users["xuhui"],
                              now=clock.now()) == [xuhui_case]
    with db.write() as s:  # municipal staff send anywhere, also into municipal cases
        assert engine.message(s, "audit_result", {"district": "null"}, {}, actor=users["city"],
                              now=clock.now()) == [municipal_case]
    with db.read() as s:
        assert {s.get(Instance, i).status for i in (xuhui_case, municipal_case)} == {"completed"}  # type: ignore[union-attr]


# -- 5. a user task outside every lane -------------------------------------------------------------
def test_a_user_task_outside_every_lane_is_refused_at_deploy(db: Database, engine: Engine, clock: FakeClock,
                                                             users: dict[str, Actor]) -> None:
    text = (BPMN / "engine_basic.bpmn").read_text(encoding="utf-8")
    text = text.replace("<bpmn:flowNodeRef>Task_review</bpmn:flowNodeRef>", "")
    with db.write() as s, pytest.raises(InvalidSpec) as refused:
        engine.deploy(s, {"outside.bpmn": text}, actor=users["admin"], now=clock.now())
    assert "outside.bpmn" in refused.value.message and "Task_review" in refused.value.message
    assert "outside every lane" in refused.value.message
    with db.read() as s:
        assert s.execute(select(ProcessVersion.id)).all() == []


# -- 6. user add: known roles and districts ----------------------------------------------------------
def test_check_user_knows_roles_and_districts(db: Database, engine: Engine, clock: FakeClock,
                                              users: dict[str, Actor]) -> None:
    with db.read() as s:
        check_user(s, ["市级审批", "auditor", PROCESS_OWNER], None)  # before any deploy: the programme's roles
        check_user(s, ["区有关部门"], "310151")
        with pytest.raises(InvalidData) as refused:
            check_user(s, ["不存在的角色"], None)
        assert "不存在的角色" in refused.value.message and "审核专家组" in refused.value.message
        with pytest.raises(InvalidData) as refused:
            check_user(s, ["区有关部门"], "999999")
        assert "999999" in refused.value.message and "310101 黄浦区" in refused.value.message
    deploy(engine, db, clock, "engine_basic.bpmn")
    with db.write() as s:
        map_lane(s, "市有关部门", "城市处")
    with db.read() as s:
        check_user(s, ["区有关部门", "市有关部门", "城市处"], None)  # lanes deployed, roles mapped
        with pytest.raises(InvalidData):
            check_user(s, ["bench"], None)


# -- 7. concurrent deploys -----------------------------------------------------------------------------
def test_concurrent_deploys_of_one_process_get_consecutive_versions(db: Database, clock: FakeClock) -> None:
    text = (BPMN / "engine_basic.bpmn").read_text(encoding="utf-8")
    admin = Actor("admin", frozenset({"admin"}))
    n = 4
    barrier = threading.Barrier(n)
    results: list[Any] = []
    errors: list[BaseException] = []

    def one(i: int) -> None:
        engine = Engine()
        files = {"engine_basic.bpmn": text.replace("提交申报", f"提交申报{i}")}
        try:
            barrier.wait()
            with db.write() as s:
                results.extend(engine.deploy(s, files, actor=admin, now=clock.now()))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.version for r in results) == list(range(1, n + 1))
    with db.read() as s:
        assert sorted(s.execute(select(ProcessVersion.version)).scalars()) == list(range(1, n + 1))


def test_a_disabled_user_cannot_act_and_only_admins_disable(db: Database, users: dict[str, Actor]) -> None:
    from workflow.users import load_actor, set_disabled

    with db.write() as session:
        with pytest.raises(PermissionDenied):
            set_disabled(session, "huangpu2", True, by=users["city"])
        with pytest.raises(InvalidData):
            set_disabled(session, "admin", True, by=users["admin"])
        set_disabled(session, "huangpu2", True, by=users["admin"])
    with db.read() as session:
        with pytest.raises(PermissionDenied, match="disabled"):
            load_actor(session, "huangpu2")
        assert load_actor(session, "huangpu").name == "huangpu"
