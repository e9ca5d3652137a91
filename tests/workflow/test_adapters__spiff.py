"""Pins the private SpiffWorkflow uses (workflow/adapters/spiff.py) against the library's own
public view of the same things, on a running case with subprocesses, so that an upgrade that
renames or changes them fails here."""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from workflow import timeshim
from workflow.adapters.spiff import (
    LIBRARY_MERGE,
    REGISTRY,
    catch_message,
    child_ids,
    merge_data,
    merge_list,
    parent_id,
)
from workflow.paths import all_workflows, task_paths
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


# --- task data merges (merge_data over DeepMerge.merge) ----------------------------------------


def _data_by_path(workflow: BpmnWorkflow, *, finished: bool = False) -> dict[str, object]:
    paths = task_paths(workflow)
    return {paths[str(t.id)]: json.dumps(t.data, sort_keys=True) for _k, wf in all_workflows(workflow)
            for t in wf.tasks.values() if not finished or t.has_state(TaskState.FINISHED_MASK)}


def _join_case(restore_before_join: bool) -> BpmnWorkflow:
    """``join_nested``: two branches set ``notified`` differently and meet at a parallel join;
    completing ``Task_wait`` runs the join. Optionally through SpiffWorkflow's serializer first,
    as a case restored from the database between two inputs."""
    workflow = workflow_of("join_nested.bpmn", "join_nested", {})
    if restore_before_join:
        serializer = BpmnWorkflowSerializer(REGISTRY)
        workflow = serializer.deserialize_json(serializer.serialize_json(workflow))
    [task] = workflow.get_tasks(state=TaskState.READY)
    assert task.task_spec.bpmn_id == "Task_wait"
    task.run()
    workflow.do_engine_steps()
    return workflow


def test_a_join_changes_the_data_of_no_earlier_task() -> None:
    workflow = workflow_of("join_nested.bpmn", "join_nested", {})
    before = _data_by_path(workflow, finished=True)
    assert len(before) >= 4  # Begin, Set, Fork, Notify_a
    [task] = workflow.get_tasks(state=TaskState.READY)
    task.run()
    workflow.do_engine_steps()
    after = _data_by_path(workflow)
    assert {path: after[path] for path in before} == before
    [first] = [t for t in workflow.get_tasks() if t.task_spec.bpmn_id == "Set"]
    assert first.data["notified"] == {"outbox": [1], "by": {"roles": ["a"]}}


def test_a_case_run_without_a_break_holds_the_data_of_one_restored_between_inputs() -> None:
    straight, restored = _join_case(False), _join_case(True)
    assert _data_by_path(straight) == _data_by_path(restored)
    [after] = [t for t in straight.get_tasks(state=TaskState.READY)]
    # the join takes the other branch's values first, then its own branch's (SpiffWorkflow's order)
    assert after.data["notified"] == {"outbox": [1], "by": {"roles": ["a"]}}


def _random_json(rnd: random.Random, depth: int = 0, *, force_dict: bool = False) -> object:
    roll = 0.0 if force_dict else rnd.random()
    if depth < 3 and roll < 0.3:
        return {rnd.choice("abcd"): _random_json(rnd, depth + 1) for _ in range(rnd.randint(0, 4))}
    if depth < 3 and roll < 0.55:
        return [_random_json(rnd, depth + 1) for _ in range(rnd.randint(0, 4))]
    return rnd.choice([0, 1, 2, "x", "y", None, True, 1.5])


def test_merge_data_gives_the_librarys_result_and_changes_nothing_it_was_given() -> None:
    rnd = random.Random(20261204)
    checked = 0
    for _ in range(3000):
        a, b = _random_json(rnd, force_dict=True), _random_json(rnd, force_dict=True)
        assert isinstance(a, dict) and isinstance(b, dict)
        a_text, b_text = json.dumps(a, sort_keys=True), json.dumps(b, sort_keys=True)
        shared = {key: value for key, value in a.items()}  # another task holding the same values
        try:
            expected: object = LIBRARY_MERGE(copy.deepcopy(a), copy.deepcopy(b))
        except Exception as exc:  # noqa: BLE001 - the library refuses some shapes; so must we
            expected = type(exc)
        try:
            got: object = merge_data(a, b)
        except Exception as exc:  # noqa: BLE001
            got = type(exc)
        assert got == expected, (a_text, b_text)
        assert json.dumps(shared, sort_keys=True) == a_text  # a's values: copied before they changed
        assert json.dumps(b, sort_keys=True) == b_text
        checked += 1
    assert checked == 3000


def test_the_library_merge_still_changes_values_other_tasks_hold() -> None:
    """Pins why ``merge_data`` replaces ``DeepMerge.merge``: when an upgrade fixes this, the
    replacement can go (and this test says so by failing)."""
    earlier = {"notified": {"outbox": [1]}}
    later = {"notified": earlier["notified"]}  # a task's data, inherited one level deep
    LIBRARY_MERGE(later, {"notified": {"outbox": [1, 2]}})
    assert earlier["notified"]["outbox"] == [1, 2]
    assert DeepMerge.merge is merge_data and DeepMerge.merge_array is merge_list


def test_the_library_serializers_delta_loses_a_value_replaced_by_an_equal_one_of_another_type() -> None:
    """Pins why the state oracle's serializer round trip writes task data whole
    (``tests.oracle.WholeDataTaskConverter``) and why Shanyu stores it whole: SpiffWorkflow's task
    converter writes a task's data as the keys that differ from its parent's by ``==``, so 100
    after 100.0, or True after 1, comes back as the parent's value. When an upgrade keeps the
    type, the oracle can use the library's converter unchanged."""
    from tests.oracle import round_trip_serializer

    workflow = workflow_of("join_nested.bpmn", "join_nested", {"rate": 100.0, "flag": 1})
    [task] = workflow.get_tasks(state=TaskState.READY)
    task.set_data(rate=100, flag=True)
    library = BpmnWorkflowSerializer(REGISTRY)
    back = library.deserialize_json(library.serialize_json(workflow)).get_task_from_id(task.id)
    assert (repr(back.data["rate"]), repr(back.data["flag"])) == ("100.0", "1")  # the parent's, not the task's
    whole = round_trip_serializer()
    kept = whole.deserialize_json(whole.serialize_json(workflow)).get_task_from_id(task.id)
    assert (repr(kept.data["rate"]), repr(kept.data["flag"])) == ("100", "True")
    assert kept.data == task.data and json.dumps(kept.data, sort_keys=True) == json.dumps(task.data, sort_keys=True)
