"""Task forms in the browser: the JSON Schema of ``bpmn/forms/`` turned into fields for the Jinja
macros of ``templates/form.html``, and a posted HTML form turned back into JSON data.

Why a small macro set and not a JavaScript form library: the forms use a fixed, small part of
JSON Schema (strings, numbers, booleans, enums with titles, arrays of strings, one level of
objects) plus seven ``x-ui`` widgets; the server must validate anyway (the engine's
``workflow.forms.validate`` is the only judge), and the page must work and keep its input when
validation fails without any script. Rendering on the server from the same schema gives exactly
that, with the messages next to each field. Fields the macros do not know (the nested objects of
the cycle's start form) are edited as JSON text, never dropped.

``read_post`` converts what it can and reports what it cannot (a number that is not a number) per
field; everything else is left to the schema, so a message always comes from one place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from workflow.districts import DISTRICTS, DISTRICTS_EN

WIDGETS = {"textarea", "radio", "checkbox", "date", "district-select", "district-multiselect",
           "indicator-scores", "upload", "upload-many"}


@dataclass
class FormField:
    """One top-level property of a form, as the templates need it."""

    key: str
    title: str
    title_en: str
    kind: str  # text | textarea | integer | number | radio | checkbox | date | district | districts
    #            | lines | scores | upload | uploads | json
    required: bool
    schema: Mapping[str, Any]
    description: str = ""
    options: list[tuple[str, str, str]] = field(default_factory=list)  # (value, zh, en)
    groups: list[dict[str, Any]] = field(default_factory=list)  # indicator areas, for ``scores``

    def label(self, lang: str) -> str:
        return self.title_en if lang == "en" and self.title_en else self.title


def _kind(prop: Mapping[str, Any]) -> str:
    widget = (prop.get("x-ui") or {}).get("widget")
    kind = prop.get("type")
    if widget == "district-select":
        return "district"
    if widget == "district-multiselect":
        return "districts"
    if widget == "indicator-scores":
        return "scores"
    if widget == "upload-many":
        return "uploads"
    if widget in ("textarea", "radio", "checkbox", "date", "upload"):
        return str(widget)
    if kind == "string":
        return "radio" if "enum" in prop else "text"
    if kind in ("integer", "number"):
        return str(kind)
    if kind == "boolean":
        return "checkbox"
    if kind == "array" and (prop.get("items") or {}).get("type") == "string":
        return "lines"
    return "json"


def _options(prop: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    values = prop.get("enum") or []
    zh = prop.get("x-enum-titles") or values
    en = prop.get("x-enum-titles-en") or zh
    return [(str(v), str(z), str(e)) for v, z, e in zip(values, zh, en, strict=False)]


def _indicator_groups(source: Any) -> list[dict[str, Any]]:
    """The indicator set's areas and items (``{"areas": [{"code", "name", "items": [{"code",
    "name", "max_score"}]}]}``), as far as the case data holds them."""
    if not isinstance(source, Mapping):
        return []
    groups = []
    for area in source.get("areas") or []:
        if not isinstance(area, Mapping):
            continue
        items = [{"code": str(i.get("code")), "name": str(i.get("name", "")), "max": i.get("max_score")}
                 for i in area.get("items") or [] if isinstance(i, Mapping) and i.get("code")]
        groups.append({"code": str(area.get("code", "")), "name": str(area.get("name", "")), "items": items})
    return groups


def fields_of(schema: Mapping[str, Any], case_data: Mapping[str, Any] | None = None) -> list[FormField]:
    """The form's fields in the order of ``x-ui.order`` (then any others in schema order)."""
    props: Mapping[str, Any] = schema.get("properties") or {}
    order = [k for k in (schema.get("x-ui") or {}).get("order", []) if k in props]
    order += [k for k in props if k not in order]
    required = set(schema.get("required") or [])
    result = []
    for key in order:
        prop = props[key]
        if not isinstance(prop, Mapping):
            continue
        kind = _kind(prop)
        f = FormField(key=key, title=str(prop.get("title") or key), title_en=str(prop.get("x-title-en") or ""),
                      kind=kind, required=key in required, schema=prop,
                      description=str(prop.get("description") or ""))
        if kind == "radio":
            f.options = _options(prop)
        elif kind in ("district", "districts"):
            f.options = [(code, name, DISTRICTS_EN.get(code, name)) for code, name in sorted(DISTRICTS.items())]
        elif kind == "scores":
            source = (prop.get("x-ui") or {}).get("source")
            f.groups = _indicator_groups((case_data or {}).get(source) if source else None)
            if not f.groups:
                f.kind = "json"  # no indicator set in the case: edit the scores as JSON
        result.append(f)
    return result


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_INTEGER = re.compile(r"^[+-]?\d{1,15}$")


def _number(text: str, integer: bool) -> int | float:
    text = text.strip().replace(",", "").replace("，", "")
    if integer:
        if not _INTEGER.match(text):
            raise ValueError(_("请填写整数"))
        return int(text)
    if not _NUMBER.match(text) or len(text) > 40:
        raise ValueError(_("请填写数字"))
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


