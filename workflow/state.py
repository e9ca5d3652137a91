"""A case's workflow state: stored as one row per task and written by difference.

Layout. SpiffWorkflow's serializer writes a whole workflow (spec included) as one document; a step
would then cost a full re-serialization. We keep the spec out (it is pinned by the process version)
and store the same dicts its converters write, split: one ``task_row`` per task holding the task
converter's dict without its data, which lives in the content-addressed ``data_blob`` table
(``data_hash``), and the workflow and subprocess converters' dicts, without their tasks, in the
instance row's ``meta`` (texts: ``workflow.texts``; the digest of the state: ``workflow.digest``).
A case is rebuilt through the converters (``restore``). After a step, only rows whose task changed
are written.

Change detection. A finished task (completed, cancelled, error) is treated as immutable once its
row is written; its fingerprint (state, last state change, children) tells whether it changed
again. Tasks that are still active (waiting, ready, started) are re-serialized every step and
compared with what was written, which is cheap because they are few. ``SHANYU_CHECK_STATE`` and the
tests' state oracle check that this never misses a change (``workflow.consistency``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from .adapters.spiff import COPY, REGISTRY, child_ids, restore_workflow
from .paths import all_workflows, path_of
from .texts import data_to_json, header_texts, meta_text, sha256, stored_json, task_body

ACTIVE = TaskState.WAITING | TaskState.READY | TaskState.STARTED | TaskState.ERROR


@dataclass(slots=True)
class SavedTask:
    """What was last written for one task, so the next save can skip it when unchanged."""

    fingerprint: tuple[Any, ...]
    body_digest: bytes  # sha256 of the stored body: compared, never read back, so the text is not kept
    data_hash: str
    digest_line: str | None  # the task's line in the digest; None: recompute (active, or refers to other tasks)
    internal: str | None = None  # the internal data as stored JSON; None: convert again


@dataclass
class Changes:
    """What a save must write: changed rows, new data blobs, deleted tasks, and the new meta."""

    rows: dict[str, tuple[str, str]] = field(default_factory=dict)  # task id -> (body, data hash)
    blobs: dict[str, str] = field(default_factory=dict)  # data hash -> JSON text
    deleted: list[str] = field(default_factory=list)
    meta: str | None = None
    tasks: list[Task] = field(default_factory=list)  # the tasks behind ``rows``


@dataclass
class LoadedCase:
    """A workflow object together with what is known to be stored for it."""

    workflow: BpmnWorkflow
    saved: dict[UUID, SavedTask] = field(default_factory=dict)
    meta: str = ""
    # how the case merges task data (workflow.adapters.spiff.MERGE_MODE): its instance row's data_merge
    data_merge: str = COPY
    # the digest's walk order (labels and tasks) and its workflows, reused until the tree's shape changes
    order: list[Any] | None = None
    order_workflows: list[Any] = field(default_factory=list)
    paths: dict[UUID, str] = field(default_factory=dict)  # tree paths, valid while ``order`` is
    # the digest's lines for ``order`` and where each task's line is; valid while ``order`` is,
    # except for the tasks in ``stale`` (rows written since), whose lines the next digest redoes
    lines: list[str] | None = None
    line_at: dict[UUID, int] = field(default_factory=dict)
    stale: set[UUID] = field(default_factory=set)
    # workflow-level data and correlations as last converted for ``meta`` (key "" or the parent
    # task id), as JSON texts; the digest reads them instead of converting the data a second time
    headers: dict[str, tuple[str, str]] = field(default_factory=dict)
    # hashes of the data blobs known to be stored: those of the saved rows (committed, or the cache
    # entry would not have been valid) and those this command wrote; a step writes only new ones.
    # Each maps to itself: saved tasks with equal data share one string.
    stored_blobs: dict[str, str] = field(default_factory=dict)

    def path(self, task: Task) -> str:
        """``path_of(task)``, remembered until the tree's shape changes."""
        if self.order is None:
            self.paths.clear()
        found = self.paths.get(task.id)
        if found is None:
            found = self.paths[task.id] = path_of(task)
        return found


def _fingerprint(task: Task) -> tuple[Any, ...]:
    children = child_ids(task)
    return (task.state, task.last_state_change, task.triggered, len(children), children[-1] if children else None)


