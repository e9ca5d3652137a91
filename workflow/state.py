"""A case's workflow state: stored as one row per task, written by difference, digested canonically.

Layout. The SpiffWorkflow serializer writes a whole workflow (spec included) as one document; a
step would then cost a full re-serialization. We keep the spec out (it is pinned by the process
version) and store one ``task_row`` per task: a small JSON ``body`` (parent, children, state, spec
name, internal data, ...) and a ``data_hash`` pointing to the task's data in the content-addressed
``data_blob`` table. Workflow-level fields (data, correlations, subprocess headers) live in the
instance row's ``meta``. After a step, only rows whose task changed are written.

Change detection. A finished task (completed, cancelled, error) is treated as immutable once its
row is written; its fingerprint (state, last state change, children) tells whether it changed
again. Tasks that are still active (waiting, ready, started) are re-serialized every step and
compared by text, which is cheap because they are few.

Digest. ``state_digest`` hashes the task tree in depth-first order, each task contributing its
spec name, state, data and internal data, so it does not depend on the random task UUIDs (internal
data that mentions task UUIDs is rewritten to tree paths). ``last_state_change`` is left out.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

REGISTRY: Any = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)

_ACTIVE = TaskState.WAITING | TaskState.READY | TaskState.STARTED | TaskState.ERROR
_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


_canonical = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


def canonical_json(value: Any) -> str:
    """The one JSON text used wherever something is hashed (sorted keys, no spaces, UTF-8)."""
    return _canonical(value)


def _literal(value: Any) -> str:
    """A scalar as JSON; the common constants without calling the encoder."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return _canonical(value)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _NotPlain(Exception):
    """Raised by the JSON encoder on a value that plain JSON cannot hold."""


def _refuse(value: Any) -> Any:
    raise _NotPlain


_plain_json = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_refuse).encode


def stored_json(value: Any) -> str:
    """``value`` as canonical JSON after the serializer's conversion (dates, UUIDs, ... become
    tagged objects; callables at the top level of a dict are dropped).

    Task data is nearly always plain JSON already; then the registry would hand back an equal copy,
    so the text is encoded straight away and the registry runs only when the encoder meets a value
    it cannot hold. None of the registry's types is a subclass of a JSON type, so both ways give
    the same text.
    """
    try:
        return _plain_json(value)
    except _NotPlain:
        return canonical_json(REGISTRY.convert(REGISTRY.clean(value)))


def data_to_json(data: dict[str, Any]) -> str:
    return stored_json(data)


def data_from_json(text: str) -> Any:
    return REGISTRY.restore(json.loads(text))


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
    # the digest's walk order (labels and tasks) and its workflows, reused until the tree's shape changes
    order: list[Any] | None = None
    order_workflows: list[Any] = field(default_factory=list)
    paths: dict[UUID, str] = field(default_factory=dict)  # tree paths, valid while ``order`` is
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
    return (task._state, task.last_state_change, task.triggered, len(task._children),
            task._children[-1] if task._children else None)


def all_workflows(workflow: BpmnWorkflow) -> Iterator[tuple[str, Any]]:
    """The top workflow (key "") and its subprocesses (key = parent task id)."""
    yield "", workflow
    for parent_id, sub in workflow.subprocesses.items():
        yield str(parent_id), sub


def _task_body(task: Task, wf_key: str, internal: str) -> str:
    """The stored row of a task: the canonical JSON of its fields, ``internal`` (the internal data
    as ``stored_json`` gives it) spliced in as text so that it is converted once per step."""
    # members in sorted key order; task ids are UUIDs and need no escaping
    children = ",".join([f'"{c}"' for c in task._children])
    parent = f'"{task._parent}"' if task._parent is not None else "null"
    return (f'{{"c":[{children}],"i":{internal},"p":{parent},"s":{_literal(task._state)},'
            f'"spec":{_literal(task.task_spec.name)},"t":{_literal(task.last_state_change)},'
            f'"tr":{_literal(task.triggered)},"w":{_literal(wf_key)}}}')


