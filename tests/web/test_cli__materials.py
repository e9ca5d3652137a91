"""``shanyu material add FILE --as USER --case N``: prints the new material's id; refuses a type it does
not accept, a file over the size limit, and a user of another district, storing nothing; a form's
upload field then takes that id (and no invented one), and the history shows the file's SHA-256."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.conftest import BPMN
from tests.web.conftest import Shanyu
from workflow.materials import MAX_BYTES_ENV, Material, MaterialBlob

PDF = b"%PDF-1.7\n% demo\n%%EOF\n"
DATA = '{"intention": "本区申请创建上海市婴幼儿照护服务示范区。", "places_per_1000": 4.6, "materials": ["%s"]}'


@pytest.fixture
def case(ready: Shanyu) -> dict[str, int]:
    """A forms_case case of 310101 whose task huangpu holds: {"case": …, "task": …}."""
    ready.ok("deploy", str(BPMN / "forms_case"), "--as", "owner")
    started = ready.ok("start", "forms_case", "--data", '{"district": "310101"}', "--as", "huangpu")
    [task] = started["tasks"]
    ready.ok("claim", str(task["id"]), "--as", "huangpu")
    return {"case": started["id"], "task": task["id"]}


def test_add_prints_the_id_and_the_form_takes_it(ready: Shanyu, case: dict[str, int], tmp_path: Path) -> None:
    report = tmp_path / "自评报告.pdf"
    report.write_bytes(PDF)
    run = ready("material", "add", str(report), "--as", "huangpu", "--case", str(case["case"]))
    assert (run.code, run.err) == (0, "")
    material_id = run.out.strip()
    assert material_id.startswith("m-") and "\n" not in material_id

    again = ready.ok("material", "add", str(report), "--as", "huangpu", "--case", str(case["case"]))
    digest = hashlib.sha256(PDF).hexdigest()
    assert {k: again[k] for k in ("id", "instance_id", "filename", "size", "sha256", "media_type", "uploaded_by")} == {
        "id": material_id, "instance_id": case["case"], "filename": "自评报告.pdf", "size": len(PDF), "sha256": digest,
        "media_type": "application/pdf", "uploaded_by": "huangpu"}
    assert again["uploaded_at"].endswith("+08:00")

    # an invented id, then a real one
    refused = ready.fails("complete", str(case["task"]), "--as", "huangpu", "--data", DATA % "m-deadbeef01",
                          "--json").error()
    assert refused["error"] == "invalid_data"
    assert [(e["field"], e["label"]) for e in refused["errors"]] == [("materials", "材料")]
    assert "m-deadbeef01" in refused["message"]
    ready.ok("complete", str(case["task"]), "--as", "huangpu", "--data", DATA % material_id)

    events = ready.ok("history", "show", str(case["case"]))["events"]
    assert events[-1]["payload"]["materials"] == [{"field": "materials", "id": material_id, "sha256": digest}]
    text = ready("history", "show", str(case["case"]))
    assert f"material {material_id} (materials) sha256 {digest}" in text.out


@pytest.mark.parametrize(("content", "env", "user", "code"), [
    (b"\x7fELF\x02\x01\x01" + bytes(range(32)), None, "huangpu", "material_type_refused"),
    (b"PK\x03\x04" + b"\x00" * 40, None, "huangpu", "material_type_refused"),
    (PDF, "10", "huangpu", "material_too_large"),
    (PDF, None, "xuhui", "permission_denied"),
    (PDF, None, "auditor", "permission_denied"),
])
def test_refusals_store_nothing(ready: Shanyu, case: dict[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                content: bytes, env: str | None, user: str, code: str) -> None:
    if env is not None:
        monkeypatch.setenv(MAX_BYTES_ENV, env)
    if user == "auditor":
        ready.ok("user", "add", "auditor", "--role", "auditor")
    upload = tmp_path / "upload.pdf"
    upload.write_bytes(content)
    run = ready.fails("material", "add", str(upload), "--as", user, "--case", str(case["case"]), "--json")
    assert run.error()["error"] == code
    assert "Traceback" not in run.err
    plain = ready.fails("material", "add", str(upload), "--as", user, "--case", str(case["case"]))
    assert plain.err.startswith("error: ") and len(plain.err.splitlines()) == 1
    assert ready.count(Material.id) == ready.count(MaterialBlob.sha256) == 0


def test_missing_file_and_case(ready: Shanyu, case: dict[str, int], tmp_path: Path) -> None:
    missing = ready.fails("material", "add", str(tmp_path / "nope.pdf"), "--as", "huangpu", "--case",
                          str(case["case"]), "--json")
    assert missing.error()["error"] == "invalid_data"
    upload = tmp_path / "a.txt"
    upload.write_text("材料", encoding="utf-8")
    assert ready.fails("material", "add", str(upload), "--as", "huangpu", "--case", "999",
                       "--json").error()["error"] == "not_found"
    assert ready("material", "add", str(upload), "--case", str(case["case"])).code == 2  # --as is required
    assert ready("material", "add", str(upload), "--as", "huangpu", "--case", str(2**40)).code == 2  # not an id
    assert ready.fails("material", "add", str(tmp_path), "--as", "huangpu", "--case", str(case["case"]),
                       "--json").error()["error"] == "invalid_data"  # a folder


def test_show_gives_the_record_and_the_bytes_to_who_may_see_the_case(ready: Shanyu, case: dict[str, int],
                                                                      tmp_path: Path) -> None:
    report = tmp_path / "审核报告.pdf"
    report.write_bytes(PDF)
    material_id = ready.ok("material", "add", str(report), "--as", "huangpu", "--case", str(case["case"]))["id"]
    digest = hashlib.sha256(PDF).hexdigest()
    shown = ready.ok("material", "show", material_id, "--as", "huangpu2")
    assert (shown["id"], shown["sha256"], shown["filename"], shown["instance_id"]) == (
        material_id, digest, "审核报告.pdf", case["case"])
    assert "output" not in shown

    copy = tmp_path / "copy.pdf"
    written = ready.ok("material", "show", material_id, "--as", "city", "--output", str(copy))
    assert written["output"] == str(copy) and copy.read_bytes() == PDF
    exists = ready.fails("material", "show", material_id, "--as", "city", "--output", str(copy), "--json").error()
    assert exists["error"] == "invalid_data" and copy.read_bytes() == PDF
    text = ready("material", "show", material_id, "--as", "huangpu")
    assert f"sha256 {digest}, case {case['case']}, added by huangpu" in text.out

    hidden = ready.fails("material", "show", material_id, "--as", "xuhui", "--output", str(tmp_path / "x"), "--json")
    assert hidden.error()["error"] == "not_found" and not (tmp_path / "x").exists()
    assert ready.fails("material", "show", "m-0000000000", "--json").error()["error"] == "not_found"
