"""Applying an input to a case: the one place where a start, a completion, a delivered message or
a timer sweep becomes SpiffWorkflow calls.

The engine applies live inputs through these functions and replay applies recorded ones through
the same functions (``apply_recorded``), inside the same ``step``: SpiffWorkflow's clock set to the
input's time, handler and function results recorded (or, in replay, handed back from the log),
and the case's waiting tasks in canonical order. So the engine and replay cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task

from . import timeshim
from .adapters.spiff import catch_message
from .digest import canonical_order
from .scripting import EngineScriptEngine, StepLog
from .state import LoadedCase

# The history event each input is recorded as.
STARTED, COMPLETED, DELIVERED, FIRED = "instance_started", "task_completed", "message_delivered", "timer_fired"
# Events that record a change of who holds a task, not of the workflow state.
NO_STATE_CHANGE = frozenset({"task_claimed", "task_released", "task_reassigned"})


@contextmanager
def step(case: LoadedCase, script_engine: EngineScriptEngine, now: datetime, log: StepLog) -> Iterator[StepLog]:
    """The frame every input is applied in (see the module docstring)."""
    clock = timeshim.set_now(now)  # the two context managers spelled out: this runs on every command
    recording = script_engine.start_recording(log)
    try:
        canonical_order(case)
        yield log
    finally:
        script_engine.stop_recording(recording)
        timeshim.reset(clock)


def start(workflow: BpmnWorkflow, data: Mapping[str, Any]) -> None:
    """A new case receives its start data and runs until it waits."""
    workflow.task_tree.data.update(data)
    workflow.do_engine_steps()


def complete(workflow: BpmnWorkflow, task: Task, data: Mapping[str, Any]) -> None:
    """A ready user task is completed with the submitted data; the case runs until it waits."""
    task.set_data(**data)
    task.run()
    workflow.do_engine_steps()


def deliver(workflow: BpmnWorkflow, task: Task, payload: dict[str, Any]) -> None:
    """A waiting message event receives ``payload`` (the correlation keys and the message data)."""
    catch_message(task, payload)
    workflow.do_engine_steps()


def fire_timers(workflow: BpmnWorkflow) -> None:
    """Every timer whose time has come (by the step's clock) fires; the case runs until it waits."""
    workflow.refresh_timers()
    workflow.do_engine_steps()


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
