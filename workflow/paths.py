"""Where a task sits in a case: tree paths that do not depend on the random task UUIDs.

A path lists child indices from the root, '/'-joined (``0/1/0``); a task inside a subprocess is
prefixed by its parent task's path and '>' (``0/1>0/2``). History and replay name tasks by path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task

from .adapters.spiff import child_ids


def all_workflows(workflow: BpmnWorkflow) -> Iterator[tuple[str, Any]]:
    """The top workflow (key "") and its subprocesses (key = parent task id)."""
    yield "", workflow
    for parent_id, sub in workflow.subprocesses.items():
        yield str(parent_id), sub


def path_key(path: str) -> tuple[tuple[int, ...], ...]:
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
            for i, child_id in enumerate(child_ids(task)):
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
        parts.append(str(child_ids(parent).index(current.id)))
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
            children = child_ids(task)
            if i >= len(children):
                return None
            task = wf.tasks.get(children[i])
    return task
