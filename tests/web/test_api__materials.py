"""Materials through the JSON API (``web.api_materials``), on SQLite and PostgreSQL: the holder of a
task uploads a file for its upload field and completes the task with the id; the history pins the
file's hash; the material is served to who may see the case and to no one else; oversize, refused
types, empty files, fields that take no upload, another district's task and a task someone else
holds are refused with the store's message, and nothing is stored."""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.web.api_client import Api, api_app, client_for
from tests.web.test_api__flow import CASE, GOOD, PASSWORD, USERS, start_case
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.materials import MAX_BYTES_ENV, Material, MaterialBlob
from workflow.store import Database, HistoryEvent
from workflow.users import Actor, add_user

PDF = b"%PDF-1.4\n%shanyu\n1 0 obj <<>> endobj\n"


@pytest.fixture
def app(db: Database, clock: FakeClock) -> Iterator[Flask]:
    with db.write() as s:
        for name, (roles, district) in USERS.items():
            add_user(s, name, roles, district=district, password=PASSWORD, now=clock.now())
        Engine().deploy(s, {"forms_case.bpmn": (CASE / "forms_case.bpmn").read_bytes(),
                            "forms/apply.json": (CASE / "forms" / "apply.json").read_bytes()},
                        actor=Actor("admin", frozenset({"admin"})), now=clock.now())
    yield api_app(db, clock)


def upload(api: Api, task_id: int, content: bytes, filename: str = "申报材料.pdf", field: str = "materials") -> Any:
    return api.call("POST", f"/api/tasks/{task_id}/materials", content_type="multipart/form-data",
                    data={"field": field, "file": (BytesIO(content), filename)})


def stored(db: Database) -> tuple[int, int]:
    with db.read() as s:
        return (int(s.execute(select(func.count()).select_from(Material)).scalar_one()),
                int(s.execute(select(func.count()).select_from(MaterialBlob)).scalar_one()))


def test_the_holder_uploads_then_completes_with_the_id(app: Flask, db: Database) -> None:
    huangpu = client_for(app, "huangpu")
    instance_id, task_id = start_case(huangpu)
    huangpu.ok("POST", f"/api/tasks/{task_id}/claim")
    answer = upload(huangpu, task_id, PDF)
    assert answer.status_code == 201, answer.get_json()
    material = answer.get_json()
    assert material["id"].startswith("m-") and material["media_type"] == "application/pdf"
    assert material["size"] == len(PDF) and material["filename"] == "申报材料.pdf"
    assert material["instance_id"] == instance_id and material["task_id"] == task_id
    assert material["field"] == "materials" and len(material["sha256"]) == 64
    # the same bytes under the same name again: the same material, nothing more stored
    assert upload(huangpu, task_id, PDF).get_json()["id"] == material["id"] and stored(db) == (1, 1)

    done = huangpu.ok("POST", f"/api/tasks/{task_id}/complete", {"data": {**GOOD, "materials": [material["id"]]}})
    assert done["state"] == "completed"
    with db.read() as s:
        event = s.execute(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
                          .order_by(HistoryEvent.seq.desc())).scalars().first()
    assert event is not None and material["sha256"] in event.payload  # the history pins the bytes

    for name in ("huangpu", "huangpu2", "city", "auditor", "admin"):  # who may see the case
        found = client_for(app, name).client.get(f"/api/materials/{material['id']}",
                                                 headers={"Authorization": f"Bearer {client_for(app, name).token}"})
        assert found.status_code == 200 and found.data == PDF and found.mimetype == "application/pdf"
        assert found.headers["X-Content-Type-Options"] == "nosniff" and "inline" in found.headers["Content-Disposition"]
    xuhui = client_for(app, "xuhui")
    xuhui.fails("GET", f"/api/materials/{material['id']}", status=404, code="not_found")
    xuhui.fails("GET", "/api/materials/m-00000000000000000000", status=404, code="not_found")
    client_for(app).fails("GET", f"/api/materials/{material['id']}", status=401)