def read_post(fields: list[FormField], form: MultiDict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The JSON data a posted form stands for, and per field the values that could not be read.

    An empty optional field is left out (the schema then says whether it was required); a field
    that could not be read keeps its text in the returned data only through ``raw`` re-rendering,
    never as a wrong value."""
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fields:
        name = f"f.{f.key}"
        try:
            if f.kind in ("text", "textarea", "radio", "date", "district", "upload"):
                text = form.get(name, "")
                if text.strip():
                    data[f.key] = text.strip() if f.kind != "textarea" else text.replace("\r\n", "\n")
            elif f.kind in ("integer", "number"):
                text = form.get(name, "")
                if text.strip():
                    data[f.key] = _number(text, f.kind == "integer")
            elif f.kind == "checkbox":
                if form.get(name):
                    data[f.key] = True
                elif "const" not in f.schema:
                    data[f.key] = False
            elif f.kind in ("districts", "uploads"):
                values = [v.strip() for v in form.getlist(name) if v.strip()]
                if f.kind == "uploads":
                    values = [v for text in values for v in re.split(r"[\s,，]+", text) if v]
                if values or f.kind == "districts":
                    data[f.key] = values
            elif f.kind == "lines":
                lines = [line.strip() for line in form.get(name, "").splitlines() if line.strip()]
                if lines or f.required:
                    data[f.key] = lines
            elif f.kind == "scores":
                scores: dict[str, int | float] = {}
                bad = []
                for group in f.groups:
                    for item in group["items"]:
                        text = form.get(f"{name}.{item['code']}", "")
                        if not text.strip():
                            continue
                        try:
                            scores[item["code"]] = _number(text, integer=False)
                        except ValueError:
                            bad.append(item["code"])
                if bad:
                    raise ValueError(_("请填写数字：%(items)s", items=", ".join(bad)))
                if scores:
                    data[f.key] = scores
            else:  # json
                text = form.get(name, "")
                if text.strip():
                    try:
                        data[f.key] = json.loads(text)
                    except json.JSONDecodeError as exc:
                        raise ValueError(_("JSON 格式有误：%(msg)s（第 %(line)s 行第 %(col)s 列）", msg=exc.msg,
                                           line=exc.lineno, col=exc.colno)) from exc
        except ValueError as exc:
            errors[f.key] = str(exc)
    return data, errors


def friendly(problem: Mapping[str, Any], f: FormField | None, value: Any = None) -> str:
    """A problem of ``workflow.forms.validate`` said the way a form says it, in the page's
    language; the schema's own message where no better one is known. ``value``, the text the
    field was submitted with, lets a length message say how long it is now (a field's
    description often states the limit already)."""
    rule, limit = problem.get("rule"), problem.get("limit")
    kind = f.kind if f is not None else ""
    if rule == "required":
        return _("必填")
    if rule == "additionalProperties":
        return _("该表单没有此字段")
    if rule in ("minLength", "maxLength") and isinstance(value, str):
        if rule == "minLength":
            return _("至少 %(n)s 字，现为 %(now)s 字", n=limit, now=len(value))
        return _("最多 %(n)s 字，现为 %(now)s 字", n=limit, now=len(value))
    if rule == "minLength":
        return _("至少 %(n)s 字", n=limit)
    if rule == "maxLength":
        return _("最多 %(n)s 字", n=limit)
    if rule in ("minimum", "exclusiveMinimum"):
        return _("不能小于 %(n)s", n=limit) if rule == "minimum" else _("须大于 %(n)s", n=limit)
    if rule in ("maximum", "exclusiveMaximum"):
        return _("不能大于 %(n)s", n=limit) if rule == "maximum" else _("须小于 %(n)s", n=limit)
    if rule == "minItems":
        return _("至少选择或填写 %(n)s 项", n=limit)
    if rule == "maxItems":
        return _("最多 %(n)s 项", n=limit)
    if rule == "uniqueItems":
        return _("不能重复")
    if rule == "enum":
        return _("请从给出的选项中选择")
    if rule == "const" and kind == "checkbox":
        return _("请勾选确认")
    if rule == "pattern":
        if kind in ("upload", "uploads"):
            return _("请填写材料编号（m- 开头）")
        if kind == "date":
            return _("请填写日期（年-月-日）")
        if kind in ("district", "districts"):
            return _("请选择上海市的区")
        if f is not None and f.description:
            return _("格式不正确，请按上面的说明填写")
        return _("格式不正确")
    if rule == "type":
        return _("类型不正确")
    return str(problem.get("message") or "")


def field_messages(problems: list[Mapping[str, Any]], fields: list[FormField] | None = None,
                   data: Mapping[str, Any] | None = None) -> tuple[dict[str, list[str]], list[str]]:
    """``InvalidData.details["errors"]`` of a form, per top-level field, each message once; and
    the messages that belong to no single field. ``data``: what was submitted, by field key."""
    by_key = {f.key: f for f in fields or []}
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for p in problems:
        if not isinstance(p, Mapping):  # a handler's problems are sentences
            if str(p) not in general:
                general.append(str(p))
            continue
        path = str(p.get("field") or "")
        key = path.split("/", 1)[0]
        for rule in p.get("rules") or [p]:
            value = (data or {}).get(key) if "/" not in path else None
            message = friendly(rule, by_key.get(key), value)
            if "/" in path:
                message = f"{p.get('label')}: {message}"
            if not key:
                if message not in general:
                    general.append(message)
                continue
            seen = by_field.setdefault(key, [])
            if message not in seen:
                seen.append(message)
    return by_field, general


def display_value(f: FormField, value: Any) -> Any:
    """The value a field shows: text for text inputs, a list for multi-selects and uploads."""
    if value is None:
        return [] if f.kind in ("districts", "uploads") else {} if f.kind == "scores" else ""
    if f.kind == "lines":
        return "\n".join(str(v) for v in value) if isinstance(value, list) else str(value)
    if f.kind == "json":
        return json.dumps(value, ensure_ascii=False, indent=2)
    if f.kind in ("districts", "uploads"):
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]
    if f.kind == "scores":
        return value if isinstance(value, Mapping) else {}
    return value
