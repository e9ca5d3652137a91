"""Parsing, validating, hashing and statically checking deployment bundles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from workflow import specs
from workflow.errors import InvalidSpec, NotFound, UnsafeExpression, UnsafeXml
from workflow.specs import (
    Bundle,
    bundle_from_files,
    bundle_from_paths,
    describe_bundle,
    dmn_input_test,
    load_specs,
    parse_bundle,
)

BPMN_DIR = Path(__file__).resolve().parents[1] / "bpmn"


def fixture(*names: str) -> Bundle:
    return bundle_from_paths([BPMN_DIR / name for name in names])


def text(name: str) -> str:
    return (BPMN_DIR / name).read_text(encoding="utf-8")


# -- a valid bundle ----------------------------------------------------------------------------


def test_simple_bundle_parses_and_is_described() -> None:
    parsed = parse_bundle(fixture("specs_simple.bpmn"))
    assert parsed.process_ids == ["specs_simple"]
    assert parsed.process_names == {"specs_simple": "简单流程"}
    assert parsed.lanes("specs_simple") == ["区有关部门", "市有关部门"]
    [described] = describe_bundle(parsed)
    assert described["id"] == "specs_simple"
    assert described["file"] == "specs_simple.bpmn"
    assert described["lanes"] == ["区有关部门", "市有关部门"]
    assert described["user_tasks"] == [
        {"id": "Task_submit", "name": "提交申报材料", "lane": "区有关部门"},
        {"id": "Task_review", "name": "审核申报材料", "lane": "市有关部门"},
    ]
    assert described["timers"] == [
        {
            "id": "Event_wait_hour",
            "name": "等待一小时",
            "lane": "区有关部门",
            "kind": "duration",
            "expression": '"PT1H"',
        }
    ]
    assert described["messages_caught"] == [
        {"id": "Event_audit_result", "name": "收到审核结果", "lane": "市有关部门", "message": "audit_result"}
    ]
    assert described["messages_thrown"] == []


def round_trip(workflow: BpmnWorkflow) -> BpmnWorkflow:
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    restored: BpmnWorkflow = serializer.deserialize_json(serializer.serialize_json(workflow))
    return restored


@pytest.mark.parametrize("restore", [False, True], ids=["plain", "save-restore"])
def test_what_we_parse_runs(restore: bool) -> None:
    spec, subprocess_specs = parse_bundle(fixture("specs_simple.bpmn")).get_specs("specs_simple")
    workflow = BpmnWorkflow(spec, subprocess_specs)
    workflow = round_trip(workflow) if restore else workflow
    workflow.do_engine_steps()
    workflow = round_trip(workflow) if restore else workflow
    ready = workflow.get_tasks(state=TaskState.READY)
    assert [(t.task_spec.bpmn_id, t.task_spec.lane) for t in ready] == [("Task_submit", "区有关部门")]


def test_a_safe_decision_table_is_accepted_and_decides_like_the_check_assumes() -> None:
    parsed = parse_bundle(fixture("specs_grades.bpmn", "specs_grades.dmn"))
    results = {}
    for score, kind in [(90, "a"), (90, "c"), (70, "z"), (10, "a")]:
        workflow = BpmnWorkflow(*parsed.get_specs("specs_grades"))
        workflow.get_tasks()[0].data.update(score=score, kind=kind)
        workflow.do_engine_steps()
        assert workflow.is_completed()
        results[score, kind] = workflow.last_task.data["grade"]
    assert results == {(90, "a"): "优秀", (90, "c"): "不合格", (70, "z"): "合格", (10, "a"): "不合格"}


# -- hashing -----------------------------------------------------------------------------------


def test_the_same_files_give_the_same_hash_whatever_the_order() -> None:
    files = {"b.bpmn": text("specs_simple.bpmn"), "a.dmn": text("specs_grades.dmn")}
    forwards = bundle_from_files(files)
    backwards = bundle_from_files(dict(reversed(list(files.items()))))
    as_bytes = bundle_from_files({name: data.encode() for name, data in files.items()})
    assert forwards.content_hash == backwards.content_hash == as_bytes.content_hash
    assert [name for name, _ in forwards.files] == ["a.dmn", "b.bpmn"]
    assert len(forwards.content_hash) == 64


def test_one_changed_byte_or_name_changes_the_hash() -> None:
    original = text("specs_simple.bpmn")
    changed = original.replace("PT1H", "PT2H")
    assert len(changed) == len(original)
    base = bundle_from_files({"x.bpmn": original}).content_hash
    assert bundle_from_files({"x.bpmn": changed}).content_hash != base
    assert bundle_from_files({"y.bpmn": original}).content_hash != base


def test_a_directory_contributes_its_bpmn_dmn_and_form_files_recursively(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "simple.bpmn").write_text(text("specs_simple.bpmn"), encoding="utf-8")
    (tmp_path / "grades.dmn").write_text(text("specs_grades.dmn"), encoding="utf-8")
    (tmp_path / "forms").mkdir()
    (tmp_path / "forms" / "form.json").write_text("{}", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not deployed", encoding="utf-8")
    bundle = bundle_from_paths([tmp_path])
    assert [name for name, _ in bundle.files] == ["forms/form.json", "grades.dmn", "sub/simple.bpmn"]
    files = {"sub/simple.bpmn": text("specs_simple.bpmn"), "grades.dmn": text("specs_grades.dmn"),
             "forms/form.json": "{}"}
    assert bundle.content_hash == bundle_from_files(files).content_hash


def test_a_bundle_rejects_a_hash_that_does_not_match() -> None:
    bundle = fixture("specs_simple.bpmn")
    with pytest.raises(ValueError):
        Bundle(files=bundle.files, content_hash="0" * 64)


# -- refused bundles ---------------------------------------------------------------------------


def test_malformed_xml_is_reported_with_its_line() -> None:
    broken = text("specs_simple.bpmn").replace(
        '<bpmn:endEvent id="EndEvent_1" name="结束">', "<bpmn:endEvent>", 1
    )
    line = broken.splitlines().index("      <bpmn:incoming>Flow_5</bpmn:incoming>") + 1
    with pytest.raises(InvalidSpec) as caught:
        parse_bundle(bundle_from_files({"broken.bpmn": broken.replace("</bpmn:endEvent>", "</bpmn:end>")}))
    assert caught.value.details["file"] == "broken.bpmn"
    assert caught.value.details["line"] >= line
    assert "broken.bpmn, line" in caught.value.message


def test_a_schema_invalid_document_is_refused() -> None:
    with pytest.raises(InvalidSpec) as caught:
        parse_bundle(fixture("specs_invalid_xsd.bpmn"))
    message = caught.value.message
    assert message.startswith("specs_invalid_xsd.bpmn, line 9, element 'Frobnicate_1':")
    assert "bpmn:frobnicate" in message and "not expected" in message


def test_a_call_to_a_missing_process_names_it_and_its_caller() -> None:
    with pytest.raises(InvalidSpec) as caught:
        parse_bundle(fixture("specs_missing_ref.bpmn"))
    assert "Process_not_deployed" in caught.value.message
    assert caught.value.details == {"file": "specs_missing_ref.bpmn", "line": 7, "element": "Call_review"}


@pytest.mark.parametrize(
    ("original", "broken", "missing"),
    [
        ('targetRef="EndEvent_1"', 'targetRef="EndEvent_gone"', "EndEvent_gone"),
        ('messageRef="Message_audit_result"', 'messageRef="Message_gone"', "Message_gone"),
    ],
)
def test_a_reference_to_a_missing_element_names_it(original: str, broken: str, missing: str) -> None:
    document = text("specs_simple.bpmn").replace(original, broken)
    with pytest.raises(InvalidSpec) as caught:
        parse_bundle(bundle_from_files({"specs_simple.bpmn": document}))
    assert f"'{missing}'" in caught.value.message
    assert caught.value.details["missing"] == missing
    assert (
        caught.value.details["line"]
        == document.splitlines().index(next(line for line in document.splitlines() if broken in line)) + 1
    )


def test_a_bundle_without_a_process_is_refused() -> None:
    with pytest.raises(InvalidSpec, match="no executable process"):
        parse_bundle(fixture("specs_grades.dmn"))


def test_a_doctype_upload_is_refused_as_unsafe_xml() -> None:
    document = "<!DOCTYPE bpmn:definitions>\n" + text("specs_simple.bpmn").split("?>", 1)[1]
    with pytest.raises(UnsafeXml):
        parse_bundle(bundle_from_files({"specs_simple.bpmn": document}))


def test_an_unknown_process_is_not_found() -> None:
    with pytest.raises(NotFound):
        parse_bundle(fixture("specs_simple.bpmn")).get_specs("nope")


# -- the static sandbox check ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "expression", "named"),
    [
        (["specs_unsafe_condition.bpmn"], "__import__('os')", ["Flow_bad", "Gateway_decide"]),
        (["specs_unsafe_script.bpmn"], "().__class__.__base__", ["Task_escape", "script"]),
        (["specs_unsafe_prescript.bpmn"], "__builtins__['eval']('1')", ["Task_fill", "post-script"]),
        (["specs_unsafe_timer.bpmn"], "__import__('os').system('id')", ["Event_deadline", "timer"]),
        (["specs_simple.bpmn", "specs_unsafe_cell.dmn"], "().__class__", ["Decision_unsafe_cell", "rule 2"]),
    ],
    ids=["condition", "script", "post-script", "timer", "dmn-cell"],
)
def test_unsafe_expressions_are_refused_at_deploy_time(
    files: list[str], expression: str, named: list[str]
) -> None:
    with pytest.raises(UnsafeExpression) as caught:
        parse_bundle(fixture(*files))
    assert expression in caught.value.expression
    for name in [files[-1], *named]:
        assert name in caught.value.message


def with_process_correlation(property_id: str, expression: str) -> Bundle:
    document = text("specs_simple.bpmn").replace(
        "xmlns:xsi=", 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" xmlns:xsi='
    )
    catch = '<bpmn:messageEventDefinition id="MessageEventDefinition_audit_result" messageRef="Message_audit_result"'
    correlation = (
        "><bpmn:extensionElements><spiffworkflow:processVariableCorrelation>"
        f"<spiffworkflow:propertyId>{property_id}</spiffworkflow:propertyId>"
        f"<spiffworkflow:expression>{expression}</spiffworkflow:expression>"
        "</spiffworkflow:processVariableCorrelation></bpmn:extensionElements></bpmn:messageEventDefinition>"
    )
    assert catch + " />" in document
    return bundle_from_files({"specs_simple.bpmn": document.replace(catch + " />", catch + correlation)})


def test_process_correlations_are_checked_and_their_ids_must_be_names() -> None:
    assert parse_bundle(with_process_correlation("district_code", "district")).process_ids == ["specs_simple"]
    with pytest.raises(UnsafeExpression) as caught:
        parse_bundle(with_process_correlation("district_code", "__import__('os')"))
    assert "Event_audit_result" in caught.value.message and "district_code" in caught.value.message
    with pytest.raises(InvalidSpec, match="not a plain name"):  # it would be pasted into an XPath query
        parse_bundle(with_process_correlation("x'] | //*[count(//*)] | x['", "district"))


def test_every_kind_of_expression_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str, str]] = []

    def spy(source: str, *, mode: str = "eval", task: str | None = None) -> None:
        seen.append((source, mode, task or ""))

    monkeypatch.setattr(specs, "check_expression", spy)
    parse_bundle(fixture("specs_expressions.bpmn", "specs_grades.dmn"))
    checked = {(source, mode) for source, mode, _ in seen}
    assert checked >= {
        ("total = 1", "exec"),  # script task
        ("before = 1", "exec"),  # pre-script
        ("after = 2", "exec"),  # post-script
        ("len(reviewers)", "eval"),  # multi-instance cardinality
        ("enough_reviews", "eval"),  # multi-instance completion condition
        ("attempts < 3", "eval"),  # standard loop condition
        ("district_office", "eval"),  # service task parameter
        ("total > 0", "eval"),  # gateway condition
        ('"PT2H"', "eval"),  # timer
        ("materials_ready", "eval"),  # conditional event
        ('{"district": district}', "eval"),  # message payload
        ("district_code_of(district)", "eval"),  # message correlation
        ("score", "eval"),  # DMN input expression
        ("score>= 80", "eval"),  # DMN input cell, as the engine evaluates it
        ('dmninputexpr in ("a", "b")', "eval"),
        ("60 <= dmninputexpr < 80", "eval"),
        ('"优秀"', "eval"),  # DMN output cell
    }
    labels = {source: task for source, _, task in seen}
    assert labels["total > 0"].startswith("specs_expressions.bpmn: sequence flow 继续 [Flow_cond]")
    assert labels["score>= 80"].startswith("specs_grades.dmn: decision 评分等级 [Decision_grades] rule 1")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("> 80", "score> 80"),
        ('"a","b"', '(score) == ("a","b")'),
        ("60 <= ? < 80", "60 <= dmninputexpr < 80"),
        ('"why?"', '(score) == ("why?")'),
        ("in (1, 2)", "scorein (1, 2)"),  # sic: SpiffWorkflow concatenates; write "? in (1, 2)"
    ],
)
def test_dmn_input_cells_become_the_expression_spiffworkflow_evaluates(cell: str, expected: str) -> None:
    assert dmn_input_test("score", cell) == expected


# -- the spec cache ----------------------------------------------------------------------------


def test_load_specs_parses_a_bundle_once(monkeypatch: pytest.MonkeyPatch) -> None:
    load_specs.cache_clear()
    calls: list[str] = []
    real = specs.parse_bundle

    def counting(bundle: Bundle) -> Any:
        calls.append(bundle.content_hash)
        return real(bundle)

    monkeypatch.setattr(specs, "parse_bundle", counting)
    first = load_specs(fixture("specs_simple.bpmn"), "specs_simple")
    again = load_specs(fixture("specs_simple.bpmn"), "specs_simple")  # equal content, new object
    assert again is first
    assert len(calls) == 1
    load_specs(fixture("specs_grades.bpmn", "specs_grades.dmn"), "specs_grades")
    assert len(calls) == 2
    load_specs.cache_clear()
