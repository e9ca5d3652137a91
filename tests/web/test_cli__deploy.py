"""``shanyu deploy``: files and folders, unchanged redeploys that store nothing, and refusals (missing
files, clashing names, DOCTYPE and entities) that print to stderr only and exit 1.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import BPMN
from tests.web.conftest import Shanyu
from workflow.store import ProcessVersion


def init(shanyu: Shanyu) -> None:
    shanyu.ok("init")
    shanyu.ok("user", "add", "owner", "--role", "流程管理员")


def test_deploy_stores_a_version_once(shanyu: Shanyu) -> None:
    init(shanyu)
    [first] = shanyu.ok("deploy", str(BPMN / "engine_basic.bpmn"), "--as", "owner")
    assert first["process_id"] == "engine_basic"
    assert (first["version"], first["created"], first["name"]) == (1, True, "基本流程")
    assert isinstance(first["id"], int) and len(first["content_hash"]) == 64

    [again] = shanyu.ok("deploy", str(BPMN / "engine_basic.bpmn"), "--as", "owner")
    assert again == {**first, "created": False}
    assert shanyu.count(ProcessVersion.id) == 1

    plain = shanyu("deploy", str(BPMN / "engine_basic.bpmn"), "--as", "owner")
    assert (plain.code, plain.out.strip()) == (0, "engine_basic v1 (基本流程): unchanged, nothing deployed")


def test_deploy_a_folder_takes_its_diagrams_recursively(shanyu: Shanyu, tmp_path: Path) -> None:
    init(shanyu)
    folder = tmp_path / "diagrams"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(BPMN / "engine_basic.bpmn", folder / "engine_basic.bpmn")
    shutil.copy(BPMN / "engine_sender.bpmn", folder / "sub" / "engine_sender.BPMN")
    (folder / "README.txt").write_text("not a diagram", encoding="utf-8")

    results = shanyu.ok("deploy", str(folder), "--as", "owner")
    assert sorted((r["process_id"], r["version"], r["created"]) for r in results) == [
        ("engine_basic", 1, True),
        ("engine_sender", 1, True),
    ]
    assert len({r["content_hash"] for r in results}) == 1  # one bundle

    plain = shanyu("deploy", str(folder), "--as", "owner")
    assert plain.code == 0
    assert sorted(plain.out.splitlines()) == [
        "engine_basic v1 (基本流程): unchanged, nothing deployed",
        "engine_sender v1 (发送审核结果): unchanged, nothing deployed",
    ]


def test_deploy_refuses_an_empty_folder_and_clashing_names(shanyu: Shanyu, tmp_path: Path) -> None:
    init(shanyu)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert shanyu.fails("deploy", str(empty), "--as", "owner").err.strip() == f"error: {empty} holds no .bpmn or .dmn files."

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        shutil.copy(
            BPMN / ("engine_basic.bpmn" if name == "a" else "engine_sender.bpmn"), tmp_path / name / "x.bpmn"
        )
    run = shanyu.fails("deploy", str(tmp_path / "a"), str(tmp_path / "b"), "--as", "owner")
    assert "'x.bpmn'" in run.err and "both be named" in run.err
    assert shanyu.count(ProcessVersion.id) == 0


def test_deploy_a_missing_file_fails_on_stderr_only(shanyu: Shanyu, tmp_path: Path) -> None:
    init(shanyu)
    missing = tmp_path / "nope.bpmn"
    run = shanyu.fails("deploy", str(missing), "--as", "owner")
    assert run.err.strip() == f"error: {missing}: no such file or directory."

    run = shanyu.fails("deploy", str(missing), "--json", "--as", "owner")
    assert run.error() == {"error": "invalid_data", "message": f"{missing}: no such file or directory."}
    assert shanyu.count(ProcessVersion.id) == 0


def test_deploy_refuses_doctype_and_entities(shanyu: Shanyu, tmp_path: Path) -> None:
    init(shanyu)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42", encoding="utf-8")
    evil = tmp_path / "evil.bpmn"
    evil.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<!DOCTYPE definitions [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" '
        'targetNamespace="http://bpmn.io/schema/bpmn">\n'
        '  <bpmn:process id="evil" name="&xxe;" isExecutable="true">'
        '<bpmn:startEvent id="S" /></bpmn:process>\n'
        "</bpmn:definitions>\n",
        encoding="utf-8",
    )

    run = shanyu.fails("deploy", str(evil), "--as", "owner")
    assert "evil.bpmn" in run.err and "DOCTYPE" in run.err
    assert "TOP-SECRET-42" not in run.err

    error = shanyu.fails("deploy", str(evil), "--json", "--as", "owner").error()
    assert (error["error"], error["file"]) == ("unsafe_xml", "evil.bpmn")
    assert shanyu.count(ProcessVersion.id) == 0
