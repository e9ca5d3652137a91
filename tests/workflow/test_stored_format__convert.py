"""Migration 0005 converts cases stored in the earlier hand-made format into SpiffWorkflow's own:
the converted texts must be exactly what the engine now writes for the same case (then a migrated
case loads with the digest its history recorded, and its next save rewrites nothing needlessly).
The earlier texts are built here from a live case with a subprocess nested in a subprocess."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.conftest import deploy
from workflow.adapters.spiff import child_ids, parent_id
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.paths import all_workflows
from workflow.store import Database, HumanTask, Instance, TaskRow
from workflow.stored_format import convert_body, convert_meta, revert_case
from workflow.texts import REGISTRY, canonical_json
from workflow.users import Actor


def old_body(key: str, task: Any) -> str:
    parent = parent_id(task)
    return canonical_json({
        "w": key, "p": str(parent) if parent is not None else None, "c": [str(c) for c in child_ids(task)],
        "t": task.last_state_change, "s": task.state, "spec": task.task_spec.name, "tr": task.triggered,
        "i": REGISTRY.convert(task.internal_data)})


def old_fields(wf: Any) -> dict[str, Any]:
    return {"data": REGISTRY.convert(REGISTRY.clean(wf.data)), "correlations": REGISTRY.convert(wf.correlations),
            "success": wf.success, "completed": wf.completed,
            "last_task": str(wf.last_task.id) if wf.last_task is not None else None, "root": str(wf.task_tree.id)}


def test_old_rows_and_meta_convert_to_what_the_engine_stores(db: Database, engine: Engine, clock: FakeClock,
                                                             users: dict[str, Actor]) -> None:
    deploy(engine, db, clock, "state_nested.bpmn")
    huangpu = users["huangpu"]
    with db.write() as session:
        iid = engine.start(session, "state_nested", {"district": "310101", "score": 45}, actor=huangpu, now=clock.now())
    with db.read() as session:
        ht = session.execute(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.state == "ready")).scalar_one()
    with db.write() as session:
        engine.claim(session, ht.id, actor=huangpu, now=clock.now())
        engine.complete(session, ht.id, {"comment": "同意"}, actor=huangpu, now=clock.now())
    case = engine.cases.peek(iid)
    assert case is not None
    workflow = case.workflow
    assert len(workflow.subprocesses) == 2
    with db.read() as session:
        bodies = dict(session.execute(select(TaskRow.task_id, TaskRow.body).where(TaskRow.instance_id == iid)).all())
        meta = session.execute(select(Instance.meta).where(Instance.id == iid)).scalar_one()
    converted = 0
    for key, wf in all_workflows(workflow):
        for tid, task in wf.tasks.items():
            assert convert_body(str(tid), old_body(key, task)) == bodies[str(tid)]
            assert convert_body(str(tid), bodies[str(tid)]) == bodies[str(tid)]  # converted once only
            converted += 1
    assert converted == len(bodies)
    subs = [[key, {**old_fields(sub), "spec": sub.spec.name}] for key, sub in all_workflows(workflow) if key]
    old_meta = canonical_json({**old_fields(workflow), "subprocesses": subs})
    assert convert_meta(old_meta) == meta
    assert convert_meta(meta) == meta
    # and back, for the migration's downgrade
    old_meta_again, old_bodies = revert_case(meta, bodies)
    assert old_meta_again == old_meta
    assert old_bodies == {str(tid): old_body(key, task) for key, wf in all_workflows(workflow)
                          for tid, task in wf.tasks.items()}