def _record_hash(task: Task, data_hash: str, internal: str | None,
                 paths: Callable[[], dict[str, str]]) -> tuple[str, bool]:
    """Hash of one task for the digest; second value: whether it may be cached."""
    if internal is None:
        internal = stored_json(task.internal_data)
    cacheable = True
    if _UUID_RE.search(internal):
        cacheable = False  # the paths it refers to may shift; never cache
        known = paths()
        internal = _UUID_RE.sub(lambda m: "@" + known.get(m.group(0), "?"), internal)
    text = f"{task.task_spec.name}|{task._state}|{int(task.triggered)}|{data_hash}|{internal}"
    return sha256(text), cacheable


def _header_texts(wf: Any) -> tuple[str, str]:
    """A workflow's data and correlations as stored JSON."""
    return stored_json(REGISTRY.clean(wf.data)), stored_json(wf.correlations)


def _header_text(wf: Any, texts: tuple[str, str], *, last_task: str | None, extra: list[str]) -> str:
    """The canonical JSON object of one workflow's fields, with data and correlations spliced in
    as text; ``extra`` are further ``"key":value`` members whose keys sort between "root" and
    "success". The keys are written in sorted order, so the text equals ``canonical_json`` of the
    same object (tests/workflow/test_state__texts.py checks it)."""
    data_text, correlations_text = texts
    members = [f'"completed":{_literal(wf.completed)}', f'"correlations":{correlations_text}', f'"data":{data_text}',
               f'"last_task":{_literal(last_task)}']
    return "{" + ",".join(members + extra + [f'"success":{_literal(wf.success)}']) + "}"


def _meta_text(workflow: BpmnWorkflow, headers: dict[str, tuple[str, str]]) -> str:
    """The instance row's ``meta``: the top workflow's fields plus, as a list in creation order,
    each subprocess's (restoring them in that order makes a restored case run its subprocesses in
    the same order as the running one did, and as replay does). Fills ``headers``."""
    def fields(wf: Any, key: str, extra: list[str]) -> str:
        texts = headers[key] = _header_texts(wf)
        last = str(wf.last_task.id) if wf.last_task is not None else None
        return _header_text(wf, texts, last_task=last, extra=[f'"root":"{wf.task_tree.id}"', *extra])

    subs = []
    for key, sub in all_workflows(workflow):
        if key:
            spec = f'"spec":{_literal(sub.spec.name)}'
            subs.append(f"[{_literal(key)},{fields(sub, key, [spec])}]")
    return fields(workflow, "", ['"subprocesses":[' + ",".join(subs) + "]"])


def collect_changes(case: LoadedCase) -> Changes:
    """Compare the workflow with what was saved; update ``case.saved`` to the new state."""
    changes = Changes()
    saved = case.saved
    known = 0  # tasks of the workflow with a saved row; fewer than len(saved): some were removed
    for wf_key, wf in all_workflows(case.workflow):
        for tid, task in wf.tasks.items():
            old = saved.get(tid)
            if old is not None:
                known += 1
                state = task._state
                if not state & _ACTIVE:
                    fp = old.fingerprint
                    children = task._children
                    if (fp[0] == state and fp[1] == task.last_state_change and fp[2] == task.triggered
                            and fp[3] == len(children) and fp[4] == (children[-1] if children else None)):
                        continue
            fp = _fingerprint(task)
            if old is None or old.fingerprint[3:] != fp[3:]:
                case.order = None  # a task was added or its children changed
            data_json = data_to_json(task.data)
            data_hash = sha256(data_json)
            internal = stored_json(task.internal_data)
            body = _task_body(task, wf_key, internal)
            body_digest = hashlib.sha256(body.encode()).digest()
            if old is not None and old.body_digest == body_digest and old.data_hash == data_hash:
                old.fingerprint = fp
                old.internal = internal
                continue
            changes.rows[str(tid)] = (body, data_hash)
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
    meta = _meta_text(case.workflow, case.headers)
    if meta != case.meta:
        changes.meta = meta
        case.meta = meta
    return changes


