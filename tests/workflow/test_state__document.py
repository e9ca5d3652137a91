"""A stored case, reassembled, is a document SpiffWorkflow's own serializer reads: the rows and the
meta are its converters' dicts, so adding the specs gives what ``BpmnWorkflowSerializer`` writes for
the whole workflow, and ``deserialize_json`` rebuilds the same case (checked on a case with a
subprocess nested in a subprocess, and on the programme's cycle with its 16 invitations)."""

from __future__ import annotations

import json

from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from sqlalchemy import select

from tests.conftest import deploy
from tests.program.conftest import BPMN as PROGRAMME
from web.demo_data import DISTRICTS, cycle_data, indicators
from web.demo_driver import Program, demo_users
from workflow.clock import FakeClock
from workflow.consistency import differences, view
from workflow.engine import Engine
from workflow.specs import bundle_from_paths
from workflow.state import LoadedCase, spiff_document
from workflow.store import Database, DataBlob, HumanTask, Instance, TaskRow
from workflow.texts import REGISTRY
from workflow.users import Actor


def as_spiff_document(engine: Engine, db: Database, iid: int) -> tuple[str, LoadedCase]:
    with db.read() as session:
        version, meta = session.execute(select(Instance.process_version_id, Instance.meta)
                                        .where(Instance.id == iid)).one()
        rows = [tuple(r) for r in session.execute(select(TaskRow.task_id, TaskRow.body, TaskRow.data_hash)
                                                 .where(TaskRow.instance_id == iid)).all()]
        blobs = dict(session.execute(select(DataBlob.hash, DataBlob.body)).all())
        spec, subs = engine.cases.specs_for(session, version)
        loaded = engine.cases.restore(session, iid, version)
    document = spiff_document(spec, subs, meta, rows, blobs)  # type: ignore[arg-type]
    return json.dumps({**document, "serializer_version": VERSION}), loaded


def check(engine: Engine, db: Database, iid: int) -> None:
    text, loaded = as_spiff_document(engine, db, iid)
    workflow = BpmnWorkflowSerializer(REGISTRY).deserialize_json(text)
    assert differences(view(loaded), view(LoadedCase(workflow))) == []
    assert len(workflow.subprocesses) == len(loaded.workflow.subprocesses)


def test_a_nested_case_is_a_serializer_document(db: Database, engine: Engine, clock: FakeClock,
                                                users: dict[str, Actor]) -> None:
    deploy(engine, db, clock, "state_nested.bpmn")
    huangpu = users["huangpu"]
    with db.write() as session:
        iid = engine.start(session, "state_nested", {"district": "310101", "score": 45}, actor=huangpu, now=clock.now())
    for _ in range(2):
        check(engine, db, iid)
        with db.read() as session:
            ht = session.execute(select(HumanTask).where(HumanTask.instance_id == iid,
                                                         HumanTask.state == "ready")).scalar_one()
        with db.write() as session:
            engine.claim(session, ht.id, actor=huangpu, now=clock.now())
            engine.complete(session, ht.id, {"comment": "同意"}, actor=huangpu, now=clock.now())
    check(engine, db, iid)


def test_the_cycle_is_a_serializer_document(db: Database, engine: Engine) -> None:
    clock = FakeClock("2021-12-10T09:00:00+08:00")
    with db.write() as session:
        users, _created = demo_users(session, now=clock.now())
        engine.deploy(session, dict(bundle_from_paths([PROGRAMME]).files), actor=Actor("admin", frozenset({"admin"})),
                      now=clock.now())
    p = Program(db, engine, clock, users)
    cycle = p.start("creation_cycle", cycle_data(DISTRICTS))
    p.do(cycle, "Task_indicators", indicators())
    check(engine, db, cycle)
