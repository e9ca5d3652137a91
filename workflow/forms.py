"""Task forms: a JSON Schema (draft 2020-12) plus UI hints, deployed with the diagrams.

A user task names its form with the SpiffWorkflow property ``form`` (``<spiffworkflow:property
name="form" value="forms/intention.json"/>``). The file travels in the deployment bundle, so a
case always validates against the form of the version it pinned. Labels are Chinese (``title``)
with English in ``x-title-en``; ``x-ui`` carries hints for the web layer (field order, widgets).

``validate(schema, data)`` is the server-side check behind every form: it raises ``InvalidData``
listing each field at fault with its label and what is wrong, and returns the data unchanged.
``with_defaults(schema, data)`` fills in the ``default`` of every property the data leaves out
(inside objects too), so that a setting the notice does not fix can be optional in a form and still
have one documented value; the engine applies it before validating, and the filled-in data is what
the case receives and its history records.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from . import jsondata
from .errors import InvalidData, InvalidSpec

FORM_SUFFIX = ".json"
MAX_ERRORS = 20


def parse_form(name: str, text: str) -> dict[str, Any]:
    """Parse and check one form file; ``InvalidSpec`` names the file and the fault."""
    try:
        schema = jsondata.loads(text, what=name)
    except InvalidData as exc:
        raise InvalidSpec(exc.message, file=name) from None
    if not isinstance(schema, dict):
        raise InvalidSpec(f"{name}: a form must be a JSON object (a JSON Schema).", file=name)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(top level)"
        raise InvalidSpec(f"{name}: not a valid JSON Schema at {where}: {exc.message}", file=name) from exc
    except RecursionError:  # jsonschema descends several calls per level of the schema
        raise InvalidSpec(f"{name}: the schema is nested too deeply to check; flatten it (use $defs).",
                          file=name) from None
    if schema.get("type", "object") != "object":
        raise InvalidSpec(f"{name}: a form's schema must describe an object (\"type\": \"object\").", file=name)
    return schema


def form_of(task_spec: Any) -> str | None:
    """The form file a task spec names in its properties (``form``, or spiff-arena's
    ``formJsonSchemaFilename``), if any."""
    ext = getattr(task_spec, "extensions", None) or {}
    props = ext.get("properties") or {}
    form = props.get("form") or props.get("formJsonSchemaFilename")
    return str(form) if form else None


def forms_of(files: Mapping[str, str] | tuple[tuple[str, str], ...]) -> dict[str, dict[str, Any]]:
    """The parsed forms among a bundle's files, keyed by file name."""
    items = files.items() if isinstance(files, Mapping) else files
    return {name: parse_form(name, text) for name, text in items if name.lower().endswith(FORM_SUFFIX)}


def _label(schema: Mapping[str, Any], path: list[Any]) -> str:
    node: Any = schema
    labels = []
    for part in path:
        if isinstance(part, int):
            labels.append(f"#{part + 1}")
            node = node.get("items", {}) if isinstance(node, Mapping) else {}
            continue
        node = node.get("properties", {}).get(part, {}) if isinstance(node, Mapping) else {}
        labels.append(str(node.get("title") or part) if isinstance(node, Mapping) else str(part))
    return " / ".join(labels) or str(schema.get("title") or "表单 form")


def _plain(value: Any) -> Any:
    """A rule's limit as plain JSON data (a number, a string, a list), or None for a subschema."""
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, list) and all(isinstance(v, bool | int | float | str) for v in value):
        return list(value)
    return None


def with_defaults(schema: Mapping[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with the ``default`` of each property it leaves out, at every level of nested objects
    (a default object is filled in turn). ``data`` itself is not changed."""
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return data
    out = dict(data)
    for name, prop in properties.items():
        if not isinstance(prop, Mapping):
            continue
        if name not in out and "default" in prop:
            out[name] = copy.deepcopy(prop["default"])
        if isinstance(out.get(name), dict) and prop.get("type") == "object":
            out[name] = with_defaults(prop, out[name])
    return out


def validate(schema: Mapping[str, Any], data: dict[str, Any], *, form: str = "") -> dict[str, Any]:
    """Check ``data`` against a form; raise ``InvalidData`` naming every field at fault, each once
    (``details["errors"]``: ``field``, ``label``, ``message``; several faults of one field are
    joined in its message, and listed in ``rules``: each with the JSON Schema keyword, its limit and
    the message, for callers that word the message themselves; ``rule`` is the first one's keyword). The message's first line says how many fields; one line per field follows."""
    validator = Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return data
    found: dict[str, dict[str, Any]] = {}

    def note(path: list[Any], label: str, message: str, rule: str, limit: Any) -> None:
        key = "/".join(map(str, path))
        entry = found.setdefault(key, {"field": key, "label": label, "messages": [], "rules": []})
        if message not in entry["messages"]:
            entry["messages"].append(message)
            entry["rules"].append({"rule": rule, "limit": limit, "message": message})

    for error in errors:
        path = list(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            # jsonschema reports each missing property as its own error, all with the same list
            for name in error.validator_value:
                if name not in error.instance:
                    note([*path, name], _label(schema, [*path, name]), "必填 required", "required", None)
            continue
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set((error.schema.get("properties") or {}) if isinstance(error.schema, dict) else ())
            for name in sorted(set(error.instance) - allowed):
                note([*path, name], str(name), "该表单没有此字段 not a field of this form", "additionalProperties", None)
            continue
        note(path, _label(schema, path), error.message, str(error.validator), _plain(error.validator_value))
    problems = [{"field": e["field"], "label": e["label"], "message": "; ".join(e["messages"]),
                 "rule": e["rules"][0]["rule"], "rules": e["rules"]} for e in found.values()]
    shown = problems[:MAX_ERRORS]
    title = schema.get("title") or form or "form"
    more = f"\n(and {len(problems) - MAX_ERRORS} more fields)" if len(problems) > MAX_ERRORS else ""
    lines = "\n".join(f"- {p['label']} ({p['field'] or '/'}): {p['message']}" for p in shown)
    raise InvalidData(f"The data does not fit the form {title}: {len(problems)} field(s) at fault. Nothing was "
                      f"saved.\n{lines}{more}", form=form, errors=shown)
