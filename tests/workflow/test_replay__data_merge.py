"""Task data merges change only the task they merge into (``workflow.adapters.spiff.merge_data``),
so a case holds the same data whether the engine kept it in memory between inputs or rebuilt it
from the database, and its replay agrees; cases started before (``instance.data_merge`` "library",
no ``data_merge`` in their start event) keep SpiffWorkflow's merge and still replay.

``join_nested``: ``Set`` writes ``notified``, a branch writes it again, and the two branches meet at
a parallel join when ``Task_wait`` is completed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

import workflow.engine as engine_module
from tests.conftest import deploy
from workflow.adapters.spiff import COPY, LIBRARY
from workflow.clock import FakeClock
from workflow.consistency import differences, view
from workflow.engine import Engine
from workflow.errors import ShanyuError, StateAltered
from workflow.history import list_events
from workflow.replay import Replayer, replay
from workflow.store import Database, HumanTask, Instance
from workflow.users import Actor

FIRST = {"outbox": [1], "by": {"roles": ["a"]}}
SECOND = {"outbox": [1, 2], "by": {"roles": ["a", "b"]}}


def join_case(db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor], *,
              complete_with: Engine | None = None) -> int:
    """Start the case, then complete ``Task_wait`` (with another engine, if given)."""
    deploy(engine, db, clock, "join_nested.bpmn")
    actor = users["huangpu"]
    with db.write() as s:
        iid = engine.start(s, "join_nested", {"district": "310101"}, actor=actor, now=clock.now())
    with db.read() as s:
        [tid] = s.execute(select(HumanTask.id).where(HumanTask.instance_id == iid)).scalars()
    second = complete_with or engine
    clock.advance(minutes=5)
    with db.write() as s:
        second.claim(s, tid, actor=actor, now=clock.now())
        second.complete(s, tid, {}, actor=actor, now=clock.now())
    return iid


def task_data(engine: Engine, db: Database, iid: int, bpmn_id: str, *, cached: bool) -> Any:
    if cached:
        entry = engine.cases.peek(iid)
        assert entry is not None
        workflow = entry.loaded.workflow
    else:
        with db.read() as s:
            workflow = Engine().cases.restore(s, iid, s.get(Instance, iid).process_version_id).workflow  # type: ignore[union-attr]
    [task] = [t for t in workflow.get_tasks() if t.task_spec.bpmn_id == bpmn_id and t.state != 256]  # not CANCELLED
    return task.data["notified"]


@pytest.mark.parametrize("break_between", [False, True], ids=["kept in memory", "rebuilt between inputs"])
def test_a_join_changes_no_earlier_task_and_every_view_agrees(
        db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor], break_between: bool) -> None:
    iid = join_case(db, engine, clock, users, complete_with=Engine() if break_between else None)
    with db.read() as s:
        row = s.get(Instance, iid)
        assert row is not None and row.data_merge == COPY
        assert list_events(s, iid)[0].payload["data_merge"] == COPY
        result = replay(s, Engine(), iid)
        assert result.ok, result.to_dict()
        assert result.case is not None
        restored = Engine().cases.restore(s, iid, row.process_version_id)
    assert differences(view(restored), view(result.case)) == []
    assert task_data(engine, db, iid, "Set", cached=False) == FIRST  # Set's data as Set wrote it
    assert task_data(engine, db, iid, "Task_after", cached=False) == FIRST  # the join's own branch last
    if not break_between:
        assert task_data(engine, db, iid, "Set", cached=True) == FIRST


def test_a_case_started_before_keeps_the_librarys_merge_and_replays(
        db: Database, clock: FakeClock, users: dict[str, Actor], monkeypatch: pytest.MonkeyPatch) -> None:
    """A case the earlier code started, kept in memory as that code kept it: the library's join
    extends the list ``Set`` holds, and the replay (which runs with the same merge) agrees.
    (``SHANYU_CHECK_STATE`` would refuse the join: ``Set``'s stored row no longer matches.)"""
    engine = Engine(check_state=False)
    monkeypatch.setattr(engine_module, "COPY", LIBRARY)  # the instance row and start event say "library"
    iid = join_case(db, engine, clock, users)
    monkeypatch.undo()
    with db.read() as s:
        row = s.get(Instance, iid)
        assert row is not None and row.data_merge == LIBRARY
        result = replay(s, Engine(), iid)
    assert result.ok, result.to_dict()
    assert task_data(engine, db, iid, "Set", cached=True) == SECOND  # what the library's merge does
    assert task_data(engine, db, iid, "Task_after", cached=False) == SECOND


def test_a_start_event_without_data_merge_replays_with_the_librarys(
        db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor]) -> None:
    iid = join_case(db, engine, clock, users)
    with db.read() as s:
        first = list_events(s, iid)[0]
        first.payload.pop("data_merge")  # as the events of cases started before migration 0015
        assert Replayer(s, Engine(), iid, first).case.data_merge == LIBRARY


def test_an_unknown_data_merge_is_refused_not_guessed(
        db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor]) -> None:
    """A start event or an instance row naming a merge this code does not know (written by a newer
    version, or altered) is an error: the case is neither replayed nor run with a merge it was not
    run with."""
    iid = join_case(db, engine, clock, users)
    with db.read() as s:
        first = list_events(s, iid)[0]
        first.payload["data_merge"] = "deep"
        with pytest.raises(ShanyuError, match="start event names an unknown data merge 'deep'"):
            Replayer(s, Engine(), iid, first)
    with db.write() as s:
        s.execute(update(Instance).where(Instance.id == iid).values(data_merge="deep"))
    with db.read() as s:
        with pytest.raises(StateAltered, match="row names an unknown data merge 'deep'"):
            Engine().cases.restore(s, iid, s.get(Instance, iid).process_version_id)  # type: ignore[union-attr]
