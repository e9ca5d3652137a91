"""Forms travel with the diagrams; completing a task validates its data on the server, naming each
field at fault by its Chinese label, and saves nothing when the data does not fit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import BPMN
from workflow import errors
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.history import list_events
from workflow.store import Database, HumanTask
from workflow.users import Actor

CASE = BPMN / "forms_case"


def files(*, with_form: bool = True) -> dict[str, bytes]:
    found = {"forms_case.bpmn": (CASE / "forms_case.bpmn").read_bytes()}
    if with_form:
        found["forms/apply.json"] = (CASE / "forms" / "apply.json").read_bytes()
    return found


def test_a_diagram_whose_form_is_missing_is_refused(db: Database, engine: Engine, clock: FakeClock,
                                                    users: dict[str, Actor]) -> None:
    with pytest.raises(errors.InvalidSpec, match="forms/apply.json"), db.write() as s:
        engine.deploy(s, files(with_form=False), actor=users["admin"], now=clock.now())


def test_a_form_that_is_not_a_json_schema_is_refused(db: Database, engine: Engine, clock: FakeClock,
                                                     users: dict[str, Actor]) -> None:
    bad = files() | {"forms/apply.json": b'{"type": "object", "properties": {"x": {"type": "nonsense"}}}'}
    with pytest.raises(errors.InvalidSpec, match="not a valid JSON Schema"), db.write() as s:
        engine.deploy(s, bad, actor=users["admin"], now=clock.now())


def test_completing_validates_against_the_pinned_form(db: Database, engine: Engine, clock: FakeClock,
                                                      users: dict[str, Actor]) -> None:
    hp = users["huangpu"]
    with db.write() as s:
        engine.deploy(s, files(), actor=users["admin"], now=clock.now())
        iid = engine.start(s, "forms_case", {"district": "310101"}, actor=hp, now=clock.now())
    with db.read() as s:
        task = s.execute(select(HumanTask).where(HumanTask.instance_id == iid)).scalar_one()
    assert task.form == "forms/apply.json"
    with db.write() as s:
        engine.claim(s, task.id, actor=hp, now=clock.now())

    with pytest.raises(errors.InvalidData) as caught, db.write() as s:
        engine.complete(s, task.id, {"intention": "短", "places_per_1000": -1, "colour": "red",
                                     "materials": ["m-1a", "../etc/passwd"]}, actor=hp, now=clock.now())
    problems = {p["label"]: p["message"] for p in caught.value.details["errors"]}
    assert set(problems) == {"创建意向说明", "每千人口托位数", "colour", "材料 / #2"}
    assert "每千人口托位数" in caught.value.message

    with pytest.raises(errors.InvalidData) as missing, db.write() as s:
        engine.complete(s, task.id, {}, actor=hp, now=clock.now())
    assert {p["field"] for p in missing.value.details["errors"]} == {"intention", "places_per_1000"}

    with db.read() as s:
        assert [e.type for e in list_events(s, iid)] == ["instance_started", "task_claimed"]
    with db.write() as s:
        engine.complete(s, task.id, {"intention": "本区申请创建上海市婴幼儿照护服务示范区。", "places_per_1000": 4.6},
                        actor=hp, now=clock.now())
    with db.read() as s:
        assert list_events(s, iid)[-1].payload["data"]["places_per_1000"] == 4.6


def test_defaults_fill_what_the_data_leaves_out_at_every_level_and_nothing_else() -> None:
    from workflow.forms import with_defaults

    schema = {
        "type": "object",
        "properties": {
            "days": {"type": "integer", "default": 5},
            "settings": {
                "type": "object",
                "default": {},
                "properties": {"opens": {"type": "string", "default": "01-04"}, "due": {"type": "string"}},
            },
            "name": {"type": "string"},
        },
    }
    given = {"name": "x"}
    assert with_defaults(schema, given) == {"name": "x", "days": 5, "settings": {"opens": "01-04"}}
    assert given == {"name": "x"}  # the caller's data is left as it was
    kept = {"days": 7, "settings": {"opens": "02-01", "due": "03-31"}}
    assert with_defaults(schema, kept) == kept
    filled = with_defaults(schema, {})
    filled["settings"]["opens"] = "changed"
    assert with_defaults(schema, {})["settings"] == {"opens": "01-04"}  # defaults are copied, not shared