def restore(spec: Any, subprocess_specs: dict[str, Any], meta_text: str,
            rows: list[tuple[str, str, str]], blobs: dict[str, str], script_engine: Any) -> LoadedCase:
    """Rebuild a workflow from its stored rows: (task id, body, data hash) and data blobs."""
    meta = json.loads(meta_text)
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine, deserializing=True)
    case = LoadedCase(workflow, {}, meta_text)
    if isinstance(meta["subprocesses"], list):
        case.headers = {key: (canonical_json(h["data"]), canonical_json(h["correlations"]))
                        for key, h in [("", meta), *meta["subprocesses"]]}
    by_wf: dict[str, list[tuple[UUID, dict[str, Any], str, str]]] = {}
    for tid, body_text, data_hash in rows:
        body = json.loads(body_text)
        by_wf.setdefault(body["w"], []).append((UUID(tid), body, body_text, data_hash))

    def fill(wf: Any, key: str) -> None:
        for tid, body, body_text, data_hash in by_wf.get(key, []):
            task_spec = wf.spec.task_specs[body["spec"]]
            task = Task(wf, task_spec, state=body["s"], id=tid)
            task._parent = UUID(body["p"]) if body["p"] else None
            task._children = [UUID(c) for c in body["c"]]
            task.last_state_change = body["t"]
            task.triggered = body["tr"]
            task.internal_data = REGISTRY.restore(body["i"])
            task.data = data_from_json(blobs[data_hash])
            if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
                workflow.event_manager.add_task(task)
            data_hash = case.stored_blobs.setdefault(data_hash, data_hash)
            case.saved[tid] = SavedTask(_fingerprint(task), hashlib.sha256(body_text.encode()).digest(), data_hash, None)

    def header(wf: Any, h: dict[str, Any]) -> None:
        wf.task_tree = wf.tasks[UUID(h["root"])]
        wf.data = REGISTRY.restore(h["data"])
        wf.correlations = REGISTRY.restore(h["correlations"])
        wf.success = h["success"]
        wf.completed = h["completed"]
        wf.last_task = wf.tasks.get(UUID(h["last_task"])) if h["last_task"] else None

    fill(workflow, "")
    header(workflow, meta)
    stored = meta["subprocesses"]
    pending = dict(stored) if isinstance(stored, list) else dict(sorted(stored.items()))
    while pending:
        progressed = False
        for key, h in list(pending.items()):
            parent = workflow.get_task_from_id(UUID(key))
            if parent is None:
                continue
            sub = BpmnSubWorkflow(subprocess_specs[h["spec"]], parent.id, workflow, deserializing=True)
            fill(sub, key)
            header(sub, h)
            workflow.subprocesses[parent.id] = sub
            sub.completed_event.connect(parent.task_spec._on_subworkflow_completed, parent)
            del pending[key]
            progressed = True
        if not progressed:
            raise ValueError(f"stored subprocesses without a parent task: {sorted(pending)}")
    return case


def canonical_order(case: LoadedCase) -> None:
    """Put the waiting (event-catching) tasks in tree order before a step.

    SpiffWorkflow visits them in dict order when it refreshes timers and catches events; that order
    is the order they started waiting in a running case but the row order in a restored one. A
    step must not depend on whether its case came from the cache or the database (replay never
    restores), so every step starts from the same canonical order.
    """
    manager = case.workflow.event_manager
    if len(manager.tasks) > 1:
        manager.tasks = dict(sorted(manager.tasks.items(), key=lambda item: _path_key(case.path(item[1]))))


def _path_key(path: str) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(i) for i in part.split("/")) for part in path.split(">"))


def task_paths(workflow: BpmnWorkflow) -> dict[str, str]:
    """Map every task id (str) to its tree path: child indices from the root, '/'-joined,
    prefixed by the parent task's path for subprocesses (``0/1>0/2``)."""
    paths: dict[str, str] = {}
    for key, wf in all_workflows(workflow):
        prefix = (paths.get(key, "?") + ">") if key else ""
        stack: list[tuple[Task, str]] = [(wf.task_tree, prefix + "0")]
        while stack:
            task, path = stack.pop()
            paths[str(task.id)] = path
            for i, child_id in enumerate(task._children):
                child = wf.tasks.get(child_id)
                if child is not None:
                    stack.append((child, f"{path}/{i}"))
    return paths


def path_of(task: Task) -> str:
    """The tree path of one task (see ``task_paths``), found by walking up its parents."""
    parts: list[str] = []
    current = task
    while current.parent is not None:
        parent = current.parent
        parts.append(str(parent._children.index(current.id)))
        current = parent
    own = "/".join(["0", *reversed(parts)])
    wf = task.workflow
    if isinstance(wf, BpmnSubWorkflow):
        return path_of(wf.top_workflow.get_task_from_id(wf.parent_task_id)) + ">" + own
    return own


