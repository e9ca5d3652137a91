"""The JSON texts a case is stored and hashed as.

One canonical form (sorted keys, no spaces, UTF-8) for everything that is hashed or compared.
Task data goes through SpiffWorkflow's serializer registry (dates, UUIDs, ... become tagged
objects), but only when it holds such values: plain JSON data is encoded directly (``stored_json``).
Stored task rows and the instance's ``meta`` are assembled from pieces converted once per step;
``tests/workflow/test_state__texts.py`` checks that they equal the canonical JSON of the same
objects built the plain way. A dict of the case's own data keyed ``typename`` (the registry's tag)
would be restored as something else, so it is refused (``refuse_tag_keys``).
"""

from __future__ import annotations

import json
import math
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task

from . import jsondata
from .adapters.spiff import REGISTRY, child_ids, parent_id
from .canonical import _canonical
from .canonical import canonical_json as canonical_json  # re-exported: hashed texts
from .canonical import sha256 as sha256
from .errors import InvalidData, WorkflowFailed
from .paths import all_workflows


def _literal(value: Any) -> str:
    """A scalar as JSON; the common constants without calling the encoder."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    kind = type(value)
    if kind is int:
        return int.__repr__(value)
    if kind is float and math.isfinite(value):
        return float.__repr__(value)  # what the encoder writes for a finite float
    return _canonical(value)


class _NotPlain(Exception):
    """Raised by the JSON encoder on a value that plain JSON cannot hold."""


def _refuse(value: Any) -> Any:
    raise _NotPlain


_plain_json = json.JSONEncoder(
    sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_refuse, allow_nan=False
).encode


TAG = "typename"  # the key the serializer marks converted objects with, in any dict it restores


def tag_key_path(value: Any, path: str = "") -> str | None:
    """Where a dict inside ``value`` has the key ``TAG`` (``note.typename``), or None."""
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if key == TAG:
                return inner
            found = tag_key_path(item, inner)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = tag_key_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def refuse_tag_keys(value: Any, *, what: str = "Data") -> None:
    """Data stored with a ``typename`` key of its own would be restored as a date, an id or worse
    (and a case holding it could not be loaded again): refuse it with where it is."""
    where = tag_key_path(value)
    if where is not None:
        raise InvalidData(f"{what} cannot hold a field named '{TAG}' (at {where}): the name is reserved for "
                          "how dates and ids are stored. Rename the field. Nothing was saved.")


def stored_json(value: Any) -> str:
    """``value`` as canonical JSON after the serializer's conversion (dates, UUIDs, ... become
    tagged objects; callables at the top level of a dict are dropped).

    Task data is nearly always plain JSON already; then the registry would hand back an equal copy,
    so the text is encoded straight away and the registry runs only when the encoder meets a value
    it cannot hold. None of the registry's types is a subclass of a JSON type, so both ways give
    the same text.
    """
    try:
        text = _plain_json(value)
    except _NotPlain:
        refuse_tag_keys(value)
        try:
            return canonical_json(REGISTRY.convert(REGISTRY.clean(value)))
        except (TypeError, ValueError, RecursionError) as exc:
            raise _not_storable(value, exc) from exc
    except (TypeError, ValueError, RecursionError) as exc:  # NaN, mixed keys, a cycle, deep nesting
        raise _not_storable(value, exc) from exc
    if f'"{TAG}":' in text:  # only an object key can appear like this: quotes inside strings are escaped
        refuse_tag_keys(value)
    return text


def _not_storable(value: Any, exc: BaseException) -> WorkflowFailed:
    """The last guard before storing: the sandbox refuses such values where they are made, but a
    vetted function or a handler could still hand one over."""
    found = jsondata.fault(value)
    reason = found.describe("the case's data") if found else f"the case's data cannot be written as JSON ({exc})"
    return WorkflowFailed(f"The case cannot be saved: {reason}. Nothing was saved.")


def data_to_json(data: dict[str, Any]) -> str:
    return stored_json(data)


def task_body(task: Task, internal: str) -> str:
    """The stored row of a task: SpiffWorkflow's task dict (``TaskConverter.to_dict``, typename
    included) without its data, which is stored content-addressed in ``data_blob``, and without
    the ``delta`` it would compute against the parent's data (a restore takes the full data
    instead; a delta would go stale when a parent's data changes after its child was written).
    ``internal`` is the internal data as ``stored_json`` gives it, spliced in as text so that it
    is converted once per step. Keys in sorted order: the canonical JSON of the same dict
    (tests/workflow/test_state__texts.py compares it with the converter's output)."""
    children = ",".join([f'"{c}"' for c in child_ids(task)])
    parent = parent_id(task)
    parent_text = f'"{parent}"' if parent is not None else "null"
    return (f'{{"children":[{children}],"id":"{task.id}","internal_data":{internal},"last_state_change":'
            f'{_literal(task.last_state_change)},"parent":{parent_text},"state":{_literal(task.state)},'
            f'"task_spec":{_literal(task.task_spec.name)},"triggered":{_literal(task.triggered)},"typename":"Task"}}')


def header_texts(wf: Any) -> tuple[str, str]:
    """A workflow's data and correlations as stored JSON."""
    return stored_json(REGISTRY.clean(wf.data)), stored_json(wf.correlations)


def header_text(wf: Any, texts: tuple[str, str], *, last_task: str | None, extra: list[str]) -> str:
    """The canonical JSON object of one workflow's fields, with data and correlations spliced in
    as text; ``extra`` are further ``"key":value`` members whose keys sort between "root" and
    "success". The keys are written in sorted order, so the text equals ``canonical_json`` of the
    same object (tests/workflow/test_state__texts.py checks it)."""
    data_text, correlations_text = texts
    members = [f'"completed":{_literal(wf.completed)}', f'"correlations":{correlations_text}', f'"data":{data_text}',
               f'"last_task":{_literal(last_task)}']
    return "{" + ",".join(members + extra + [f'"success":{_literal(wf.success)}']) + "}"


def _workflow_text(wf: Any, texts: tuple[str, str], members: list[str]) -> str:
    """One workflow's dict as SpiffWorkflow's workflow converter writes it, without its tasks:
    ``members`` are the further ``"key":value`` pairs, in sorted key order, that sort between
    ``last_task`` and ``success``; ``typename`` comes last."""
    data_text, correlations_text = texts
    last = f'"{wf.last_task.id}"' if wf.last_task is not None else "null"
    return ("{" + ",".join([f'"completed":{_literal(wf.completed)}', f'"correlations":{correlations_text}',
                            f'"data":{data_text}', f'"last_task":{last}', *members,
                            f'"success":{_literal(wf.success)}']) + ",")


def meta_text(workflow: BpmnWorkflow, headers: dict[str, tuple[str, str]]) -> str:
    """The instance row's ``meta``: ``{"subprocesses": [...], "workflow": {...}}``, the dicts
    SpiffWorkflow's converters write for the top workflow (``BpmnWorkflowConverter``, without
    ``tasks``, ``spec``, ``subprocess_specs`` and ``subprocesses``) and for each subprocess
    (``BpmnSubWorkflowConverter``, without ``tasks``), the subprocesses in creation order:
    restoring them in that order makes a restored case run its subprocesses in the same order as
    the running one did, and as replay does. Fills ``headers`` (data and correlations texts, by
    workflow key) for the digest."""
    subs = []
    for key, wf in all_workflows(workflow):
        texts = headers[key] = header_texts(wf)
        if key:
            subs.append(_workflow_text(wf, texts, [f'"parent_task_id":"{key}"', f'"root":"{wf.task_tree.id}"',
                                                   f'"spec":{_literal(wf.spec.name)}'])
                        + '"typename":"BpmnSubWorkflow"}')
    events = canonical_json(REGISTRY.convert(workflow.bpmn_events))
    top = (_workflow_text(workflow, headers[""], [f'"root":"{workflow.task_tree.id}"'])
           + '"typename":"BpmnWorkflow"}')
    top = '{"bpmn_events":' + events + "," + top[1:]
    return '{"subprocesses":[' + ",".join(subs) + '],"workflow":' + top + "}"
