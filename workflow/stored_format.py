"""Conversion of cases stored before migration 0005 into SpiffWorkflow's own format.

Until 0005 a task row held a hand-made object with one-letter keys (``c`` children, ``i``
internal data, ``p`` parent, ``s`` state, ``spec``, ``t`` last state change, ``tr`` triggered,
``w`` the workflow it belongs to), and the instance's ``meta`` the top workflow's fields with its
subprocesses as ``[key, fields]`` pairs. Since 0005 both are the dicts SpiffWorkflow's converters
write (``workflow.texts``). The values are the same; only names and nesting change, so the
conversion is pure JSON: no diagram is parsed and no case is run. The canonical JSON it writes
is the text the engine writes for the same task (tests/workflow/test_stored_format__convert.py).
"""

from __future__ import annotations

import json
from typing import Any

from .texts import canonical_json


def is_old_body(body: dict[str, Any]) -> bool:
    return "typename" not in body and "spec" in body and "s" in body


def convert_body(task_id: str, text: str) -> str:
    """One task row's body in SpiffWorkflow's task dict (without data and delta)."""
    old = json.loads(text)
    if not is_old_body(old):
        return text
    return canonical_json({
        "children": old["c"], "id": task_id, "internal_data": old["i"], "last_state_change": old["t"],
        "parent": old["p"], "state": old["s"], "task_spec": old["spec"], "triggered": old["tr"],
        "typename": "Task"})


def _fields(old: dict[str, Any]) -> dict[str, Any]:
    return {"completed": old["completed"], "correlations": old["correlations"], "data": old["data"],
            "last_task": old["last_task"], "root": old["root"], "success": old["success"]}


def convert_meta(text: str) -> str:
    """An instance's meta as ``{"subprocesses": [...], "workflow": {...}}`` (see ``texts.meta_text``)."""
    old = json.loads(text) if text else None
    if not old or "workflow" in old:
        return text
    stored = old["subprocesses"]
    pairs = stored if isinstance(stored, list) else sorted(stored.items())
    subs = [{**_fields(h), "parent_task_id": key, "spec": h["spec"], "typename": "BpmnSubWorkflow"}
            for key, h in pairs]
    top = {**_fields(old), "bpmn_events": [], "typename": "BpmnWorkflow"}
    return canonical_json({"subprocesses": subs, "workflow": top})


def revert_case(meta_text: str, bodies: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The earlier format of one case (for the migration's downgrade): its meta and its task rows.
    A row's workflow (``w``) is found by walking each workflow's tree from its root."""
    meta = json.loads(meta_text) if meta_text else None
    if not meta or "workflow" not in meta:
        return meta_text, bodies
    parsed = {tid: json.loads(text) for tid, text in bodies.items()}
    old: dict[str, str] = {}
    roots = [("", meta["workflow"]["root"])] + [(h["parent_task_id"], h["root"]) for h in meta["subprocesses"]]
    for key, root in roots:
        stack = [root]
        while stack:
            tid = stack.pop()
            new = parsed[tid]
            stack.extend(new["children"])
            old[tid] = canonical_json({"c": new["children"], "i": new["internal_data"], "p": new["parent"],
                                       "s": new["state"], "spec": new["task_spec"], "t": new["last_state_change"],
                                       "tr": new["triggered"], "w": key})
    subs = [[h["parent_task_id"], {**_fields(h), "spec": h["spec"]}] for h in meta["subprocesses"]]
    return canonical_json({**_fields(meta["workflow"]), "subprocesses": subs}), old
