"""Engine commands. Each runs inside the caller's write transaction and leaves the case's state,
its projections (inbox, timers, message waits) and its history consistent; the caller commits.

    with db.write() as session:
        engine.complete(session, task_id, data, actor=actor, now=clock.now())

A command that fails raises a ``ShanyuError`` and has changed nothing once the caller rolls back;
the case it was working on is not returned to the cache.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from handlers.registry import REGISTRY, HandlerContext, HandlerRegistry

from . import (
    calendar_store,
    consistency,
    forms,
    inputs,
    journal,
    jsondata,
    materials,
    projections,
    specs,
    timeshim,
)
from .adapters.spiff import COPY
from .cases import Case, CaseStore, InstanceRow
from .clock import shanghai_text
from .digest import state_digest
from .errors import (
    InvalidData,
    MessageNotDelivered,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    ShanyuError,
    StateDiverged,
    TaskAlreadyClaimed,
    TaskNotClaimed,
    TaskNotReady,
    WorkflowFailed,
)
from .fastsql import Prepared
from .history import ChainHead, append_event
from .paths import path_of
from .projections import key_text
from .scripting import EngineScriptEngine, StepLog
from .state import collect_changes
from .store import (
    Bundle,
    HumanTask,
    Instance,
    LaneRole,
    MessageSubscription,
    PendingMessage,
    ProcessVersion,
    table_of,
)
from .taskview import TaskView
from .texts import TAG, canonical_json, refuse_tag_keys
from .users import AUDITOR, PROCESS_OWNER, Actor

MAX_DATA_BYTES = 1_000_000
MAX_DELIVERIES = 1_000
MAX_DISTRICT = 20  # characters of a case's district code (the column's width)
_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode  # built once: check_data runs on every command


@dataclass(frozen=True)
class Deployed:
    process_id: str
    name: str
    version: int
    version_id: int
    content_hash: str
    created: bool  # False: unchanged redeploy, nothing stored

    def to_dict(self) -> dict[str, Any]:
        return {"process_id": self.process_id, "name": self.name, "version": self.version,
                "id": self.version_id, "content_hash": self.content_hash, "created": self.created}


HUMAN = table_of(HumanTask)
_CLAIM = Prepared(update(HUMAN).where(HUMAN.c.id == bindparam("tid"), HUMAN.c.claimed_by.is_(None))
                  .values(claimed_by=bindparam("who"), claimed_at=bindparam("at")))
_REASSIGN = Prepared(update(HUMAN).where(HUMAN.c.id == bindparam("tid"))
                     .values(claimed_by=bindparam("who"), claimed_at=bindparam("at")))
_RELEASE = Prepared(update(HUMAN).where(HUMAN.c.id == bindparam("tid")).values(claimed_by=None, claimed_at=None))


def cycle_of(data: Mapping[str, Any]) -> str | None:
    """The creation cycle a case's start data names (``cycle_id``), as the inbox filters by it."""
    value = data.get("cycle_id")
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value):
        return None
    return str(value)[:100]


@dataclass
class _Outgoing:
    name: str
    keys: dict[str, str]
    payload: dict[str, Any]
    source: int | None


def check_data(data: Any, *, what: str = "Task data") -> dict[str, Any]:
    """Submitted data must be a JSON object whose keys can be used as names in expressions, and JSON
    data within ``workflow.jsondata``'s limits (no NaN, valid text, bounded nesting and numbers)."""
    if not isinstance(data, dict):
        raise InvalidData(f"{what} must be a JSON object (key–value pairs), not {type(data).__name__}.")
    for key in data:
        if not isinstance(key, str) or not key.isidentifier() or key.startswith("_"):
            raise InvalidData(f"{what}: field name {key!r} is not allowed; use letters, digits and '_' "
                              "and do not start with '_' or a digit.")
    found = jsondata.fault(data)
    if found is not None:
        raise InvalidData(found.describe(what) + ". Nothing was saved.", where=found.where)
    text = _encode(data)
    if f'"{TAG}"' in text:
        refuse_tag_keys(data, what=what)
    size = len(text)
    if size > MAX_DATA_BYTES:
        raise InvalidData(f"{what} is too large ({size} bytes; at most {MAX_DATA_BYTES}). Upload files "
                          "as materials and refer to them by id.")
    return data


