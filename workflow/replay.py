"""Replay: rebuild a case from its pinned process version by re-applying its recorded inputs.

Each event's input (start data, completed task and data, fired timers, delivered message) is
applied with the clock set to the event's recorded time; service tasks get the handler results
recorded in the event instead of calling handlers again. After each event the rebuilt state's
digest must equal the digest recorded in the event: the first mismatch is reported by event.
Nothing is written; replay reads only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from . import timeshim
from .digest import canonical_order, state_digest
from .errors import NotFound, ShanyuError
from .history import EventView, list_events
from .paths import find_by_path
from .scripting import StepLog
from .state import LoadedCase, collect_changes

NO_STATE_CHANGE = {"task_claimed", "task_released"}


@dataclass(frozen=True)
class ReplayStep:
    seq: int
    type: str
    at: str
    ok: bool
    recorded_digest: str
    replayed_digest: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "type": self.type, "at": self.at, "ok": self.ok,
                "recorded_digest": self.recorded_digest, "replayed_digest": self.replayed_digest, "note": self.note}


@dataclass
class ReplayResult:
    instance_id: int
    steps: list[ReplayStep] = field(default_factory=list)
    case: LoadedCase | None = None

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)

    @property
    def first_mismatch(self) -> ReplayStep | None:
        return next((step for step in self.steps if not step.ok), None)

    def to_dict(self) -> dict[str, Any]:
        bad = self.first_mismatch
        return {"instance_id": self.instance_id, "ok": self.ok, "events": len(self.steps),
                "first_mismatch": bad.seq if bad else None, "steps": [s.to_dict() for s in self.steps]}


class _Mismatch(Exception):
    pass


def replay(session: Session, engine: Any, instance_id: int, *, upto: int | None = None) -> ReplayResult:
    """Replay case ``instance_id`` (through event ``upto`` if given); stops at the first mismatch."""
    events = list_events(session, instance_id)
    if not events:
        raise NotFound(f"Case {instance_id} has no history.", instance_id=instance_id)
    first = events[0]
    if first.type != "instance_started":
        raise ShanyuError(f"Case {instance_id}: its history does not begin with the start of the case.")
    spec, subprocess_specs = engine.cases.specs_for(session, int(first.payload["version_id"]))
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=engine.script_engine)
    case = LoadedCase(workflow)
    result = ReplayResult(instance_id, case=case)
    previous = ""
    for event in events:
        if upto is not None and event.seq > upto:
            break
        note = ""
        try:
            if event.type not in NO_STATE_CHANGE:
                _apply(engine, case, event)
                workflow.get_events()  # messages it threw are recorded on their receivers
                collect_changes(case)
            digest = state_digest(case) if event.type not in NO_STATE_CHANGE else previous
        except _Mismatch as exc:
            digest, note = "", str(exc)
        except ShanyuError as exc:
            digest, note = "", f"replaying this event failed: {exc.message}"
        except Exception as exc:  # noqa: BLE001 - any failure is a mismatch, reported by event
            digest, note = "", f"replaying this event failed: {type(exc).__name__}: {exc}"
        ok = digest == event.state_digest
        if not ok and not note:
            note = "the replayed state differs from the recorded state"
        result.steps.append(ReplayStep(event.seq, event.type, event.at, ok, event.state_digest, digest, note))
        if not ok:
            break
        previous = digest
    return result


def _task(workflow: BpmnWorkflow, event: EventView, state: int) -> Any:
    path = event.payload.get("task", "")
    task = find_by_path(workflow, path)
    if task is None:
        raise _Mismatch(f"no task at {path} in the replayed case")
    bpmn_id = event.payload.get("bpmn_id")
    if bpmn_id is not None and task.task_spec.bpmn_id != bpmn_id:
        raise _Mismatch(f"the task at {path} is {task.task_spec.bpmn_id}, the history says {bpmn_id}")
    if task.state != state:
        raise _Mismatch(f"task {task.task_spec.bpmn_id} at {path} is {TaskState.get_name(task.state)}, "
                        f"expected {TaskState.get_name(state)}")
    return task


def _apply(engine: Any, case: LoadedCase, event: EventView) -> None:
    workflow = case.workflow
    payload = event.payload
    log = StepLog(replay=[dict(r) for r in payload.get("handler_results", [])],
                  replay_functions=[dict(r) for r in payload.get("function_results", [])])
    with timeshim.at(datetime.fromisoformat(event.at)), engine.script_engine.recording(log):
        canonical_order(case)
        if event.type == "instance_started":
            workflow.task_tree.data.update(payload.get("data") or {})
        elif event.type == "task_completed":
            task = _task(workflow, event, TaskState.READY)
            task.set_data(**(payload.get("data") or {}))
            task.run()
        elif event.type == "timer_fired":
            workflow.refresh_timers()
        elif event.type == "message_delivered":
            task = _task(workflow, event, TaskState.WAITING)
            body = {**(payload.get("keys") or {}), **(payload.get("data") or {})}
            task.task_spec.catch(task, BpmnEvent(task.task_spec.event_definition, payload=body, correlations={}))
            task.task_spec._update(task)
        else:
            raise _Mismatch(f"unknown event type {event.type!r}")
        workflow.do_engine_steps()
    if log.replay:
        raise _Mismatch(f"{len(log.replay)} recorded service-task result(s) were not used")
    if log.replay_functions:
        raise _Mismatch(f"{len(log.replay_functions)} recorded function result(s) were not used")
