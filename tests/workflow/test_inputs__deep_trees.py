"""A case whose task tree grows deeper than SpiffWorkflow's task iterators follow (depth 1000) would
stall without a word: its next task is never seen ready. ``workflow.inputs.run_until_waiting``
refuses the input that gets there, naming the task, and nothing is saved; a loop with an exit runs
as drawn."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import deploy
from workflow import errors
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.inputs import MAX_TREE_DEPTH
from workflow.replay import replay
from workflow.store import Database, HistoryEvent, HumanTask, Instance
from workflow.users import Actor


def counts(db: Database) -> tuple[int, int, int]:
    with db.read() as s:
        return tuple(int(s.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[return-value]
                     for table in (Instance, HistoryEvent, HumanTask))


def test_a_loop_that_never_waits_is_refused_and_nothing_is_saved(
        db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor]) -> None:
    deploy(engine, db, clock, "engine_loops.bpmn")
    before = counts(db)
    with pytest.raises(errors.WorkflowFailed) as refused, db.write() as s:
        engine.start(s, "engine_loop_runaway", {"district": "310101"}, actor=users["huangpu"], now=clock.now())
    message = refused.value.message
    assert "'空转'" in message and f"({MAX_TREE_DEPTH})" in message and "Nothing was saved." in message
    assert refused.value.details["task"] == "Spin" and refused.value.details["depth"] >= MAX_TREE_DEPTH
    assert counts(db) == before


def test_a_loop_with_an_exit_runs_as_drawn_and_replays(
        db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor]) -> None:
    deploy(engine, db, clock, "engine_loops.bpmn")
    with db.write() as s:
        iid = engine.start(s, "engine_loop_counted", {"district": "310101", "counted": 0, "rounds": 200},
                           actor=users["huangpu"], now=clock.now())
    with db.read() as s:
        [task] = s.execute(select(HumanTask).where(HumanTask.instance_id == iid)).scalars()
        assert task.bpmn_id == "Task_confirm"
        rebuilt = replay(s, engine, iid)
    assert rebuilt.ok and rebuilt.case is not None  # replay reproduced every recorded state
    [ready] = [t for t in rebuilt.case.workflow.get_tasks() if t.task_spec.bpmn_id == "Task_confirm"]
    assert ready.data["counted"] == 200
