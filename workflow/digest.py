"""The state digest every history event records and replay must reproduce.

``state_digest`` hashes the task tree in depth-first order, each task contributing its spec name,
state, data and internal data, so it does not depend on the random task UUIDs (internal data that
mentions task UUIDs is rewritten to tree paths); ``last_state_change`` is left out. The walk order
is kept with the case until the tree's shape changes, and the line of a finished task is cached
with its saved row. ``canonical_order`` makes a step independent of whether its case came from the
cache or from the database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task

from .adapters.spiff import child_ids
from .paths import all_workflows, path_key, path_of
from .state import ACTIVE, LoadedCase
from .texts import data_to_json, header_text, header_texts, sha256, stored_json

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _record_hash(task: Task, data_hash: str, internal: str | None,
                 paths: Callable[[], dict[str, str]]) -> tuple[str, bool]:
    """Hash of one task for the digest; second value: whether it may be cached."""
    if internal is None:
        internal = stored_json(task.internal_data)
    cacheable = True
    if UUID_RE.search(internal):
        cacheable = False  # the paths it refers to may shift; never cache
        known = paths()
        internal = UUID_RE.sub(lambda m: "@" + known.get(m.group(0), "?"), internal)
    text = f"{task.task_spec.name}|{task.state}|{int(task.triggered)}|{data_hash}|{internal}"
    return sha256(text), cacheable


def canonical_order(case: LoadedCase) -> None:
    """Put the waiting (event-catching) tasks in tree order before a step.

    SpiffWorkflow visits them in dict order when it refreshes timers and catches events; that order
    is the order they started waiting in a running case but the row order in a restored one. A
    step must not depend on whether its case came from the cache or the database (replay never
    restores), so every step starts from the same canonical order.
    """
    manager = case.workflow.event_manager
    if len(manager.tasks) > 1:
        manager.tasks = dict(sorted(manager.tasks.items(), key=lambda item: path_key(case.path(item[1]))))


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
            children = child_ids(task)
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

    Call after ``collect_changes`` so that the saved data hashes are current. The walk order and
    the lines are kept with the case: while the tree's shape stays, only the lines of tasks whose
    rows were written since (``case.stale``) are computed again.
    """
    workflow = case.workflow
    if case.order is None:
        case.paths.clear()
        case.order, case.order_workflows = _walk_order(workflow, case.paths)
        case.lines = None
    by_text: dict[str, str] = {}

    def paths() -> dict[str, str]:  # only for internal data that names tasks
        if not by_text:
            by_text.update((str(tid), path) for tid, path in case.paths.items())
        return by_text

    lines = case.lines
    if lines is None:
        lines = case.lines = []
        case.line_at = {}
        for entry in case.order:
            if isinstance(entry, str):
                lines.append(entry)
            else:
                case.line_at[entry.id] = len(lines)
                lines.append(_line(case, entry, paths))
    else:
        for tid in case.stale:
            index = case.line_at.get(tid)
            if index is not None:
                lines[index] = _line(case, case.order[index], paths)
    case.stale.clear()
    headers = []
    for wf in case.order_workflows:
        texts = case.headers.get("" if wf is workflow else str(wf.parent_task_id))
        if texts is None:  # not converted yet (a case never collected)
            texts = header_texts(wf)
        headers.append(header_text(wf, texts, last_task=case.path(wf.last_task) if wf.last_task is not None else None,
                                   extra=[]))
    return sha256("\n".join(lines + headers))


def _line(case: LoadedCase, task: Task, paths: Callable[[], dict[str, str]]) -> str:
    """One task's line: its record hash and how many children it has."""
    saved = case.saved.get(task.id)
    if saved is None:
        record, _cacheable = _record_hash(task, sha256(data_to_json(task.data)), None, paths)
        return f"{record}:{len(child_ids(task))}"
    if saved.digest_line is not None:
        return saved.digest_line
    record, cacheable = _record_hash(task, saved.data_hash, saved.internal, paths)
    line = f"{record}:{len(child_ids(task))}"
    if cacheable and not task.state & ACTIVE:
        saved.digest_line = line  # the children are part of the saved body: a change replaces it
    return line
