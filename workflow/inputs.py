"""Applying an input to a case: the one place where a start, a completion, a delivered message or
a timer sweep becomes SpiffWorkflow calls.

The engine applies live inputs through these functions and replay applies recorded ones through
the same functions (``apply_recorded``), inside the same ``step``: SpiffWorkflow's clock set to the
input's time, handler and function results recorded (or, in replay, handed back from the log),
and the case's waiting tasks in canonical order. So the engine and replay cannot drift apart.

Every input ends with the case running until it waits (``run_until_waiting``), which refuses a case
whose task tree grows deeper than SpiffWorkflow can follow: its task iterators stop at depth 1000
(``BpmnTaskIterator``'s ``max_depth``), so a task below that is never seen ready and the case would
stall without a word. A loop that never waits (no user task, message or timer on it) gets there
within one input; a case that loops through a user task hundreds of times, over many. Either way
the input is refused with ``WorkflowFailed`` naming the task, and nothing is saved.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task

from . import timeshim
from .adapters.spiff import MERGE_MODE, catch_message
from .digest import canonical_order
from .errors import WorkflowFailed
from .scripting import EngineScriptEngine, StepLog
from .state import LoadedCase

# The history event each input is recorded as.
STARTED, COMPLETED, DELIVERED, FIRED = "instance_started", "task_completed", "message_delivered", "timer_fired"
# Events that record a change of who holds a task, not of the workflow state.
NO_STATE_CHANGE = frozenset({"task_claimed", "task_released", "task_reassigned"})
# How deep a workflow's task tree may grow: below SpiffWorkflow's iterator limit of 1000 (see above),
# with room for the tasks an input adds after the one it checks.
MAX_TREE_DEPTH = 900


@contextmanager
def step(case: LoadedCase, script_engine: EngineScriptEngine, now: datetime, log: StepLog) -> Iterator[StepLog]:
    """The frame every input is applied in (see the module docstring)."""
    clock = timeshim.set_now(now)  # the context managers spelled out: this runs on every command
    recording = script_engine.start_recording(log)
    merging = MERGE_MODE.set(case.data_merge)
    try:
        canonical_order(case)
        yield log
    finally:
        MERGE_MODE.reset(merging)
        script_engine.stop_recording(recording)
        timeshim.reset(clock)


def start(workflow: BpmnWorkflow, data: Mapping[str, Any]) -> None:
    """A new case receives its start data and runs until it waits."""
    workflow.task_tree.data.update(data)
    run_until_waiting(workflow)


def complete(workflow: BpmnWorkflow, task: Task, data: Mapping[str, Any]) -> None:
    """A ready user task is completed with the submitted data; the case runs until it waits."""
    task.set_data(**data)
    task.run()
    run_until_waiting(workflow)


def deliver(workflow: BpmnWorkflow, task: Task, payload: dict[str, Any]) -> None:
    """A waiting message event receives ``payload`` (the correlation keys and the message data)."""
    catch_message(task, payload)
    run_until_waiting(workflow)


def fire_timers(workflow: BpmnWorkflow) -> None:
    """Every timer whose time has come (by the step's clock) fires; the case runs until it waits."""
    workflow.refresh_timers()
    run_until_waiting(workflow)


class _LastRun:
    """``do_engine_steps``'s callback: remembers the newest task it ran."""

    __slots__ = ("task",)

    def __init__(self) -> None:
        self.task: Task | None = None

    def __call__(self, task: Task) -> None:
        self.task = task


def run_until_waiting(workflow: BpmnWorkflow) -> None:
    """Run the engine's own tasks (gateways, scripts, service tasks, events) until the case waits,
    then refuse a task tree too deep to follow (see the module docstring)."""
    last = _LastRun()
    workflow.do_engine_steps(did_complete_task=last)
    task = last.task
    # a tree is at most as deep as it has tasks: the walk up the parents is taken only when it can matter
    if task is not None and len(task.workflow.tasks) >= MAX_TREE_DEPTH and task.depth >= MAX_TREE_DEPTH:
        spec = task.task_spec
        name = getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None) or spec.name
        raise WorkflowFailed(
            f"The case ran '{name}' {task.depth} steps deep without stopping, deeper than the engine can follow "
            f"({MAX_TREE_DEPTH}): a loop of the diagram that never waits (no user task, message or timer on it), or "
            "one taken hundreds of times. Nothing was saved. Give the loop an exit or a wait and deploy a new version.",
            task=getattr(spec, "bpmn_id", None) or spec.name, depth=task.depth)


def message_payload(keys: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """What a delivered message hands the catching event: its keys, then its data."""
    return {**keys, **data}


def apply_recorded(workflow: BpmnWorkflow, kind: str, payload: Mapping[str, Any], task: Task | None) -> None:
    """Apply a recorded input of event type ``kind`` again; ``task`` is the task the event names
    (found by its tree path), for completions and deliveries."""
    if kind == STARTED:
        start(workflow, payload.get("data") or {})
    elif kind == COMPLETED:
        assert task is not None
        complete(workflow, task, payload.get("data") or {})
    elif kind == DELIVERED:
        assert task is not None
        deliver(workflow, task, message_payload(payload.get("keys") or {}, payload.get("data") or {}))
    elif kind == FIRED:
        fire_timers(workflow)
    else:
        raise ValueError(f"unknown event type {kind!r}")
