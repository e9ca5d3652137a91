"""The texts ``workflow.texts`` builds are assembled from pieces converted once per step; they must
equal the canonical JSON of the same objects built the plain way (sorted keys, serializer
conversion), or stored rows, the meta and every digest would drift from what replay computes.
Checked on a case with a subprocess nested in a subprocess, cached and restored."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import deploy
from workflow.clock import FakeClock
from workflow.digest import state_digest
from workflow.engine import Engine
from workflow.errors import WorkflowFailed
from workflow.paths import all_workflows, path_of, task_paths
from workflow.state import LoadedCase
from workflow.store import Database, HumanTask, TaskRow
from workflow.texts import REGISTRY, canonical_json, stored_json
from workflow.users import Actor


@pytest.mark.parametrize("value", [
    {}, {"district": "310101", "score": 90, "ok": True, "note": None, "ratio": 0.25},
    {"nested": {"b": [1, {"中": "文"}], "a": (1, 2)}, "text": 'quote " and \\ backslash'},
    {"when": datetime(2022, 9, 29, 9, 30, tzinfo=UTC), "span": timedelta(days=5)},
    {"id": uuid.UUID("12345678-1234-5678-1234-567812345678"), "deep": [{"at": datetime(2026, 1, 1)}]},
    {"callback": print, "kept": 1},  # callables at the top level are dropped, as the serializer does
    {3: "int keys", 4: 1.0},
])
def test_stored_json_equals_the_serializer_path(value: dict[str, Any]) -> None:
    assert stored_json(value) == canonical_json(REGISTRY.convert(REGISTRY.clean(value)))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"day": date(2022, 10, 10)}, "at day: a date is not JSON data"),
        ({3: "int key", "x": 1}, "an object key must be text, not a int"),
        ({"f": [print]}, "at f[0]: a builtin_function_or_method is not JSON data"),
    ],
)
def test_values_the_serializer_cannot_store_are_refused_by_name(value: dict[str, Any], reason: str) -> None:
    with pytest.raises(TypeError):
        canonical_json(REGISTRY.convert(REGISTRY.clean(value)))
    with pytest.raises(WorkflowFailed, match="The case cannot be saved") as caught:
        stored_json(value)
    assert reason in caught.value.message


@pytest.mark.parametrize("value", [{"x": float("nan")}, {"x": [float("inf")]}])
def test_nan_and_infinity_are_never_written(value: dict[str, Any]) -> None:
    with pytest.raises(WorkflowFailed, match="is not a JSON number"):
        stored_json(value)


def converted(obj: Any, *without: str) -> dict[str, Any]:
    """What SpiffWorkflow's own converter writes for ``obj``, without the given keys."""
    dct = REGISTRY.convert(obj)
    return {k: v for k, v in dct.items() if k not in without}


def check_texts(loaded: LoadedCase, bodies: dict[str, str]) -> None:
    """``bodies``: the stored task rows (task id -> body). Each row is the dict SpiffWorkflow's task
    converter writes, without ``data`` (stored in data_blob) and ``delta``; the meta holds the
    workflow converters' dicts without tasks and specs."""
    workflow = loaded.workflow
    for _key, wf in all_workflows(workflow):
        for tid, task in wf.tasks.items():
            body = bodies[str(tid)]
            assert body == canonical_json(converted(task, "data", "delta"))
            assert loaded.saved[tid].body_digest == hashlib.sha256(body.encode()).digest()
    subs = [converted(sub, "tasks") for key, sub in all_workflows(workflow) if key]
    top = converted(workflow, "tasks", "spec", "subprocess_specs", "subprocesses")
    assert loaded.meta == canonical_json({"subprocesses": subs, "workflow": top})
    # the digest's walk filled the path cache with exactly the paths ``path_of`` finds
    state_digest(loaded)
    expected = task_paths(workflow)
    assert {str(tid): path for tid, path in loaded.paths.items()} == expected
    assert all(path_of(task) == expected[str(task.id)]
               for _key, wf in all_workflows(workflow) for task in wf.tasks.values())


@pytest.mark.parametrize("restore_each_step", [False, True])
def test_bodies_meta_and_paths_are_canonical(db: Database, engine: Engine, clock: FakeClock,
                                            users: dict[str, Actor], restore_each_step: bool) -> None:
    deploy(engine, db, clock, "state_nested.bpmn")
    huangpu = users["huangpu"]
    with db.write() as session:
        iid = engine.start(session, "state_nested", {"district": "310101", "score": 45},
                           actor=huangpu, now=clock.now())
    digests = []
    for expected_name in ("内部任务", "最终任务"):
        if restore_each_step:
            engine.cases.forget()
        with db.read() as session:
            ht = session.execute(select(HumanTask).where(HumanTask.instance_id == iid,
                                                         HumanTask.state == "ready")).scalar_one()
        assert ht.name == expected_name
        with db.write() as session:
            engine.claim(session, ht.id, actor=huangpu, now=clock.now())
            engine.complete(session, ht.id, {"comment": "同意"}, actor=huangpu, now=clock.now())
            case = engine.cases.lock(session, iid)
            engine.cases.put_back(case)
        with db.read() as session:
            bodies = dict(session.execute(select(TaskRow.task_id, TaskRow.body)
                                          .where(TaskRow.instance_id == iid)).all())
        check_texts(case.loaded, bodies)
        assert len(case.workflow.subprocesses) == 2
        digests.append(state_digest(case.loaded))
        # a case restored from its rows digests the same, and its texts are the stored ones
        engine.cases.forget()
        with db.write() as session:
            restored = engine.cases.lock(session, iid)
        assert state_digest(restored.loaded) == digests[-1]
        assert restored.loaded.meta == case.loaded.meta
    data = case.workflow.data
    assert (data["total"], data["labels"]) == (90, ["甲", "乙"])
    assert json.loads(case.loaded.meta)["workflow"]["completed"] is True
