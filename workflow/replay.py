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

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import inputs
from .adapters.spiff import LIBRARY, UnknownMergeMode, merge_mode
from .digest import state_digest
from .errors import NotFound, ShanyuError
from .history import EventView, list_events
from .paths import all_workflows, find_by_path, task_paths
from .projections import task_name
from .scripting import StepLog
from .state import LoadedCase, collect_changes
from .store import Instance


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


class Replayer:
    """A case rebuilt event by event: ``advance`` applies further events to the same rebuilt case,
    so that a checker can follow a live case step by step without starting over each time."""

    def __init__(self, session: Session | None, engine: Any, instance_id: int, first: EventView, *,
                 specs: tuple[Any, dict[str, Any]] | None = None) -> None:
        """The specs are those of the process version the first event names, read through
        ``session``; or ``specs`` (an evidence bundle's files, replayed without a database)."""
        if first.type != inputs.STARTED:
            raise ShanyuError(f"Case {instance_id}: its history does not begin with the start of the case.")
        if specs is None:
            assert session is not None
            specs = engine.cases.specs_for(session, int(first.payload["version_id"]))
        spec, subprocess_specs = specs
        self.engine = engine
        self.instance_id = instance_id
        self.case = LoadedCase(BpmnWorkflow(spec, subprocess_specs, script_engine=engine.script_engine))
        # cases started before the copying merge record none, and replay with the library's
        try:
            self.case.data_merge = merge_mode(first.payload.get("data_merge", LIBRARY))
        except UnknownMergeMode as exc:
            raise ShanyuError(f"Case {instance_id}: its start event names an {exc}, so its history cannot be "
                              "replayed faithfully; was it written by a newer version of Shanyu?") from exc
        self.digest = ""
        self.seq = 0
        self.failed = False

    def advance(self, event: EventView) -> ReplayStep:
        """Apply one event (the next one) and compare the rebuilt state with the recorded digest.
        After a mismatch the rebuilt case is no longer meaningful: ``failed`` is set."""
        note = ""
        try:
            if event.seq != self.seq + 1:
                raise _Mismatch(f"event {event.seq} follows event {self.seq}")
            if event.type not in inputs.NO_STATE_CHANGE:
                _apply(self.engine, self.case, event)
                self.case.workflow.get_events()  # messages it threw are recorded on their receivers
                collect_changes(self.case)
                self.digest = state_digest(self.case)
            digest = self.digest
        except _Mismatch as exc:
            digest, note = "", str(exc)
        except ShanyuError as exc:
            digest, note = "", f"replaying this event failed: {exc.message}"
        except Exception as exc:  # noqa: BLE001 - any failure is a mismatch, reported by event
            digest, note = "", f"replaying this event failed: {type(exc).__name__}: {exc}"
        ok = digest == event.state_digest
        if not ok and not note:
            note = "the replayed state differs from the recorded state"
        self.seq = event.seq
        self.failed = self.failed or not ok
        return ReplayStep(event.seq, event.type, event.at, ok, event.state_digest, digest, note)


def replay(session: Session, engine: Any, instance_id: int, *, upto: int | None = None,
           events: list[EventView] | None = None) -> ReplayResult:
    """Replay case ``instance_id`` (through event ``upto`` if given); stops at the first mismatch.
    ``events``: the case's history, when the caller has read it already."""
    events = list_events(session, instance_id) if events is None else events
    if not events:
        raise NotFound(f"Case {instance_id} has no history.", instance_id=instance_id)
    replayer = Replayer(session, engine, instance_id, events[0])
    result = ReplayResult(instance_id, case=replayer.case)
    for event in events:
        if upto is not None and event.seq > upto:
            break
        result.steps.append(replayer.advance(event))
        if replayer.failed:
            break
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


_TASK_STATE = {inputs.COMPLETED: TaskState.READY, inputs.DELIVERED: TaskState.WAITING}