def find_by_path(workflow: BpmnWorkflow, path: str) -> Task | None:
    """Inverse of ``path_of``."""
    wf: Any = workflow
    task: Task | None = None
    for depth, part in enumerate(path.split(">")):
        if depth:
            if task is None or task.id not in workflow.subprocesses:
                return None
            wf = workflow.subprocesses[task.id]
        indices = part.split("/")
        task = wf.task_tree
        for index in indices[1:]:
            assert task is not None
            i = int(index)
            if i >= len(task._children):
                return None
            task = wf.tasks.get(task._children[i])
    return task


def _walk_order(workflow: BpmnWorkflow, paths: dict[UUID, str]) -> tuple[list[Any], list[Any]]:
    """Labels and tasks in digest order: the top workflow's tree depth first, then each subprocess's
    (in path order: ``workflow.subprocesses`` is in creation order in a running case but in stored
    order in a restored one, and the digest must not tell them apart). Fills ``paths`` with the
    tree path of every task it visits (see ``task_paths``): the next command's task is among them."""

    def walk(wf: Any, root_path: str) -> list[Task]:
        tasks = wf.tasks
        visited: list[Task] = []
        stack: list[tuple[Task, str]] = [(wf.task_tree, root_path)]
        while stack:
            task, path = stack.pop()
            visited.append(task)
            paths[task.id] = path
            children = task._children
            for i in range(len(children) - 1, -1, -1):
                child = tasks.get(children[i])
                if child is not None:
                    stack.append((child, f"{path}/{i}"))
        return visited

    order: list[Any] = ["#top", *walk(workflow, "0")]
    pending = [(key, wf) for key, wf in all_workflows(workflow) if key]
    subs: list[tuple[str, Any, list[Task]]] = []
    while pending:  # a nested subprocess's parent task lives in the subprocess above it
        later = []
        for key, wf in pending:
            parent_path = paths.get(UUID(key))
            if parent_path is None:
                later.append((key, wf))
            else:
                subs.append(("#sub:" + parent_path, wf, walk(wf, parent_path + ">0")))
        if len(later) == len(pending):  # parents outside every tree: fall back to walking up
            for key, wf in later:
                parent_path = path_of(workflow.get_task_from_id(UUID(key)))
                subs.append(("#sub:" + parent_path, wf, walk(wf, parent_path + ">0")))
            break
        pending = later
    subs.sort(key=lambda item: item[0])
    for label, _wf, visited in subs:
        order.append(label)
        order.extend(visited)
    return order, [workflow, *(wf for _label, wf, _visited in subs)]


def state_digest(case: LoadedCase) -> str:
    """A digest of the case state that replay must reproduce; independent of task UUIDs.

    Call after ``collect_changes`` so that the saved data hashes are current. The walk order is
    kept with the case and recomputed only when the tree's shape changed; unchanged finished tasks
    contribute their cached record hash.
    """
    workflow = case.workflow
    if case.order is None:
        case.paths.clear()
        case.order, case.order_workflows = _walk_order(workflow, case.paths)
    by_text: dict[str, str] = {}

    def paths() -> dict[str, str]:  # only for internal data that names tasks
        if not by_text:
            by_text.update((str(tid), path) for tid, path in case.paths.items())
        return by_text

    saved_tasks = case.saved
    lines: list[str] = []
    for entry in case.order:
        if isinstance(entry, str):
            lines.append(entry)
            continue
        saved = saved_tasks.get(entry.id)
        if saved is None:
            record, _cacheable = _record_hash(entry, sha256(data_to_json(entry.data)), None, paths)
            lines.append(f"{record}:{len(entry._children)}")
        elif saved.digest_line is not None:
            lines.append(saved.digest_line)
        else:
            record, cacheable = _record_hash(entry, saved.data_hash, saved.internal, paths)
            line = f"{record}:{len(entry._children)}"
            if cacheable and not entry._state & _ACTIVE:
                saved.digest_line = line  # the children are part of the saved body: a change replaces it
            lines.append(line)
    for wf in case.order_workflows:
        texts = case.headers.get("" if wf is workflow else str(wf.parent_task_id))
        if texts is None:  # not converted yet (a case never collected)
            texts = _header_texts(wf)
        lines.append(_header_text(wf, texts, last_task=case.path(wf.last_task) if wf.last_task is not None else None,
                                  extra=[]))
    return sha256("\n".join(lines))
