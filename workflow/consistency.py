"""Three views of a case must agree: the live case, the case rebuilt from the database by a fresh
process, and the case replayed from its history (and SpiffWorkflow's own serializer must carry it
unchanged). This module compares two views; ``workflow.engine`` uses it when ``SHANYU_CHECK_STATE``
is on, and the tests' state oracle (tests/oracle.py) after every command.

Views are compared by their state digest, their ready tasks and each task's spec, state, data and
internal data, named by tree path (task ids differ between a case and its replay). The first
differences are described so that a failure says where the views part.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.util.task import TaskState

from .digest import UUID_RE, state_digest
from .paths import all_workflows, task_paths
from .state import LoadedCase
from .texts import stored_json

CHECK_STATE_ENV = "SHANYU_CHECK_STATE"


def check_state_enabled(explicit: bool | None = None) -> bool:
    """Whether engines re-load every case they save and compare (``SHANYU_CHECK_STATE=1``)."""
    if explicit is not None:
        return explicit
    return os.environ.get(CHECK_STATE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class View:
    """What is compared of one view of a case."""

    digest: str
    ready: tuple[tuple[str, str], ...]  # (tree path, BPMN id) of every ready task
    waiting: tuple[str, ...]  # tree paths of the tasks SpiffWorkflow delivers events and timers to
    pending: int  # events thrown and not yet taken by the engine (none, once a command is done)
    tasks: dict[str, tuple[str, str, str, str]]  # path -> (spec name, state, data, internal data)
    workflows: dict[str, tuple[str, bool, bool, str | None]]  # root path -> (data, completed, success, last task)


def view(case: LoadedCase) -> View:
    """The comparable view of a case (computes its digest, as a command does before it saves)."""
    workflow = case.workflow
    paths = task_paths(workflow)

    def by_path(text: str) -> str:
        return UUID_RE.sub(lambda m: "@" + paths.get(m.group(0), "?"), text)

    tasks: dict[str, tuple[str, str, str, str]] = {}
    workflows: dict[str, tuple[str, bool, bool, str | None]] = {}
    for _key, wf in all_workflows(workflow):
        for tid, task in wf.tasks.items():
            tasks[paths.get(str(tid), f"?{tid}")] = (
                task.task_spec.name, TaskState.get_name(task.state), stored_json(task.data),
                by_path(stored_json(task.internal_data)))
        last = paths.get(str(wf.last_task.id)) if wf.last_task is not None else None
        workflows[paths.get(str(wf.task_tree.id), "?")] = (
            stored_json(wf.data), bool(wf.completed), bool(wf.success), last)
    ready = tuple(sorted((paths[str(t.id)], str(t.task_spec.bpmn_id))
                         for t in workflow.get_tasks(state=TaskState.READY)))
    waiting = tuple(sorted(paths.get(str(t.id), f"?{t.id}") for t in workflow.event_manager.tasks.values()))
    return View(state_digest(case), ready, waiting, len(workflow.bpmn_events), tasks, workflows)


def differences(expected: View, actual: View, *, limit: int = 5) -> list[str]:
    """How ``actual`` differs from ``expected``: nothing when they agree."""
    found: list[str] = []
    if expected.ready != actual.ready:
        found.append(f"ready tasks {list(expected.ready)} != {list(actual.ready)}")
    if expected.pending != actual.pending:
        found.append(f"{expected.pending} != {actual.pending} thrown events pending")
    if expected.waiting != actual.waiting:
        found.append(f"tasks waiting for events {list(expected.waiting)} != {list(actual.waiting)}")
    for path in sorted(set(expected.tasks) | set(actual.tasks)):
        one, other = expected.tasks.get(path), actual.tasks.get(path)
        if one != other:
            found.append(f"task {path}: {_short(one)} != {_short(other)}")
    for path in sorted(set(expected.workflows) | set(actual.workflows)):
        one_wf, other_wf = expected.workflows.get(path), actual.workflows.get(path)
        if one_wf != other_wf:
            found.append(f"workflow at {path}: {_short(one_wf)} != {_short(other_wf)}")
    if expected.digest != actual.digest and not found:
        found.append(f"state digest {expected.digest[:12]} != {actual.digest[:12]}")
    return found[:limit]


def _short(value: Any, width: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= width else text[:width] + "…"
