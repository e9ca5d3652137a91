"""Task forms: a JSON Schema (draft 2020-12) plus UI hints, deployed with the diagrams.

A user task names its form with the SpiffWorkflow property ``form`` (``<spiffworkflow:property
name="form" value="forms/intention.json"/>``). The file travels in the deployment bundle, so a
case always validates against the form of the version it pinned. Labels are Chinese (``title``)
with English in ``x-title-en``; ``x-ui`` carries hints for the web layer (field order, widgets).

``validate(schema, data)`` is the server-side check behind every form: it raises ``InvalidData``
listing each field at fault with its label and what is wrong, and returns the data unchanged.
"""

from __future__ import annotations

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


def validate(schema: Mapping[str, Any], data: dict[str, Any], *, form: str = "") -> dict[str, Any]:
    """Check ``data`` against a form; raise ``InvalidData`` naming every field at fault."""
    validator = Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return data
    problems = []
    for error in errors[:MAX_ERRORS]:
        path = list(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = [name for name in error.validator_value if name not in error.instance]
            for name in missing:
                problems.append({"field": "/".join(map(str, [*path, name])),
                                 "label": _label(schema, [*path, name]), "message": "必填 required"})
            continue
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set((error.schema.get("properties") or {}) if isinstance(error.schema, dict) else ())
            for name in sorted(set(error.instance) - allowed):
                problems.append({"field": "/".join(map(str, [*path, name])), "label": str(name),
                                 "message": "该表单没有此字段 not a field of this form"})
            continue
        problems.append({"field": "/".join(map(str, path)), "label": _label(schema, path), "message": error.message})
    title = schema.get("title") or form or "form"
    summary = "; ".join(f"{p['label']}: {p['message']}" for p in problems)
    more = f" (and {len(errors) - MAX_ERRORS} more)" if len(errors) > MAX_ERRORS else ""
    raise InvalidData(f"The data does not fit the form {title}: {summary}{more}. Nothing was saved.",
                      form=form, errors=problems)
