"""SpiffWorkflow runs every expression path through the sandbox, and errors name the task.

Error contract under test: script tasks, gateway conditions and other ``script_engine.evaluate``
callers raise ``UnsafeExpression``/``ExpressionError`` with the task's name; DMN rule evaluation
raises SpiffWorkflow's ``WorkflowTaskException`` wrapping ours (``find_sandbox_error`` unwraps it);
correlation keys reach the environment directly and raise ours without a task name.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.message import CorrelationProperty, MessageEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.specs.model import DecisionTable, Input, InputEntry, Output, OutputEntry, Rule
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from workflow.errors import ExpressionError, UnsafeExpression, WorkflowFailed
from workflow.sandbox import SandboxEnvironment, SandboxScriptEngine, find_sandbox_error

DIAGRAM = Path(__file__).parent.parent / "bpmn" / "sandbox_gateway.bpmn"
SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))


def parse() -> tuple[Any, Any]:
    parser = SpiffBpmnParser()
    hardened = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    parser.add_bpmn_xml(etree.parse(str(DIAGRAM), hardened), filename=DIAGRAM.name)
    return parser.get_spec("sandbox_gateway"), parser.get_subprocess_specs("sandbox_gateway")


def start(data: dict[str, Any], *, roundtrip: bool, script: str | None = None) -> BpmnWorkflow:
    spec, subprocess_specs = parse()
    if script is not None:
        spec.task_specs["add_up"].script = script
    wf = BpmnWorkflow(spec, subprocess_specs, script_engine=SandboxScriptEngine())
    wf.task_tree.data.update(data)
    if roundtrip:
        wf = SERIALIZER.deserialize_json(SERIALIZER.serialize_json(wf))
        wf.script_engine = SandboxScriptEngine()
    return wf


def completed(wf: BpmnWorkflow) -> set[str]:
    return {t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id}


@pytest.mark.parametrize("roundtrip", [False, True], ids=["plain", "roundtrip"])
@pytest.mark.parametrize(
    ("a", "b", "end", "other"),
    [(4, 7, "end_high", "end_low"), (1, 2, "end_low", "end_high"), (5, 5, "end_high", "end_low")],
)
def test_script_task_and_gateway_route_through_the_sandbox(
    a: int, b: int, end: str, other: str, roundtrip: bool
) -> None:
    wf = start({"a": a, "b": b}, roundtrip=roundtrip)
    wf.do_engine_steps()
    assert wf.is_completed()
    assert wf.data["total"] == a + b
    assert end in completed(wf) and other not in completed(wf)
    assert "_g" not in wf.data and "__builtins__" not in wf.data


@pytest.mark.parametrize("roundtrip", [False, True], ids=["plain", "roundtrip"])
@pytest.mark.parametrize("script", ["__import__('os')", "total = ().__class__", "total = 'a' * 10**10"])
def test_an_unsafe_script_fails_naming_the_task(script: str, roundtrip: bool) -> None:
    wf = start({"a": 1, "b": 2}, roundtrip=roundtrip, script=script)
    with pytest.raises(UnsafeExpression) as caught:
        wf.do_engine_steps()
    err = caught.value
    assert err.task == "计算总分"
    assert err.details["bpmn_id"] == "add_up"
    assert err.expression == script
    assert "in task '计算总分'" in err.message and repr(script) in err.message
    assert not wf.is_completed()


def test_a_missing_variable_is_an_expression_error_naming_the_task() -> None:
    wf = start({"a": 1}, roundtrip=False)
    with pytest.raises(ExpressionError) as caught:
        wf.do_engine_steps()
    assert "name 'b' is not defined in the task data; available: a" in caught.value.message
    assert caught.value.details["task"] == "计算总分"
    assert caught.value.details["bpmn_id"] == "add_up"


def test_a_failing_gateway_condition_names_the_gateway() -> None:
    wf = start({"a": 1, "b": 2}, roundtrip=False, script="total = None")
    with pytest.raises(ExpressionError) as caught:
        wf.do_engine_steps()
    assert caught.value.details["task"] == "总分是否达标"
    assert "TypeError" in caught.value.message
    assert caught.value.details["expression"] in ("total >= 10", "total < 10")


def test_the_engine_accepts_only_a_sandbox_environment() -> None:
    with pytest.raises(TypeError):
        SandboxScriptEngine(TaskDataEnvironment())
    engine = SandboxScriptEngine()
    with pytest.raises(TypeError):
        engine.environment = TaskDataEnvironment()
    assert isinstance(engine.environment, SandboxEnvironment)


def test_validate_keeps_syntax_errors_for_dmn_and_checks_safety() -> None:
    engine = SandboxScriptEngine()
    engine.validate("score >= 80")
    with pytest.raises(SyntaxError):
        engine.validate(">= 80")  # DMN's needs_eq relies on SyntaxError here
    with pytest.raises(UnsafeExpression):
        engine.validate("__import__('os')")


def dmn_task(data: dict[str, Any]) -> Any:
    wf = start({}, roundtrip=False)
    task = wf.get_tasks(state=TaskState.READY)[0]
    task.data = dict(data)
    return task


def decision_table(*cells: tuple[str, str]) -> DecisionTable:
    table = DecisionTable("levels", "等级", "UNIQUE")
    column = Input("in_score", "score", "score", "score", "integer")
    result = Output("out_level", "level", "level", "string")
    for row, (condition, output) in enumerate(cells, start=1):
        rule = Rule(f"rule_{row}")
        rule.row_number = row
        entry, out = InputEntry(f"in_{row}", column), OutputEntry(f"out_{row}", result)
        entry.lhs, out.text = [condition], output
        rule.inputEntries, rule.outputEntries = [entry], [out]
        table.rules.append(rule)
    return table


@pytest.mark.parametrize(("score", "level"), [(95, "优秀"), (85, "良好"), (10, "一般")])
def test_dmn_rules_evaluate_in_the_sandbox(score: int, level: str) -> None:
    table = decision_table((">= 90", '"优秀"'), ("? >= 80 and ? < 90", '"良好"'), ("< 80", '"一般"'))
    assert DMNEngine(table).result(dmn_task({"score": score})) == {"level": level}


@pytest.mark.parametrize(
    ("cell", "output", "raised"),
    [
        ("__import__('os')", '"x"', WorkflowTaskException),  # input cells: DMNEngine wraps what it catches
        ("? > 10**10**10", '"x"', WorkflowTaskException),
        ("> 1", "().__class__", UnsafeExpression),  # output cells: ours (a business rule task wraps it too)
        ("> 1", "'a' * 10**10", UnsafeExpression),
    ],
)
def test_unsafe_dmn_cells_are_refused(cell: str, output: str, raised: type[Exception]) -> None:
    with pytest.raises(raised) as caught:
        DMNEngine(decision_table((cell, output))).result(dmn_task({"score": 5}))
    assert isinstance(find_sandbox_error(caught.value), UnsafeExpression)


def test_message_correlations_are_computed_in_the_sandbox() -> None:
    engine = SandboxScriptEngine()
    message = MessageEventDefinition("district_report")
    keys = [CorrelationProperty("district", "district_code", ["case"])]
    assert message.calculate_correlations(engine, keys, {"district_code": "310115"}) == {
        "case": {"district": "310115"}
    }
    bad = [CorrelationProperty("district", "district_code.__class__", ["case"])]
    with pytest.raises(UnsafeExpression):
        message.calculate_correlations(engine, bad, {"district_code": "310115"})


def test_multi_instance_cardinality_is_capped() -> None:
    engine = SandboxScriptEngine()
    spec = SimpleNamespace(
        cardinality="len(districts) * n", bpmn_name="逐区审核", bpmn_id="review", name="review"
    )
    task = SimpleNamespace(data={"districts": ["a", "b"], "n": 3}, task_spec=spec)
    assert engine.evaluate(task, "len(districts) * n") == 6
    task.data["n"] = 10**6
    with pytest.raises(UnsafeExpression, match="cardinality") as caught:
        engine.evaluate(task, "len(districts) * n")
    assert caught.value.task == "逐区审核"


def test_service_tasks_are_not_run_by_the_sandbox() -> None:
    task = SimpleNamespace(
        data={}, task_spec=SimpleNamespace(bpmn_name="发布公示", bpmn_id="publish", name="publish")
    )
    with pytest.raises(WorkflowFailed, match="registered handlers") as caught:
        SandboxScriptEngine().call_service(task, operation_name="publish_notice")
    assert "发布公示" in caught.value.message
    assert caught.value.details["operation"] == "publish_notice"


def test_find_sandbox_error_follows_the_exception_chain() -> None:
    inner = UnsafeExpression("bad", expression="x")
    try:
        try:
            raise inner
        except UnsafeExpression:
            raise RuntimeError("wrapped") from None
    except RuntimeError as outer:
        assert find_sandbox_error(outer) is None  # `from None` cut the chain on purpose
    wrapped = RuntimeError("wrapped")
    wrapped.__context__ = inner
    assert find_sandbox_error(wrapped) is inner
    assert find_sandbox_error(ValueError()) is None


def test_a_script_changes_only_its_own_copy_of_shared_values() -> None:
    """Task data shares nested lists and dicts with earlier tasks (one-level copies): a script that
    changes one in place must not change what those tasks hold."""
    env = SandboxEnvironment()
    earlier = {"report": {"items": [1]}}
    context = {"report": earlier["report"]}
    env.execute('report["items"].append(2)\nreport["seen"] = True', context)
    assert context == {"report": {"items": [1, 2], "seen": True}}
    assert earlier == {"report": {"items": [1]}}
    with pytest.raises(ExpressionError):
        env.execute('report["items"].append(3)\nboom = 1 / 0', context)
    assert context == {"report": {"items": [1, 2], "seen": True}}  # a failed script changes nothing


@pytest.mark.parametrize("expression", ['items.append(2) or True', 'len(d.pop("k")) > 0', 'd.update({"k": 1}) is None',
                                        'not s.add(1)'])
def test_an_expression_may_not_change_data_in_place(expression: str) -> None:
    env = SandboxEnvironment()
    context = {"items": [1], "d": {"k": [1]}, "s": [1]}
    with pytest.raises(UnsafeExpression, match="may not change data in place"):
        env.evaluate(expression, context)
    assert context == {"items": [1], "d": {"k": [1]}, "s": [1]}
