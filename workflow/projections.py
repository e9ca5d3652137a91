"""Projections kept by every command: the inbox (``human_task``), ``timer`` and message waits.

``sync(session, case, now)`` compares what the workflow has ready or waiting with what the case
knows to be stored (``Case.open_*``), and writes only the difference, in the command's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from weakref import WeakKeyDictionary

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from .cases import Case
from .errors import WorkflowFailed
from .fastsql import Prepared
from .forms import form_of
from .paths import all_workflows
from .state import Changes
from .store import HumanTask, LaneRole, MessageSubscription, Timer, table_of
from .texts import canonical_json

HUMAN = table_of(HumanTask)
TIMER = table_of(Timer)
SUBS = table_of(MessageSubscription)

# Built once: statement construction costs more than executing a cached one.
_CLOSE_HUMAN = update(HUMAN).where(HUMAN.c.id == bindparam("hid")).values(
    state=bindparam("state"), completed_at=bindparam("at"), completed_by=bindparam("by"))
_OPEN_HUMAN = insert(HUMAN).values(
    instance_id=bindparam("instance_id"), task_id=bindparam("task_id"), process_id=bindparam("process_id"),
    bpmn_id=bindparam("bpmn_id"), name=bindparam("name"), lane=bindparam("lane"),
    role=func.coalesce(select(LaneRole.role).where(LaneRole.lane == bindparam("lane")).scalar_subquery(),
                       bindparam("lane")),
    district=bindparam("district"), form=bindparam("form"), due_at=bindparam("due_at"), state="ready",
    created_at=bindparam("created_at")).returning(HUMAN.c.id)
_CLOSE_HUMAN_P = Prepared(_CLOSE_HUMAN)
_OPEN_HUMAN_P = Prepared(_OPEN_HUMAN)


def task_name(task: Task) -> str:
    spec = task.task_spec
    return str(getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None) or spec.name)


def task_form(task: Task) -> str | None:
    return form_of(task.task_spec)


def timer_due(task: Task) -> datetime | None:
    """When a waiting timer task falls due (UTC), from the value SpiffWorkflow computed."""
    definition = task.task_spec.event_definition
    value = task.internal_data.get("event_value")
    if value is None:
        return None
    if isinstance(definition, CycleTimerEventDefinition):
        if not isinstance(value, dict) or value.get("cycles") == 0:
            return None
        value = value["next"]
    if isinstance(value, str) and value.upper().startswith("P"):
        return None
    due: datetime = TimerEventDefinition.get_datetime(value) if isinstance(value, str) else value
    return due.astimezone(UTC)


def task_due(task: Task) -> datetime | None:
    """A user task's due time: its earliest interrupting boundary timer; failing that, that of the
    nearest enclosing subprocess that has one (a stage's deadline is due for every task in it), or
    the earliest waiting timer marked ``deadline`` in an enclosing subprocess (a stage watched by a
    branch beside it, whose timer a change of deadlines re-arms: see ``deadline_timers``)."""
    current: Task | None = task
    while current is not None:
        due = _boundary_due(current)
        if due is not None:
            return due
        wf = current.workflow
        due = _marked_due(wf)
        if due is not None:
            return due
        parent_id = getattr(wf, "parent_task_id", None)
        current = wf.top_workflow.get_task_from_id(parent_id) if parent_id is not None else None
    return None


def is_deadline(spec: Any) -> bool:
    """A timer whose diagram marks it as the deadline of the tasks beside it (property ``deadline``)."""
    props = (getattr(spec, "extensions", None) or {}).get("properties") or {}
    return str(props.get("deadline", "")).lower() == "true"


_HAS_DEADLINE: WeakKeyDictionary[Any, bool] = WeakKeyDictionary()  # process spec -> has a marked timer


def _marked_due(wf: Any) -> datetime | None:
    spec = wf.spec  # specs are shared by every case of a version: look at their task specs once
    marked = _HAS_DEADLINE.get(spec)
    if marked is None:
        marked = _HAS_DEADLINE[spec] = any(is_deadline(ts) for ts in spec.task_specs.values())
    if not marked:
        return None
    dues = [due for t in wf.tasks.values() if t.state == TaskState.WAITING and is_deadline(t.task_spec)
            and isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)
            and (due := timer_due(t)) is not None]
    return min(dues) if dues else None


def _boundary_due(task: Task) -> datetime | None:
    parent = task.parent
    if parent is None or not isinstance(parent.task_spec, BoundaryEventSplit):
        return None
    dues = []
    for sibling in parent.children:
        spec = sibling.task_spec
        if sibling is task or not getattr(spec, "cancel_activity", False):
            continue
        if isinstance(getattr(spec, "event_definition", None), TimerEventDefinition) and sibling.state == TaskState.WAITING:
            due = timer_due(sibling)
            if due is not None:
                dues.append(due)
    return min(dues) if dues else None


def subscription_keys(task: Task) -> dict[str, Any]:
    """The correlation values a waiting message task answers to, evaluated on its data."""
    definition = task.task_spec.event_definition
    keys: dict[str, Any] = {}
    engine = task.workflow.script_engine
    props = getattr(definition, "process_correlations", None) or getattr(definition, "correlation_properties", None)
    for prop in props or []:
        try:
            keys[prop.name] = engine.environment.evaluate(prop.retrieval_expression, task.data)
        except Exception as exc:  # the case would wait for a message it can never be matched to
            raise WorkflowFailed(
                f"Task '{task_name(task)}' waits for message '{definition.name}' correlated by "
                f"'{prop.name}', but '{prop.retrieval_expression}' cannot be evaluated on the case data: {exc}"
            ) from exc
    return keys


def sync(session: Session, case: Case, now: datetime, *, changes: Changes | None = None,
         completed_by: str | None = None) -> None:
    """Bring the projections in line with the workflow. With ``changes`` (what the step changed,
    from ``collect_changes``) only changed tasks are examined: a task whose row did not change
    is still in the state its projection rows say."""
    ready: dict[str, Task | None] = {}
    timers: dict[str, tuple[Task | None, datetime]] = {}
    waits: dict[str, Task | None] = {}
    if changes is None:
        candidates: Iterable[Task] = (t for _key, wf in all_workflows(case.workflow) for t in wf.tasks.values())
    else:
        candidates = changes.tasks
        changed = set(changes.rows) | set(changes.deleted)
        ready.update((tid, None) for tid in case.open_human if tid not in changed)
        timers.update((tid, (None, due)) for tid, (_id, due) in case.open_timers.items() if tid not in changed)
        waits.update((tid, None) for tid in case.open_subs if tid not in changed)
    examined: dict[str, Task] = {}  # the candidates by id: what closing a row needs to look at
    for task in candidates:
        tid = str(task.id)
        examined[tid] = task
        state = task.state
        if state == TaskState.READY and task.task_spec.manual:
            ready[tid] = task
        elif state == TaskState.WAITING:
            definition = getattr(task.task_spec, "event_definition", None)
            if isinstance(definition, TimerEventDefinition):
                due = timer_due(task)
                if due is not None:
                    timers[tid] = (task, due)
            elif isinstance(definition, MessageEventDefinition):
                waits[tid] = task
    _sync_human(session, case, now, ready, completed_by, examined)
    if any(is_deadline(t.task_spec) for t in examined.values()):
        _redate_human(session, case, examined)
    _sync_timers(session, case, now, timers)
    _sync_waits(session, case, waits)


def _sync_human(session: Session, case: Case, now: datetime, ready: dict[str, Task | None],
                completed_by: str | None, examined: dict[str, Task]) -> None:
    for tid in [t for t in case.open_human if t not in ready]:
        hid = case.open_human.pop(tid)
        task = examined.get(tid) or case.workflow.get_task_from_id(_uuid(tid))
        done = task is not None and task.state == TaskState.COMPLETED
        _CLOSE_HUMAN_P.run(session, {"hid": hid, "state": "completed" if done else "cancelled", "at": now,
                                         "by": completed_by if done else None})
    for tid, task in ready.items():
        if tid in case.open_human or task is None:
            continue
        lane = getattr(task.task_spec, "lane", None)
        cursor = _OPEN_HUMAN_P.execute(session, {
            "instance_id": case.id, "task_id": tid, "process_id": case.process_id,
            "bpmn_id": task.task_spec.bpmn_id, "name": task_name(task), "lane": lane, "district": case.district,
            "form": task_form(task), "due_at": task_due(task), "created_at": now})
        case.open_human[tid] = int(cursor.fetchone()[0])
        cursor.close()


def _redate_human(session: Session, case: Case, examined: dict[str, Task]) -> None:
    """A deadline timer was armed or ended: the open tasks it governs take their due time again."""
    conn = session.connection()
    for tid, hid in case.open_human.items():
        task = examined.get(tid) or case.workflow.get_task_from_id(_uuid(tid))
        if task is not None:
            conn.execute(update(HUMAN).where(HUMAN.c.id == hid).values(due_at=task_due(task)))


def _sync_timers(session: Session, case: Case, now: datetime,
                 timers: dict[str, tuple[Task | None, datetime]]) -> None:
    if not timers and not case.open_timers:
        return
    conn = session.connection()
    for tid in [t for t in case.open_timers if t not in timers]:
        tmid, _due = case.open_timers.pop(tid)
        task = case.workflow.get_task_from_id(_uuid(tid))
        fired = task is not None and task.state == TaskState.COMPLETED
        conn.execute(update(TIMER).where(TIMER.c.id == tmid).values(
            state="fired" if fired else "cancelled", fired_at=now if fired else None))
    for tid, (task, due) in timers.items():
        known = case.open_timers.get(tid)
        if known is None and task is not None:
            result = conn.execute(insert(TIMER).returning(TIMER.c.id).values(
                instance_id=case.id, task_id=tid, bpmn_id=task.task_spec.bpmn_id, name=task_name(task),
                due_at=due, state="waiting"))
            case.open_timers[tid] = (int(result.scalar_one()), due)
        elif known is not None and known[1] != due:  # a cycle timer moved on to its next occurrence
            conn.execute(update(TIMER).where(TIMER.c.id == known[0]).values(due_at=due))
            case.open_timers[tid] = (known[0], due)


def _sync_waits(session: Session, case: Case, waits: dict[str, Task | None]) -> None:
    if not waits and not case.open_subs:
        return
    conn = session.connection()
    gone = [t for t in case.open_subs if t not in waits]
    if gone:
        conn.execute(delete(SUBS).where(SUBS.c.id.in_([case.open_subs[t][0] for t in gone])))
        for tid in gone:
            del case.open_subs[tid]
    for tid, task in waits.items():
        if tid in case.open_subs or task is None:
            continue
        name = task.task_spec.event_definition.name
        keys = canonical_json({k: key_text(v) for k, v in subscription_keys(task).items()})
        result = conn.execute(insert(SUBS).returning(SUBS.c.id).values(
            instance_id=case.id, task_id=tid, message_name=name, keys=keys))
        case.open_subs[tid] = (int(result.scalar_one()), name, keys)


def key_text(value: Any) -> str:
    """Correlation values compare as text, so ``--key district=310101`` matches an int or a str."""
    return value if isinstance(value, str) else canonical_json(value)


def _uuid(text: str) -> UUID:
    return UUID(text)
