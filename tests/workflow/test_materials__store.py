"""The material store (``workflow.materials``): content-addressed bytes in the database, types sniffed
from content, a size limit, the case's district deciding who adds and who reads, and upload fields
that accept only materials of their own case, with the hashes recorded in the completion's event."""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import BPMN
from workflow import errors, materials
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.history import list_events
from workflow.materials import Material, MaterialBlob
from workflow.store import Database, HumanTask
from workflow.users import Actor

CASE = BPMN / "forms_case"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF\x00"
OK_DATA = {"intention": "本区申请创建上海市婴幼儿照护服务示范区。", "places_per_1000": 4.6}


def zipped(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


def start_case(db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor], district: str = "310101",
               starter: str = "huangpu") -> tuple[int, int]:
    """A forms_case case (its task's form has the upload field ``materials``): (instance, task)."""
    files = {"forms_case.bpmn": (CASE / "forms_case.bpmn").read_bytes(),
             "forms/apply.json": (CASE / "forms" / "apply.json").read_bytes()}
    with db.write() as s:
        engine.deploy(s, files, actor=users["admin"], now=clock.now())
        iid = engine.start(s, "forms_case", {"district": district}, actor=users[starter], now=clock.now())
    with db.read() as s:
        task = s.execute(select(HumanTask.id).where(HumanTask.instance_id == iid)).scalar_one()
    with db.write() as s:
        engine.claim(s, task, actor=users[starter], now=clock.now())
    return iid, task


def add(db: Database, case: int, data: bytes, actor: Actor, clock: FakeClock, name: str = "报告.pdf",
        **kwargs: Any) -> str:
    with db.write() as s:
        return materials.add(s, case, data, name, actor, clock.now(), **kwargs)