class Engine:
    """The engine core: commands over cases, with a bounded cache of loaded cases."""

    def __init__(self, *, handlers: HandlerRegistry | None = None,
                 functions: Mapping[str, Callable[..., Any]] | None = None,
                 recorded_functions: frozenset[str] = frozenset(), cache_size: int = 256,
                 cache_tasks: int = 5_000, check_state: bool | None = None) -> None:
        """``functions`` are offered to BPMN expressions; the results of those named in
        ``recorded_functions`` are written into history and replayed from it. Without ``functions``,
        expressions get the working-day functions of ``calendar_store``, recorded.

        ``check_state`` (default: the ``SHANYU_CHECK_STATE`` setting) makes every command load the
        case it saved back from the database, inside its transaction, and compare it with the
        case it ran; a difference refuses the command (``StateDiverged``) and saves nothing. It
        costs a full load per command: for tests and for diagnosing, not for production."""
        timeshim.install()
        self.check_state = consistency.check_state_enabled(check_state)
        if functions is None:
            functions = calendar_store.expression_functions()
            recorded_functions = recorded_functions | calendar_store.FUNCTION_NAMES
        self.handlers = handlers or REGISTRY
        self.script_engine = EngineScriptEngine(self.handlers, functions or {}, record=recorded_functions)
        self.cases = CaseStore(self.script_engine, cache_size=cache_size, cache_tasks=cache_tasks)

    # -- deploy --------------------------------------------------------------------------------
    def deploy(self, session: Session, files: Mapping[str, bytes | str], *, actor: Actor, now: datetime,
               reason: str | None = None) -> list[Deployed]:
        """Parse and validate a bundle; store a new version of every process whose content changed.
        Only the process owner (``流程管理员``) and admins deploy. Deploys are serialised, so that
        concurrent deploys of one process get consecutive versions."""
        actor.require_writer()
        if not (actor.is_admin or PROCESS_OWNER in actor.roles):
            raise PermissionDenied(f"The {actor.describe()} may not deploy processes: deploying needs the role "
                                   f"{PROCESS_OWNER} (process owner) or admin. Ask an administrator to deploy, "
                                   f"or to give you that role (`shanyu user add {actor.name} --role {PROCESS_OWNER}`).")
        bundle = specs.bundle_from_files(files)
        parsed = specs.parse_bundle(bundle)
        if session.get_bind().dialect.name == "postgresql":
            # SQLite's write transaction (BEGIN IMMEDIATE) serialises deploys already; on PostgreSQL
            # two deploys would both read the same latest version and the second would fail on the
            # unique (process_id, version). Held until the transaction ends; READ COMMITTED lets the
            # statements after it see the deploy that held it before.
            session.execute(text("SELECT pg_advisory_xact_lock(hashtext('shanyu.deploy:' || current_schema()))"))
        if session.get(Bundle, bundle.content_hash) is None:
            session.add(Bundle(content_hash=bundle.content_hash, files=canonical_json([list(f) for f in bundle.files]),
                               created_at=now))
            session.flush()
        results = []
        for pid in parsed.process_ids:
            latest = session.execute(
                select(ProcessVersion).where(ProcessVersion.process_id == pid)
                .order_by(ProcessVersion.version.desc()).limit(1)
            ).scalar_one_or_none()
            name = parsed.process_names.get(pid) or pid
            if latest is not None and latest.bundle_hash == bundle.content_hash:
                results.append(Deployed(pid, name, latest.version, latest.id, bundle.content_hash, False))
                continue
            row = ProcessVersion(process_id=pid, version=(latest.version + 1) if latest else 1, name=name,
                                 bundle_hash=bundle.content_hash, deployed_at=now, deployed_by=actor.name)
            session.add(row)
            session.flush()
            results.append(Deployed(pid, name, row.version, row.id, bundle.content_hash, True))
        created = [r for r in results if r.created]
        if created:
            journal.record(session, "process_deployed", actor=actor.name, at=now, payload={
                "content_hash": bundle.content_hash, "files": [name for name, _text in bundle.files],
                "processes": [{"process_id": r.process_id, "version": r.version} for r in created],
                **({"reason": reason} if reason else {})})
        return results

    def latest_version(self, session: Session, process_id: str) -> ProcessVersion:
        row = session.execute(
            select(ProcessVersion).where(ProcessVersion.process_id == process_id)
            .order_by(ProcessVersion.version.desc()).limit(1)
        ).scalar_one_or_none()
        if row is None:
            known = session.execute(select(ProcessVersion.process_id).distinct()).scalars().all()
            raise NotFound(f"No process '{process_id}' is deployed (deployed: {', '.join(sorted(known)) or 'none'}). "
                           "Deploy it with `shanyu deploy FILE`.")
        return row

    # -- start ---------------------------------------------------------------------------------
    def start(self, session: Session, process_id: str, data: Mapping[str, Any] | None = None, *,
              actor: Actor, now: datetime, version: int | None = None) -> int:
        """Start a case of the latest (or the given) version; returns the instance id.

        Who may start is checked before the data is looked at: the roles of the lane(s) holding the
        process's plain start event(s), or admin; a process without one (a message-started one)
        only admin. A district user starts only cases of its own district."""
        actor.require_writer()
        pv = self.latest_version(session, process_id)
        if version is not None and version != pv.version:
            found = session.execute(select(ProcessVersion).where(
                ProcessVersion.process_id == process_id, ProcessVersion.version == version)).scalar_one_or_none()
            if found is None:
                raise NotFound(f"Process '{process_id}' has no version {version} (latest: {pv.version}).")
            pv = found
        self._check_may_start(session, pv, actor)
        data = dict(check_data({} if data is None else data, what="Start data"))
        district = data.get("district")
        if not actor.may_act_in(None if district is None else str(district)):
            if district is None:
                raise PermissionDenied(f"The {actor.describe()} cannot start a municipal case (one without a "
                                       f"district) of '{pv.process_id}': give \"district\": \"{actor.district}\" "
                                       "in the start data, or ask municipal staff to start it.")
            raise PermissionDenied(f"The {actor.describe()} cannot start a case of '{pv.process_id}' for "
                                   f"district {district}: district staff start cases of their own district only.")
        data = self._check_start_forms(session, pv, data)
        outgoing: list[_Outgoing] = []
        case = self._create(session, pv, None if district is None else str(district), data, actor=actor, now=now,
                            outgoing=outgoing)
        self._route(session, outgoing, now=now)
        return case.id

    def _plain_starts(self, session: Session, pv: ProcessVersion) -> list[Any]:
        """The start events of ``pv`` that a person triggers (none-event starts, not message starts)."""
        spec, _subprocess_specs = self.cases.specs_for(session, pv.id)
        return [start_event for start_event in spec.start.outputs
                if isinstance(getattr(start_event, "event_definition", None), NoneEventDefinition | type(None))]

    def starter_roles(self, session: Session, pv: ProcessVersion) -> set[str]:
        """The roles that may start ``pv`` with ``start``: those of the lanes holding its plain
        (none-event) start events, each lane mapped by ``lane_role`` as the inbox maps it."""
        lanes = {lane for start_event in self._plain_starts(session, pv)
                 if (lane := getattr(start_event, "lane", None))}
        if not lanes:
            return set()
        mapped = {lane: role for lane, role in session.execute(
            select(LaneRole.lane, LaneRole.role).where(LaneRole.lane.in_(sorted(lanes))))}
        return {mapped.get(lane, lane) for lane in lanes}

    def _check_may_start(self, session: Session, pv: ProcessVersion, actor: Actor) -> None:
        if actor.is_admin:
            return
        roles = self.starter_roles(session, pv)
        if roles & actor.roles:
            return
        name = f"'{pv.process_id}' ({pv.name})" if pv.name and pv.name != pv.process_id else f"'{pv.process_id}'"
        if not roles:
            raise PermissionDenied(f"The {actor.describe()} may not start process {name}: it has no plain start "
                                   "event in a lane (the system starts it, e.g. by a message), so only an admin "
                                   "may start it by hand.")
        raise PermissionDenied(f"The {actor.describe()} may not start process {name}: only users with the role "
                               f"{' or '.join(sorted(roles))} (the lane of its start event) or admin may start it.")

    def _check_start_forms(self, session: Session, pv: ProcessVersion, data: dict[str, Any]) -> dict[str, Any]:
        """Start data must fit the form of the process's plain start event, as task data must fit
        its task's form (a message start takes the message's keys instead). Returns the data with
        the form's defaults filled in."""
        for start_event in self._plain_starts(session, pv):
            name = forms.form_of(start_event)
            if name is None:
                continue
            schema = self.cases.forms_for(session, pv.id).get(name)
            if schema is None:
                raise WorkflowFailed(f"The start event of '{pv.process_id}' uses form '{name}', which its process "
                                     "version does not contain.")
            data = forms.validate(schema, forms.with_defaults(schema, data), form=name)
            materials.check_uploads(session, None, schema, data, form=name)  # a new case has no materials yet
        return data

    def _create(self, session: Session, pv: ProcessVersion, district: str | None, data: dict[str, Any], *,
                actor: Actor, now: datetime, outgoing: list[_Outgoing], event: str = inputs.STARTED,
                extra: dict[str, Any] | None = None) -> Case:
        if district is not None and (len(district) > MAX_DISTRICT or not district.isprintable()):
            shown = district if len(district) <= 40 else district[:40] + "…"
            raise InvalidData(f"District {shown!r} is not a district code (at most {MAX_DISTRICT} printable "
                              "characters, e.g. 310101). Nothing was saved.")
        spec, subprocess_specs = self.cases.specs_for(session, pv.id)
        instance_id = int(session.connection().execute(insert(table_of(Instance)).values(
            process_version_id=pv.id, process_id=pv.process_id, status="running", district=district,
            cycle_id=cycle_of(data), started_by=actor.name, started_at=now, updated_at=now, lock_version=0, state_token="", meta="",
            event_count=0, head_hash="", state_digest="", data_merge=COPY).returning(table_of(Instance).c.id)).scalar_one())
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=self.script_engine)
        case = self.cases.new_case(instance_id, pv.process_id, pv.id, district, workflow)
        case.loaded.data_merge = COPY  # as its row says
        with self._step(session, case, now) as log:
            inputs.start(workflow, data)
        payload = {"process_id": pv.process_id, "version": pv.version, "version_id": pv.id,
                   "content_hash": pv.bundle_hash, "district": district, "data": data, "data_merge": COPY,
                   **(extra or {})}
        self._commit(session, case, now=now, actor=actor.name, event=event, payload=payload, log=log,
                     outgoing=outgoing)
        return case

    # -- human tasks ---------------------------------------------------------------------------
    def claim(self, session: Session, task_id: int, *, actor: Actor, now: datetime) -> TaskView:
        """Claim a ready task. Of two racing claimers exactly one wins; the other gets TaskAlreadyClaimed."""
        actor.require_writer()
        row, instance = self.cases.lock_task_row(session, task_id)  # a claim needs no workflow
        ht = TaskView.of(row)
        if ht.state != "ready":
            raise TaskNotReady(f"Task {task_id} '{ht.name}' is {ht.state} and can no longer be claimed.")
        if ht.claimed_by == actor.name:
            return ht
        if ht.claimed_by is not None:
            raise TaskAlreadyClaimed(f"Task {task_id} '{ht.name}' was already claimed by '{ht.claimed_by}' "
                                     f"at {shanghai_text(ht.claimed_at, seconds=False)}.", claimed_by=ht.claimed_by)
        if not actor.may_work_on(ht.role, ht.district):
            raise PermissionDenied(self._why_not(actor, ht))
        if _CLAIM.run(session, {"tid": task_id, "who": actor.name, "at": now}) != 1:
            raise TaskAlreadyClaimed(f"Task {task_id} '{ht.name}' was claimed by someone else a moment ago.")
        self._record(session, instance, now=now, actor=actor.name, event="task_claimed",
                     payload={"task": ht.task_id, "bpmn_id": ht.bpmn_id, "human_task": ht.id})
        return TaskView(**{**row, "claimed_by": actor.name, "claimed_at": now})

    def release(self, session: Session, task_id: int, *, actor: Actor, now: datetime) -> TaskView:
        actor.require_writer()
        row, instance = self.cases.lock_task_row(session, task_id)
        ht = TaskView.of(row)
        if ht.state != "ready":
            raise TaskNotReady(f"Task {task_id} '{ht.name}' is {ht.state}; there is nothing to release.")
        if ht.claimed_by is None:
            raise TaskNotClaimed(f"Task {task_id} '{ht.name}' is not claimed by anyone.")
        if ht.claimed_by != actor.name and not actor.is_admin:
            raise PermissionDenied(f"Task {task_id} is claimed by '{ht.claimed_by}'; only they or an admin "
                                   "can release it.")
        _RELEASE.run(session, {"tid": task_id})
        self._record(session, instance, now=now, actor=actor.name, event="task_released",
                     payload={"task": ht.task_id, "bpmn_id": ht.bpmn_id, "human_task": ht.id,
                              "claimed_by": ht.claimed_by})
        return TaskView(**{**row, "claimed_by": None, "claimed_at": None})

    def reassign(self, session: Session, task_id: int, to: Actor, *, reason: str, actor: Actor,
                 now: datetime) -> TaskView:
        """An admin hands a ready task to ``to`` (who must be allowed to work on it), held or not,
        with a reason; the history records who had it, who has it now and why."""
        actor.require_writer()
        if not actor.is_admin:
            raise PermissionDenied(f"Only an admin can reassign a task; {actor.describe()} is not one.")
        reason = reason.strip()
        if not reason or len(reason) > 1000:
            raise InvalidData("Give the reason for the reassignment (1–1,000 characters); it is recorded in the "
                              "case's history.")
        row, instance = self.cases.lock_task_row(session, task_id)
        ht = TaskView.of(row)
        if ht.state != "ready":
            raise TaskNotReady(f"Task {task_id} '{ht.name}' is {ht.state} and can no longer be reassigned.")
        if AUDITOR in to.roles and not to.is_admin or not to.may_work_on(ht.role, ht.district):
            raise PermissionDenied(f"{to.describe()} may not work on task {task_id} '{ht.name}' "
                                   f"(role {ht.role}, district {ht.district or 'municipal'}).")
        if ht.claimed_by == to.name:
            raise InvalidData(f"Task {task_id} '{ht.name}' is already held by '{to.name}'.")
        _REASSIGN.run(session, {"tid": task_id, "who": to.name, "at": now})
        self._record(session, instance, now=now, actor=actor.name, event="task_reassigned",
                     payload={"task": ht.task_id, "bpmn_id": ht.bpmn_id, "human_task": ht.id,
                              "from": ht.claimed_by, "to": to.name, "reason": reason})
        return TaskView(**{**row, "claimed_by": to.name, "claimed_at": now})

    def complete(self, session: Session, task_id: int, data: Mapping[str, Any] | None = None, *,
                 actor: Actor, now: datetime) -> TaskView:
        """Complete a claimed task with data (only its claimer), then run the case until it waits."""
        actor.require_writer()
        data = dict(check_data({} if data is None else data))
        row, case = self.cases.lock_for_task(session, task_id)
        ht = TaskView.of(row)
        uploads: list[dict[str, str]] = []
        try:
            if ht.state != "ready":
                raise TaskNotReady(f"Task {task_id} '{ht.name}' is already {ht.state}.")
            if ht.claimed_by is None:
                raise TaskNotClaimed(f"Task {task_id} '{ht.name}' must be claimed before it is completed: "
                                     f"`shanyu claim {task_id} --as {actor.name}`.")
            if ht.claimed_by != actor.name:
                raise PermissionDenied(f"Task {task_id} '{ht.name}' is claimed by '{ht.claimed_by}'; "
                                       "only they can complete it.")
            if ht.form:
                schema = self.cases.forms_for(session, case.process_version_id).get(ht.form)
                if schema is None:
                    raise WorkflowFailed(f"Task {task_id} '{ht.name}' uses form '{ht.form}', which its process "
                                         "version does not contain.")
                data = forms.validate(schema, forms.with_defaults(schema, data), form=ht.form)
                uploads = materials.check_uploads(session, case.id, schema, data, form=ht.form)
            task = case.workflow.get_task_from_id(UUID(ht.task_id))
            if task is None or task.state != TaskState.READY:
                raise TaskNotReady(f"Task {task_id} '{ht.name}' is no longer ready in its case.")
        except ShanyuError:
            self.cases.put_back(case)  # nothing was changed in the workflow
            raise
        path = case.loaded.path(task)
        outgoing: list[_Outgoing] = []
        with self._step(session, case, now) as log:
            inputs.complete(case.workflow, task, data)
        self._commit(session, case, now=now, actor=actor.name, event=inputs.COMPLETED,
                     payload={"task": path, "bpmn_id": ht.bpmn_id, "human_task": ht.id, "data": data,
                              **({"materials": uploads} if uploads else {})},
                     log=log, outgoing=outgoing, completed_by=actor.name)
        self._route(session, outgoing, now=now)
        return TaskView(**{**row, "state": "completed", "completed_at": now, "completed_by": actor.name})

    @staticmethod
    def _why_not(actor: Actor, ht: TaskView) -> str:
        if ht.role is not None and ht.role not in actor.roles:
            return (f"Task {ht.id} '{ht.name}' belongs to role '{ht.role}'; user '{actor.name}' has "
                    f"{', '.join(sorted(actor.roles)) or 'no roles'}.")
        return (f"Task {ht.id} '{ht.name}' belongs to district {ht.district}; user '{actor.name}' works for "
                f"district {actor.district}.")

    # -- messages ------------------------------------------------------------------------------
    def message(self, session: Session, name: str, keys: Mapping[str, Any] | None = None,
                data: Mapping[str, Any] | None = None, *, actor: Actor, now: datetime) -> list[int]:
        """Deliver message ``name`` to every case waiting for it whose correlation values match
        ``keys``, or start the processes it starts; returns the instance ids reached."""
        actor.require_writer()
        payload = dict(check_data({} if data is None else data, what="Message data"))
        text_keys = {str(k): key_text(v) for k, v in (keys or {}).items()}
        reached = self._deliver(session, _Outgoing(name, text_keys, payload, None), actor=actor.name, now=now,
                                sender=actor)
        if not reached:
            shown = ", ".join(f"{k}={v}" for k, v in sorted(text_keys.items())) or "no keys"
            raise MessageNotDelivered(f"No case is waiting for message '{name}' with {shown}, and no process "
                                      "starts with it. Nothing was changed.", message_name=name)
        return reached

    def _deliver(self, session: Session, msg: _Outgoing, *, actor: str, now: datetime,
                 sender: Actor | None = None) -> list[int]:
        """``sender``: the user who sent the message (``message``), checked against each target
        case; ``None`` for messages the cases throw to each other, which are not checked."""
        subs = session.execute(
            select(MessageSubscription.instance_id, MessageSubscription.task_id, MessageSubscription.keys)
            .where(MessageSubscription.message_name == msg.name).order_by(MessageSubscription.id)
        ).all()
        reached: list[int] = []
        outgoing: list[_Outgoing] = []
        for instance_id, task_id, keys_text in subs:
            wanted = json.loads(keys_text)
            if instance_id in reached or any(msg.keys.get(k) != v for k, v in wanted.items()):
                continue
            case = self.cases.lock(session, instance_id)
            task = case.workflow.get_task_from_id(UUID(task_id))
            if task is None or task.state != TaskState.WAITING:
                self.cases.put_back(case)
                continue
            if sender is not None and not sender.may_act_in(case.district):
                self.cases.put_back(case)
                self._refuse_message(sender, msg, case.id, case.district)
            self._catch(session, case, task, msg, actor=actor, now=now, outgoing=outgoing)
            reached.append(instance_id)
        if not reached:
            for pv in self._message_starters(session, msg.name):
                if sender is not None and not sender.may_act_in(msg.keys.get("district")):
                    self._refuse_message(sender, msg, None, msg.keys.get("district"), process=pv.process_id)
                # The message's keys are the new case's start data: its start event's correlation
                # properties are evaluated on them, and later waits of the case correlate by them.
                case = self._create(session, pv, msg.keys.get("district"), dict(msg.keys), actor=Actor(actor), now=now,
                                    outgoing=outgoing, extra={"started_by_message": msg.name})
                start = next((t for t in case.workflow.get_tasks(state=TaskState.WAITING)
                              if isinstance(getattr(t.task_spec, "event_definition", None), MessageEventDefinition)
                              and t.task_spec.event_definition.name == msg.name), None)
                if start is not None:
                    case = self.cases.lock(session, case.id)
                    self._catch(session, case, case.workflow.get_task_from_id(start.id), msg, actor=actor,
                                now=now, outgoing=outgoing)
                reached.append(case.id)
        self._route(session, outgoing, now=now)
        return reached

    @staticmethod
    def _refuse_message(sender: Actor, msg: _Outgoing, instance_id: int | None, district: str | None, *,
                        process: str | None = None) -> None:
        target = f"case {instance_id}" if instance_id is not None else f"a new case of '{process}'"
        where = f"district {district}" if district else "no district (a municipal case)"
        raise PermissionDenied(f"The {sender.describe()} may not send message '{msg.name}' into {target}, which "
                               f"has {where}: district staff send messages only into cases of their own "
                               "district. Nothing was delivered.")

    def _catch(self, session: Session, case: Case, task: Any, msg: _Outgoing, *, actor: str, now: datetime,
               outgoing: list[_Outgoing]) -> None:
        path = path_of(task)
        with self._step(session, case, now) as log:
            inputs.deliver(case.workflow, task, inputs.message_payload(msg.keys, msg.payload))
        self._commit(session, case, now=now, actor=actor, event=inputs.DELIVERED,
                     payload={"task": path, "message": msg.name, "keys": msg.keys, "data": msg.payload,
                              "from_instance": msg.source}, log=log, outgoing=outgoing)

    def _message_starters(self, session: Session, name: str) -> list[ProcessVersion]:
        latest = select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("v")) \
            .group_by(ProcessVersion.process_id).subquery()
        versions = session.execute(select(ProcessVersion).join(
            latest, (ProcessVersion.process_id == latest.c.process_id) & (ProcessVersion.version == latest.c.v)
        )).scalars().all()
        found = []
        for pv in versions:
            spec, _subs = self.cases.specs_for(session, pv.id)
            for ts in getattr(spec, "bpmn_start_events", None) or []:
                definition = getattr(ts, "event_definition", None)
                if isinstance(definition, MessageEventDefinition) and definition.name == name:
                    found.append(pv)
                    break
        return found

    def _route(self, session: Session, outgoing: list[_Outgoing], *, now: datetime) -> None:
        """Deliver messages thrown by cases; keep those nobody waits for until someone does."""
        count = 0
        while outgoing:
            msg = outgoing.pop(0)
            count += 1
            if count > MAX_DELIVERIES:
                raise WorkflowFailed(f"More than {MAX_DELIVERIES} messages were exchanged in one action; "
                                     "the diagrams probably send messages in a loop. Nothing was saved.")
            actor = f"message:{msg.source}" if msg.source is not None else "message"
            if not self._deliver(session, msg, actor=actor, now=now):
                session.add(PendingMessage(message_name=msg.name, keys=canonical_json(msg.keys),
                                           payload=canonical_json(msg.payload), sent_at=now, sent_by=actor,
                                           source_instance_id=msg.source))
                session.flush()

    def _deliver_pending(self, session: Session, case: Case, *, now: datetime, outgoing: list[_Outgoing]) -> None:
        """A case that starts waiting for a message receives one that was sent before it waited."""
        for _tid, (_sid, name, keys_text) in list(case.open_subs.items()):
            wanted = json.loads(keys_text)
            for pm in session.execute(select(PendingMessage).where(
                    PendingMessage.message_name == name, PendingMessage.delivered_to.is_(None))
                    .order_by(PendingMessage.id)).scalars():
                keys = json.loads(pm.keys)
                if all(keys.get(k) == v for k, v in wanted.items()):
                    pm.delivered_to, pm.delivered_at = case.id, now
                    session.flush()
                    outgoing.append(_Outgoing(name, keys, json.loads(pm.payload), pm.source_instance_id))
                    return

    # -- timers --------------------------------------------------------------------------------
    def fire_timers(self, session: Session, instance_id: int, *, now: datetime) -> int:
        """Fire every timer of one case that is due at ``now``; returns how many fired. Firing again
        fires nothing and records nothing."""
        case = self.cases.lock(session, instance_id)
        before = {tid: due for tid, (_id, due) in case.open_timers.items()}
        if not any(due < now for due in before.values()):
            self.cases.put_back(case)
            return 0
        outgoing: list[_Outgoing] = []
        with self._step(session, case, now) as log:
            inputs.fire_timers(case.workflow)
        fired = []
        for tid, due in sorted(before.items(), key=lambda item: item[1]):
            task = case.workflow.get_task_from_id(UUID(tid))
            if task is not None and task.state == TaskState.COMPLETED:  # a cancelled sibling did not fire
                fired.append({"task": tid, "bpmn_id": task.task_spec.bpmn_id, "due": due.isoformat()})
        self._commit(session, case, now=now, actor="scheduler", event=inputs.FIRED,
                     payload={"timers": fired, "fired_at": now.isoformat()}, log=log, outgoing=outgoing)
        self._route(session, outgoing, now=now)
        return len(fired)

    # -- shared plumbing -----------------------------------------------------------------------
    @contextmanager
    def _step(self, session: Session, case: Case, now: datetime) -> Iterator[StepLog]:
        log = StepLog(context=HandlerContext(session, case.id, case.process_id, case.district, "", now))
        try:
            with inputs.step(case.loaded, self.script_engine, now, log):
                yield log
        except ShanyuError:
            raise
        except SpiffWorkflowException as exc:
            inner = getattr(exc, "exception", None) or exc.__cause__
            if isinstance(inner, ShanyuError):
                raise inner from exc
            if isinstance(inner, MemoryError):
                raise ResourceExhausted(f"Case {case.id} ran out of memory: a script, or the data it built, needs "
                                        "more memory than this server has. Nothing was saved.",
                                        instance_id=case.id) from exc
            raise WorkflowFailed(f"Case {case.id} could not proceed: {exc}. Nothing was saved.",
                                 instance_id=case.id) from exc
        except MemoryError as exc:
            raise ResourceExhausted(f"Case {case.id} ran out of memory: a script, or the data it built, needs more "
                                    "memory than this server has. Nothing was saved.", instance_id=case.id) from exc
        except Exception as exc:
            raise WorkflowFailed(f"Case {case.id} could not proceed: {type(exc).__name__}: {exc}. Nothing was saved.",
                                 instance_id=case.id) from exc

    def _commit(self, session: Session, case: Case, *, now: datetime, actor: str, event: str,
                payload: dict[str, Any], log: StepLog, outgoing: list[_Outgoing],
                completed_by: str | None = None) -> None:
        """Changed rows, projections, one history event, the row's version; then back to the cache."""
        thrown = []
        # the thrown messages are taken before the state is collected: a stored case has none pending
        for ev in case.workflow.get_events():
            definition = ev.event_definition
            if isinstance(definition, MessageEventDefinition):
                keys = {prop: key_text(value) for group in (ev.correlations or {}).values()
                        for prop, value in (group or {}).items()}
                body = ev.payload if isinstance(ev.payload, dict) else {"payload": ev.payload}
                outgoing.append(_Outgoing(definition.name, keys, body, case.id))
                thrown.append({"message": definition.name, "keys": keys})
        changes = collect_changes(case.loaded)
        projections.sync(session, case, now, changes=changes, completed_by=completed_by)
        if log.handler_results:
            payload = {**payload, "handler_results": log.handler_results}
        if log.function_results:
            payload = {**payload, "function_results": log.function_results}
        if thrown:
            payload = {**payload, "messages_sent": thrown}
        digest = state_digest(case.loaded)
        head = append_event(session, case.id, case.head, type_=event, at=now, actor=actor, payload=payload,
                            state_digest=digest)
        status = "completed" if case.workflow.completed else "running"
        self.cases.save(session, case, changes, now=now, head=head, status=status, digest=digest)
        if self.check_state:
            self._check_reload(session, case, event)
        self._deliver_pending(session, case, now=now, outgoing=outgoing)
        self.cases.put_back(case)

    def _check_reload(self, session: Session, case: Case, event: str) -> None:
        """The saved case, loaded back from the database, must be the case that ran."""
        again = self.cases.restore(session, case.id, case.process_version_id)
        found = consistency.differences(consistency.view(case.loaded), consistency.view(again))
        if found:
            raise StateDiverged(f"Case {case.id}: after {event}, the case loaded back from the database differs from "
                                f"the case that ran: {'; '.join(found)}. Nothing was saved; this is a defect of "
                                "Shanyu, please report it with this message.", instance_id=case.id)

    def _record(self, session: Session, instance: InstanceRow, *, now: datetime, actor: str, event: str,
                payload: dict[str, Any]) -> None:
        """An event that changes no workflow state (claim, release): it records the digest of the
        newest event again, kept on the instance row, so the case need not be loaded."""
        head = append_event(session, instance.id, ChainHead(instance.event_count, instance.head_hash), type_=event,
                            at=now, actor=actor, payload=payload, state_digest=instance.state_digest)
        self.cases.bump(session, instance, now=now, head=head)
