"""Pins the private SpiffWorkflow uses (workflow/adapters/spiff.py) against the library's own
public view of the same things, on a running case with subprocesses, so that an upgrade that
renames or changes them fails here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from workflow import timeshim
from workflow.adapters.spiff import catch_message, child_ids, parent_id
from workflow.paths import all_workflows
from workflow.specs import bundle_from_paths, parse_bundle

TESTS = Path(__file__).resolve().parents[1] / "bpmn"


def workflow_of(name: str, process_id: str, data: dict[str, object]) -> BpmnWorkflow:
    spec, subs = parse_bundle(bundle_from_paths([TESTS / name])).get_specs(process_id)
    workflow = BpmnWorkflow(spec, subs)
    workflow.task_tree.data.update(data)
    workflow.do_engine_steps()
    return workflow


def run_ready(workflow: BpmnWorkflow) -> None:
    for task in workflow.get_tasks(state=TaskState.READY):
        task.run()
    workflow.do_engine_steps()


def test_child_and_parent_ids_match_the_public_task_properties() -> None:
    workflow = workflow_of("state_nested.bpmn", "state_nested", {"district": "310101", "score": 45})
    run_ready(workflow)
    assert len(workflow.subprocesses) == 2
    seen = 0
    for _key, wf in all_workflows(workflow):
        for task in wf.tasks.values():
            assert child_ids(task) == [c.id for c in task.children]
            assert parent_id(task) == (task.parent.id if task.parent is not None else None)
            seen += 1
    assert seen > 10


def test_catch_message_moves_only_the_chosen_waiting_task_on() -> None:
    start = datetime(2030, 1, 1, 9, tzinfo=UTC)
    with timeshim.at(start):
        workflow = workflow_of("engine_basic.bpmn", "engine_basic", {"district": "310101"})
        run_ready(workflow)  # Task_submit; the one-hour timer starts
    with timeshim.at(start + timedelta(hours=2)):
        workflow.refresh_timers()
        workflow.do_engine_steps()
        run_ready(workflow)  # Task_review
    [task] = [t for t in workflow.get_tasks(state=TaskState.WAITING) if t.task_spec.bpmn_id == "Catch_audit"]
    catch_message(task, {"district": "310101", "result": "pass"})
    assert task.state == TaskState.READY  # caught; the engine's steps complete it
    workflow.do_engine_steps()
    assert task.state == TaskState.COMPLETED
    assert task.data["audit"] == {"district": "310101", "result": "pass"}
