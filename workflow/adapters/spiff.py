"""SpiffWorkflow internals used by the engine, each pinned by tests/workflow/test_adapters__spiff.py.

* A task's parent and children are kept as ids (``Task._parent``, ``Task._children``); the public
  ``parent``/``children`` properties look every id up in the workflow's task map, which the hot
  path (change detection, digests, tree paths) cannot afford on every task of every step.
* A message is delivered to one chosen waiting task: ``catch`` records it, and the task spec's
  ``_update`` moves the task on, exactly as ``BpmnWorkflow.catch`` does for every task that
  matches; Shanyu has already matched the case and the task by its correlation keys.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.task import Task


def child_ids(task: Task) -> list[UUID]:
    """The ids of a task's children, in order (the list itself: do not modify)."""
    children: list[UUID] = task._children
    return children


def parent_id(task: Task) -> UUID | None:
    """The id of a task's parent, or None for a root."""
    parent: UUID | None = task._parent
    return parent


def catch_message(task: Task, payload: dict[str, Any]) -> None:
    """Deliver a message with ``payload`` to ``task``, a task waiting for that message."""
    spec: Any = task.task_spec
    spec.catch(task, BpmnEvent(spec.event_definition, payload=payload, correlations={}))
    spec._update(task)
