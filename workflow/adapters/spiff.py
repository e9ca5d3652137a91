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
* Task data is merged without changing what other tasks hold (``merge_data``, installed over
  ``DeepMerge.merge`` when this module is imported). SpiffWorkflow's merge gives a task shallow
  copies of its parent's values and later merges into them in place: when a join merges a
  branch whose nested list or dict differs (``{"notified": {"outbox": [11]}}`` meeting
  ``{"outbox": [12]}``), the list it extends is still the one its ancestors hold, so tasks
  completed long before change too. A case run without a break then holds other data than the
  same case restored from the database between inputs (whose tasks share nothing), and its replay
  differs from what was stored. ``merge_data`` copies a nested value before it changes it, so a
  merge changes only the task it merges into; where nothing is shared its result is the library's.
  Cases started before this (their start event records no ``data_merge``) keep the library's
  merge (``MERGE_MODE`` set to LIBRARY by ``workflow.inputs.step``), so that their recorded history
  still replays.
"""

from __future__ import annotations

from contextvars import ContextVar
from copy import copy
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge

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


# How a case merges task data: COPY (``merge_data``), or LIBRARY for cases started before it.
COPY, LIBRARY = "copy", "library"
MERGE_MODE: ContextVar[str] = ContextVar("shanyu_data_merge", default=COPY)


class UnknownMergeMode(ValueError):
    """A stored case names a way of merging data that this version of Shanyu does not know."""


def merge_mode(value: object) -> str:
    """``value`` (from an instance row or a start event) as a merge mode; ``UnknownMergeMode``
    for anything else, so that a case is never run or replayed with a merge it was not run with."""
    if value == COPY or value == LIBRARY:
        return str(value)
    raise UnknownMergeMode(f"unknown data merge {value!r} (this version of Shanyu knows {COPY!r} and {LIBRARY!r})")


def library_merge() -> bool:
    """Whether the case being run merges (and lets scripts change) data as SpiffWorkflow does."""
    return MERGE_MODE.get() == LIBRARY


def merge_data(a: dict[Any, Any], b: dict[Any, Any], path: list[str] | None = None) -> dict[Any, Any]:
    """Merge ``b`` into ``a`` as ``DeepMerge.merge`` does, changing ``a`` itself but none of the
    dicts and lists it holds: a nested value that changes is copied first (see the module
    docstring). ``path`` is the library's argument, passed on and otherwise unused."""
    if MERGE_MODE.get() == LIBRARY:
        library: dict[Any, Any] = LIBRARY_MERGE(a, b, path)
        return library
    where = [] if path is None else path
    for key in b:
        new = b[key]
        if key in a:
            old = a[key]
            if old == new:
                continue
            if isinstance(old, dict) and isinstance(new, dict):
                a[key] = merge_data(copy(old), new, [*where, str(key)])
                continue
            if isinstance(old, list) and isinstance(new, list):
                merged = copy(old)
                merge_list(merged, new, [*where, str(key)])
                a[key] = merged
                continue
        a[key] = copy(new) if isinstance(new, (dict, list, set)) else new
    return a


def merge_list(a: list[Any], b: list[Any], path: list[str] | None = None) -> None:
    """``DeepMerge.merge_array`` on ``a``, whose dicts are copied before they change."""
    if MERGE_MODE.get() == LIBRARY:
        LIBRARY_MERGE_ARRAY(a, b, path)
        return
    where = [] if path is None else path
    seen_hashable: set[Any] = set()
    seen_unhashable: list[Any] = []
    for item in a:
        try:
            seen_hashable.add(item)
        except TypeError:
            seen_unhashable.append(item)
    for index, value in enumerate(b):
        if isinstance(value, dict):
            if len(a) > index:
                old = a[index]
                a[index] = merge_data(copy(old) if isinstance(old, dict) else old, value, [*where, str(index)])
            else:
                a.append(value)
            continue
        try:
            if value in seen_hashable:
                continue
            seen_hashable.add(value)
        except TypeError:
            if value in seen_unhashable:
                continue
            seen_unhashable.append(value)
        a.append(value)
    del a[len(b):]


# The library's own merge, kept for the tests that pin what ``merge_data`` replaces.
LIBRARY_MERGE = DeepMerge.merge
LIBRARY_MERGE_ARRAY = DeepMerge.merge_array
DeepMerge.merge = staticmethod(merge_data)
DeepMerge.merge_array = staticmethod(merge_list)