def _apply(engine: Any, case: LoadedCase, event: EventView) -> None:
    """Apply one recorded input through ``workflow.inputs``, as the engine applied it."""
    workflow = case.workflow
    payload = event.payload
    if event.type not in _TASK_STATE and event.type not in (inputs.STARTED, inputs.FIRED):
        raise _Mismatch(f"unknown event type {event.type!r}")
    log = StepLog(replay=[dict(r) for r in payload.get("handler_results", [])],
                  replay_functions=[dict(r) for r in payload.get("function_results", [])])
    with inputs.step(case, engine.script_engine, datetime.fromisoformat(event.at), log):
        state = _TASK_STATE.get(event.type)
        task = _task(workflow, event, state) if state is not None else None
        inputs.apply_recorded(workflow, event.type, payload, task)
    if log.replay:
        raise _Mismatch(f"{len(log.replay)} recorded service-task result(s) were not used")
    if log.replay_functions:
        raise _Mismatch(f"{len(log.replay_functions)} recorded function result(s) were not used")


# -- the case as it stood at an event ---------------------------------------------------------
CLAIMS = ("task_claimed", "task_released", "task_reassigned")


@dataclass
class Holders:
    """Who held which open user task, followed event by event. Claims change no workflow state,
    so they are read from the events: a claim names the task by the live case's task id, which
    ``paths`` turns into the tree path the replayed case shares with the live one."""

    paths: dict[str, str]  # live task id -> tree path
    by_path: dict[str, str] = field(default_factory=dict)
    by_bpmn_id: dict[str, str] = field(default_factory=dict)  # claims whose task the live case no longer has

    def follow(self, event: EventView) -> None:
        payload = event.payload
        path = self.paths.get(str(payload.get("task", "")))
        who = {"task_claimed": event.actor, "task_released": None,
               "task_reassigned": payload.get("to")}.get(event.type) if event.type in CLAIMS else None
        if event.type in CLAIMS:
            target = self.by_path if path is not None else self.by_bpmn_id
            key = path if path is not None else str(payload.get("bpmn_id"))
            if who is None:
                target.pop(key, None)
            else:
                target[key] = str(who)
        elif event.type == inputs.COMPLETED:
            self.by_path.pop(str(payload.get("task", "")), None)
            self.by_bpmn_id.pop(str(payload.get("bpmn_id", "")), None)

    def holder(self, path: str, bpmn_id: str) -> str | None:
        return self.by_path.get(path) or self.by_bpmn_id.get(bpmn_id)


def state_view(case: LoadedCase, holders: Holders, events: list[EventView]) -> dict[str, Any]:
    """The replayed case as an auditor reads it: its open user tasks (with who held each), what it
    waits for, its data, the tasks completed so far (who and when) and the last event applied."""
    workflow = case.workflow
    paths = task_paths(workflow)
    active, waiting = [], []
    for _key, wf in all_workflows(workflow):
        for task in wf.tasks.values():
            spec = task.task_spec
            path = paths.get(str(task.id), "")
            if task.state == TaskState.READY and getattr(spec, "manual", False):
                active.append({"path": path, "bpmn_id": spec.bpmn_id, "name": task_name(task),
                               "lane": getattr(spec, "lane", None), "claimed_by": holders.holder(path, spec.bpmn_id)})
            elif task.state == TaskState.WAITING:
                waiting.append({"path": path, "bpmn_id": spec.bpmn_id, "name": task_name(task)})
    completed = [{"task": e.payload.get("task"), "bpmn_id": e.payload.get("bpmn_id"), "by": e.actor, "at": e.at}
                 for e in events if e.type == inputs.COMPLETED]
    done = [t for _k, wf in all_workflows(workflow) for t in wf.tasks.values() if t.state == TaskState.COMPLETED]
    latest = max(done, key=lambda t: t.last_state_change, default=None)
    data = {**(latest.data if latest is not None else {}), **workflow.data}
    return {"event": events[-1].to_dict() if events else None,
            "active_tasks": sorted(active, key=lambda t: t["path"]),
            "waiting": sorted(waiting, key=lambda t: t["path"]),
            "completed": completed, "data": data}


def state_at(session: Session, engine: Any, instance_id: int, upto: int) -> tuple[ReplayResult, dict[str, Any]]:
    """Replay through event ``upto`` and describe the case as it stood after it (``state_view``).
    Nothing is written."""
    from .cases import CaseStore

    events = [e for e in list_events(session, instance_id) if e.seq <= upto]
    result = replay(session, engine, instance_id, events=events)
    store: CaseStore = engine.cases
    version = session.execute(select(Instance.process_version_id).where(Instance.id == instance_id)).scalar_one()
    holders = Holders(task_paths(store.restore(session, instance_id, version).workflow))
    for event in events:
        holders.follow(event)
    assert result.case is not None
    return result, state_view(result.case, holders, events)
