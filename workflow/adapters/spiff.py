"""SpiffWorkflow internals used by the engine, each pinned by tests/workflow/test_adapters__spiff.py.

* A task's parent and children are kept as ids (``Task._parent``, ``Task._children``); the public
  ``parent``/``children`` properties look every id up in the workflow's task map, which the hot
  path (change detection, digests, tree paths) cannot afford on every task of every step.
* Everything else here is SpiffWorkflow's public converter API (``restore_workflow``), kept
  beside its private uses so that all knowledge of the stored format's library side is in one
  place.
* A message is delivered to one chosen waiting task: ``catch`` records it, and the task spec's
  ``_update`` moves the task on, exactly as ``BpmnWorkflow.catch`` does for every task that
  matches; Shanyu has already matched the case and the task by its correlation keys.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task

# The serializer's registry: its converters write the dicts a case is stored as and restore them.
REGISTRY: Any = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
# The top workflow's converter, bound to that registry, for its public restore helpers.
_WORKFLOW_CONVERTER: Any = SPIFF_CONFIG[BpmnWorkflow](BpmnWorkflow, REGISTRY)


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


def restore_workflow(workflow: BpmnWorkflow, header: dict[str, Any], tasks: dict[str, dict[str, Any]],
                     subprocesses: dict[str, dict[str, Any]]) -> None:
    """Fill a workflow created with ``deserializing=True`` from the converters' dicts: ``header``
    is the top workflow's dict without its tasks, ``tasks`` its task dicts (parents first), and
    ``subprocesses`` each subprocess's dict (with its ``tasks``) keyed by its parent task's id;
    this is ``BpmnWorkflowConverter.from_dict`` for a workflow whose specs are already loaded."""
    header = dict(header)  # the converter pops what it restores
    workflow.tasks = _WORKFLOW_CONVERTER.mapping_from_dict(tasks, UUID, workflow=workflow)
    workflow.task_tree = workflow.tasks[UUID(header["root"])]
    _WORKFLOW_CONVERTER.set_default_attributes(workflow, header)
    _WORKFLOW_CONVERTER.subprocesses_from_dict(dict(subprocesses), workflow)
    workflow.bpmn_events = REGISTRY.restore(header.get("bpmn_events", []))