def count(db: Database, model: Any) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(("data", "media_type"), [
    (PDF, "application/pdf"),
    (PNG, "image/png"),
    (JPEG, "image/jpeg"),
    (zipped("[Content_Types].xml", "word/document.xml"),
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (zipped("[Content_Types].xml", "xl/workbook.xml"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (zipped("[Content_Types].xml", "ppt/presentation.xml"),
     "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    (zipped("OFD.xml", "Doc_0/Document.xml"), "application/ofd"),
    ("自评报告\r\n第一项\t90分\n".encode(), "text/plain; charset=utf-8"),
    (b"\xef\xbb\xbfwith a BOM\n", "text/plain; charset=utf-8"),
])
def test_the_type_is_sniffed_from_the_content(data: bytes, media_type: str) -> None:
    assert materials.sniff(data, "x.bin") == media_type


@pytest.mark.parametrize(("data", "reason"), [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 32, "legacy Office"),
    (zipped("a.txt"), "ZIP archive, not an Office"),
    (zipped("[Content_Types].xml", "word/document.xml", "word/vbaProject.bin"), "macros"),
    (b"PK\x03\x04 not really a zip", "damaged ZIP"),
    (b"MZ\x90\x00\x03\x00\x00\x00", "unknown binary"),
    (b"text with a NUL\x00 inside", "unknown binary"),
    ("<script>".encode("utf-16"), "unknown binary"),
])
def test_other_types_are_refused_naming_the_file_and_what_is_accepted(data: bytes, reason: str) -> None:
    with pytest.raises(errors.MaterialTypeRefused, match=reason) as refused:
        materials.sniff(data, "evil.pdf")
    assert refused.value.message.startswith("evil.pdf: ")
    assert "Accepted: PDF" in refused.value.message
    assert refused.value.code == "material_type_refused"


def test_a_material_is_stored_once_per_content_and_read_back_by_who_may_see_the_case(
        db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor]) -> None:
    first, _task = start_case(db, engine, clock, users)
    second, _task2 = start_case(db, engine, clock, users, starter="huangpu2")
    mid = add(db, first, PDF, users["huangpu"], clock, name="C:\\Users\\王\\报告.pdf")
    assert mid.startswith("m-") and len(mid) == 22
    # the same bytes under the same name into the same case: the same material, nothing stored
    assert add(db, first, PDF, users["huangpu2"], clock, name="报告.pdf") == mid
    other = add(db, second, PDF, users["huangpu"], clock)
    assert other != mid
    assert (count(db, Material), count(db, MaterialBlob)) == (2, 1)  # one copy of the bytes

    with db.read() as s:
        info, body = materials.read(s, mid, users["city"])
        assert body == PDF
        assert info.to_dict() == {
            "id": mid, "instance_id": first, "filename": "报告.pdf", "size": len(PDF),
            "sha256": hashlib.sha256(PDF).hexdigest(), "media_type": "application/pdf", "uploaded_by": "huangpu",
            "uploaded_at": clock.now().isoformat()}
        assert materials.get(s, mid, users["auditor"]).id == mid
        # another district's user gets what a missing id gets
        with pytest.raises(errors.NotFound) as hidden:
            materials.get(s, mid, users["xuhui"])
        with pytest.raises(errors.NotFound) as missing:
            materials.get(s, "m-00000000000000000000", users["xuhui"])
        assert hidden.value.message.replace(mid, "ID") == missing.value.message.replace("m-00000000000000000000", "ID")
        assert [m.id for m in materials.of_case(s, first)] == [mid]


def test_who_may_add_to_which_case(db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor]) -> None:
    case, _task = start_case(db, engine, clock, users)
    with pytest.raises(errors.PermissionDenied, match="district 310101"):
        add(db, case, PDF, users["xuhui"], clock)
    with pytest.raises(errors.PermissionDenied, match="auditor"):
        add(db, case, PDF, users["auditor"], clock)
    with pytest.raises(errors.NotFound, match="no case 999"):
        add(db, 999, PDF, users["city"], clock)
    assert add(db, case, PDF, users["city"], clock)  # municipal staff act in every district
    assert count(db, Material) == 1


def test_size_limit_is_a_setting(db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    case, _task = start_case(db, engine, clock, users)
    assert materials.max_bytes() == materials.DEFAULT_MAX_BYTES == 20 * 1024 * 1024
    monkeypatch.setenv(materials.MAX_BYTES_ENV, "100")
    assert materials.max_bytes() == 100
    with pytest.raises(errors.MaterialTooLarge, match="at most 100 bytes") as refused:
        add(db, case, b"%PDF-" + b"x" * 96, users["huangpu"], clock)
    assert (refused.value.code, refused.value.http_status, refused.value.details["limit"]) == (
        "material_too_large", 413, 100)
    assert add(db, case, b"%PDF-" + b"x" * 95, users["huangpu"], clock)
    with pytest.raises(errors.InvalidData, match="empty"):
        add(db, case, b"", users["huangpu"], clock)
    monkeypatch.setenv(materials.MAX_BYTES_ENV, "lots")
    with pytest.raises(errors.InvalidData, match="whole number"):
        materials.max_bytes()
    assert (count(db, Material), count(db, MaterialBlob)) == (1, 1)


def test_upload_fields_take_only_materials_of_their_case_and_history_records_the_hash(
        db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor]) -> None:
    case, task = start_case(db, engine, clock, users)
    other_case, _task = start_case(db, engine, clock, users, starter="huangpu2")
    own = add(db, case, PDF, users["huangpu"], clock)
    foreign = add(db, other_case, PNG, users["huangpu2"], clock)

    for bad in (["m-deadbeef01"], [own, foreign]):
        with pytest.raises(errors.InvalidData) as refused, db.write() as s:
            engine.complete(s, task, {**OK_DATA, "materials": bad}, actor=users["huangpu"], now=clock.now())
        [problem] = refused.value.details["errors"]
        assert (problem["field"], problem["label"]) == ("materials", "材料")
        assert bad[-1] in problem["message"] and own not in problem["message"]
        assert refused.value.message.count("材料 (materials)") == 1
    with db.read() as s:
        assert [e.type for e in list_events(s, case)] == ["instance_started", "task_claimed"]

    with db.write() as s:
        engine.complete(s, task, {**OK_DATA, "materials": [own]}, actor=users["huangpu"], now=clock.now())
    with db.read() as s:
        done = list_events(s, case)[-1]
    assert done.type == "task_completed"
    assert done.payload["data"]["materials"] == [own]
    assert done.payload["materials"] == [{"field": "materials", "id": own, "sha256": hashlib.sha256(PDF).hexdigest()}]


def test_a_case_being_started_has_no_materials_yet(db: Database) -> None:
    schema = {"title": "开始", "properties": {"letter": {"type": "string", "x-ui": {"widget": "upload"}},
                                            "note": {"type": "string"}}}
    with db.read() as s:
        assert materials.check_uploads(s, None, schema, {"note": "m-deadbeef01"}) == []
        with pytest.raises(errors.InvalidData, match="a case that is being started"):
            materials.check_uploads(s, None, schema, {"letter": "m-deadbeef01"})


def test_upload_fields_are_found_by_widget() -> None:
    schema = {"properties": {"a": {"x-ui": {"widget": "upload"}}, "b": {"x-ui": {"widget": "upload-many"}},
                             "c": {"x-ui": {"widget": "textarea"}}, "d": {}},
              "x-ui": {"widgets": {"d": "upload"}}}
    assert materials.upload_fields(schema) == ["a", "b", "d"]


def test_completed_cases_take_no_more_materials(db: Database, engine: Engine, clock: FakeClock,
                                                users: dict[str, Actor]) -> None:
    case, task = start_case(db, engine, clock, users)
    with db.write() as s:
        engine.complete(s, task, OK_DATA, actor=users["huangpu"], now=clock.now())
    with pytest.raises(errors.InvalidData, match="completed"):
        add(db, case, PDF, users["huangpu"], clock)


def test_concurrent_adds_of_one_file_make_one_material(db: Database, engine: Engine, clock: FakeClock,
                                                       users: dict[str, Actor]) -> None:
    import threading

    case, _task = start_case(db, engine, clock, users)
    barrier = threading.Barrier(4)
    found: list[str] = []

    def worker() -> None:
        barrier.wait()
        found.append(add(db, case, PDF, users["huangpu"], clock))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(found) == 4 and len(set(found)) == 1
    assert (count(db, Material), count(db, MaterialBlob)) == (1, 1)