def collect_changes(case: LoadedCase) -> Changes:
    """Compare the workflow with what was saved; update ``case.saved`` to the new state."""
    changes = Changes()
    saved = case.saved
    known = 0  # tasks of the workflow with a saved row; fewer than len(saved): some were removed
    for _key, wf in all_workflows(case.workflow):
        for tid, task in wf.tasks.items():
            old = saved.get(tid)
            if old is not None:
                known += 1
                state = task.state
                if not state & ACTIVE:
                    fp = old.fingerprint
                    children = child_ids(task)
                    if (fp[0] == state and fp[1] == task.last_state_change and fp[2] == task.triggered
                            and fp[3] == len(children) and fp[4] == (children[-1] if children else None)):
                        continue
            fp = _fingerprint(task)
            if old is None or old.fingerprint[3:] != fp[3:]:
                case.order = None  # a task was added or its children changed
            data_json = data_to_json(task.data)
            data_hash = sha256(data_json)
            internal = stored_json(task.internal_data)
            body = task_body(task, internal)
            body_digest = hashlib.sha256(body.encode()).digest()
            if old is not None and old.body_digest == body_digest and old.data_hash == data_hash:
                old.fingerprint = fp
                old.internal = internal
                continue
            changes.rows[str(tid)] = (body, data_hash)
            case.stale.add(tid)
            changes.tasks.append(task)
            if old is None:
                known += 1
            stored = case.stored_blobs.get(data_hash)
            if stored is None:
                changes.blobs[data_hash] = data_json
                case.stored_blobs[data_hash] = data_hash
            else:
                data_hash = stored
            saved[tid] = SavedTask(fp, body_digest, data_hash, None, internal)
    if known != len(saved):
        present = {tid for _key, wf in all_workflows(case.workflow) for tid in wf.tasks}
        for tid in [t for t in saved if t not in present]:
            del saved[tid]
            changes.deleted.append(str(tid))
            case.order = None
    case.headers = {}
    meta = meta_text(case.workflow, case.headers)
    if meta != case.meta:
        changes.meta = meta
        case.meta = meta
    return changes


def tree_order(tasks: dict[str, dict[str, Any]], root: str) -> list[str]:
    """The ids of one workflow's task dicts, parents first, depth first from ``root``."""
    order: list[str] = []
    stack = [root]
    while stack:
        tid = stack.pop()
        task = tasks.get(tid)
        if task is None:
            raise ValueError(f"stored task {tid} is missing")
        order.append(tid)
        stack.extend(reversed(task["children"]))
    return order


def restore(spec: Any, subprocess_specs: dict[str, Any], meta_text: str,
            rows: list[tuple[str, str, str]], blobs: dict[str, str], script_engine: Any) -> LoadedCase:
    """Rebuild a workflow from its stored rows, (task id, body, data hash), and data blobs,
    through SpiffWorkflow's own converters (see ``workflow.texts`` for what is stored).

    Each workflow's tasks are restored parents first, in tree order from its root: SpiffWorkflow
    expects a parent in the task map before its children (its serializer, for one, computes a
    task's data from its parent's). Rows that no workflow's tree reaches mean the stored state is
    broken; that is an error, never a silent loss.
    """
    meta = json.loads(meta_text)
    bodies: dict[str, dict[str, Any]] = {}
    texts: dict[str, tuple[str, str]] = {}
    for tid, body_text, data_hash in rows:
        bodies[tid] = json.loads(body_text)
        texts[tid] = (body_text, data_hash)
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine, deserializing=True)
    case = LoadedCase(workflow, {}, meta_text)
    used: set[str] = set()

    def tasks_of(root: str) -> dict[str, Any]:
        """The task dicts of one workflow in tree order, each with its data."""
        found = {tid: {**bodies[tid], "data": json.loads(blobs[texts[tid][1]])} for tid in tree_order(bodies, root)}
        used.update(found)
        return found

    top = dict(meta["workflow"])
    top_tasks = tasks_of(top["root"])
    subs = {h["parent_task_id"]: {**h, "tasks": tasks_of(h["root"])} for h in meta["subprocesses"]}
    if len(used) != len(bodies):
        raise ValueError(f"stored tasks outside every workflow: {sorted(set(bodies) - used)[:5]}")
    restore_workflow(workflow, top, top_tasks, subs)
    order = [UUID(h["parent_task_id"]) for h in meta["subprocesses"]]
    workflow.subprocesses = {key: workflow.subprocesses[key] for key in order}
    case.headers = {key: header_texts(wf) for key, wf in all_workflows(workflow)}
    for _key, wf in all_workflows(workflow):
        for tid, task in wf.tasks.items():
            body_text, data_hash = texts[str(tid)]
            data_hash = case.stored_blobs.setdefault(data_hash, data_hash)
            case.saved[tid] = SavedTask(_fingerprint(task), hashlib.sha256(body_text.encode()).digest(), data_hash, None)
    return case


def spiff_document(spec: Any, subprocess_specs: dict[str, Any], meta_text: str,
                   rows: list[tuple[str, str, str]], blobs: dict[str, str]) -> dict[str, Any]:
    """A stored case as the one document SpiffWorkflow's serializer writes for the whole workflow
    (``BpmnWorkflowSerializer.to_dict``, specs included): what ``restore`` reads, reassembled, which
    the serializer's own ``from_dict`` (or ``deserialize_json``, with ``serializer_version``) takes."""
    meta = json.loads(meta_text)
    tasks: dict[str, dict[str, Any]] = {}
    for tid, body_text, data_hash in rows:
        tasks[tid] = {**json.loads(body_text), "data": json.loads(blobs[data_hash])}

    def tree(root: str) -> dict[str, Any]:
        return {tid: tasks[tid] for tid in tree_order(tasks, root)}

    return {
        **meta["workflow"],
        "tasks": tree(meta["workflow"]["root"]),
        "subprocesses": {h["parent_task_id"]: {**h, "tasks": tree(h["root"])} for h in meta["subprocesses"]},
        "spec": REGISTRY.convert(spec),
        "subprocess_specs": {name: REGISTRY.convert(sub) for name, sub in subprocess_specs.items()},
    }
