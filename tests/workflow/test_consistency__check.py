"""``SHANYU_CHECK_STATE``: an engine that checks loads each case it saved back and compares; when
what was stored is not the case that ran, the command is refused and nothing is saved. The fault
is injected by making the save forget one changed task row."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import workflow.engine as engine_module
from tests.conftest import deploy
from workflow.clock import FakeClock
from workflow.consistency import check_state_enabled
from workflow.engine import Engine
from workflow.errors import StateDiverged
from workflow.state import Changes, LoadedCase, collect_changes
from workflow.store import Database, HumanTask, Instance
from workflow.users import Actor


def ready_task(db: Database, iid: int) -> HumanTask:
    with db.read() as session:
        return session.execute(select(HumanTask).where(HumanTask.instance_id == iid,
                                                       HumanTask.state == "ready")).scalar_one()


@pytest.mark.parametrize("cached", [True, False])
def test_a_save_that_loses_a_change_is_refused_and_saves_nothing(
        db: Database, clock: FakeClock, users: dict[str, Actor], monkeypatch: pytest.MonkeyPatch, cached: bool) -> None:
    engine = Engine(check_state=True)
    deploy(engine, db, clock, "engine_basic.bpmn")
    huangpu = users["huangpu"]
    with db.write() as session:
        iid = engine.start(session, "engine_basic", {"district": "310101"}, actor=huangpu, now=clock.now())
    task = ready_task(db, iid)
    with db.write() as session:
        engine.claim(session, task.id, actor=huangpu, now=clock.now())
    with db.read() as session:
        before = session.execute(select(Instance.event_count, Instance.lock_version).where(Instance.id == iid)).one()

    def forgetful(case: LoadedCase) -> Changes:
        changes = collect_changes(case)
        dropped = next(iter(changes.rows))  # the completed task's new row is not written
        del changes.rows[dropped]
        return changes

    monkeypatch.setattr(engine_module, "collect_changes", forgetful)
    if not cached:
        engine.cases.forget()
    with pytest.raises(StateDiverged) as caught, db.write() as session:
        engine.complete(session, task.id, {"comment": "同意"}, actor=huangpu, now=clock.now())
    assert "loaded back from the database differs" in caught.value.message
    assert caught.value.code == "state_diverged"
    with db.read() as session:
        after = session.execute(select(Instance.event_count, Instance.lock_version).where(Instance.id == iid)).one()
    assert tuple(after) == tuple(before)
    assert ready_task(db, iid).id == task.id  # still ready, still claimed
    # without the fault the same completion goes through, checked
    monkeypatch.setattr(engine_module, "collect_changes", collect_changes)
    with db.write() as session:
        done = engine.complete(session, task.id, {"comment": "同意"}, actor=huangpu, now=clock.now())
    assert done.state == "completed"


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("true", True), ("on", True), ("0", False),
                                                 ("", False), ("no", False)])
def test_the_setting_reads_the_environment(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("SHANYU_CHECK_STATE", value)
    assert check_state_enabled() is expected
    assert Engine().check_state is expected
    assert check_state_enabled(False) is False and check_state_enabled(True) is True


def test_checking_is_off_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHANYU_CHECK_STATE", raising=False)
    assert Engine().check_state is False