def test_a_completion_naming_a_material_of_another_case_is_refused(app: Flask, db: Database) -> None:
    huangpu = client_for(app, "huangpu")
    _first, first_task = start_case(huangpu)
    _second, second_task = start_case(huangpu)
    huangpu.ok("POST", f"/api/tasks/{first_task}/claim")
    huangpu.ok("POST", f"/api/tasks/{second_task}/claim")
    foreign = upload(huangpu, first_task, PDF).get_json()["id"]
    refused = huangpu.fails("POST", f"/api/tasks/{second_task}/complete",
                            {"data": {**GOOD, "materials": [foreign]}}, status=422, code="invalid_data")
    assert [e["field"] for e in refused["errors"]] == ["materials"]


@pytest.mark.parametrize(("content", "filename", "status", "code", "says"), [
    (b"x" * 101, "big.txt", 413, "material_too_large", "at most 100 bytes"),
    (b"\x00\x01\x02binary", "virus.pdf", 415, "material_type_refused", "not accepted"),
    (b"PK\x03\x04broken", "a.docx", 415, "material_type_refused", "damaged ZIP"),
    (b"", "empty.pdf", 422, "invalid_data", "empty"),
])
def test_a_refused_file_stores_nothing(app: Flask, db: Database, monkeypatch: pytest.MonkeyPatch, content: bytes,
                                       filename: str, status: int, code: str, says: str) -> None:
    monkeypatch.setenv(MAX_BYTES_ENV, "100")
    huangpu = client_for(app, "huangpu")
    _instance_id, task_id = start_case(huangpu)
    huangpu.ok("POST", f"/api/tasks/{task_id}/claim")
    answer = upload(huangpu, task_id, content, filename)
    body = answer.get_json()
    assert answer.status_code == status and body["error"] == code and says in body["message"], body
    assert stored(db) == (0, 0)


def test_only_an_upload_field_of_the_form_takes_a_file(app: Flask, db: Database) -> None:
    huangpu = client_for(app, "huangpu")
    _instance_id, task_id = start_case(huangpu)
    huangpu.ok("POST", f"/api/tasks/{task_id}/claim")
    answer = upload(huangpu, task_id, PDF, field="intention")
    body = answer.get_json()
    assert answer.status_code == 422 and body["error"] == "invalid_data" and "materials" in body["message"]
    missing = huangpu.call("POST", f"/api/tasks/{task_id}/materials", content_type="multipart/form-data",
                           data={"field": "materials"})
    assert missing.status_code == 422 and missing.get_json()["error"] == "invalid_request"
    assert stored(db) == (0, 0)


def test_who_may_not_upload(app: Flask, db: Database) -> None:
    huangpu = client_for(app, "huangpu")
    _instance_id, task_id = start_case(huangpu)
    # nobody holds it yet: claim it first
    assert upload(huangpu, task_id, PDF).get_json()["error"] == "task_not_claimed"
    huangpu.ok("POST", f"/api/tasks/{task_id}/claim")
    for name, status, code in (("huangpu2", 409, "task_already_claimed"),  # a task someone else holds
                               ("xuhui", 404, "not_found"),  # another district's task
                               ("city", 404, "not_found"),  # a role that does not see it
                               ("auditor", 403, "permission_denied")):
        answer = upload(client_for(app, name), task_id, PDF)
        assert (answer.status_code, answer.get_json()["error"]) == (status, code), (name, answer.get_json())
    assert upload(client_for(app), task_id, PDF).status_code == 401
    assert stored(db) == (0, 0)
    huangpu.ok("POST", f"/api/tasks/{task_id}/complete", {"data": GOOD})
    answer = upload(huangpu, task_id, PDF)  # no longer ready
    assert (answer.status_code, answer.get_json()["error"]) == (409, "task_not_ready")
    assert stored(db) == (0, 0)
