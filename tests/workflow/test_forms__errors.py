"""A form error names each failing field once: jsonschema reports every missing property of a
``required`` list as an error of its own, and a field can break several rules at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workflow import errors, forms

FORMS = Path(__file__).resolve().parents[2] / "bpmn" / "forms"


def test_nine_missing_fields_are_nine_entries_and_nine_lines() -> None:
    schema = {"title": "九项", "type": "object", "required": [f"f{i}" for i in range(9)],
              "properties": {f"f{i}": {"type": "string", "title": f"字段{i}"} for i in range(9)}}
    with pytest.raises(errors.InvalidData) as caught:
        forms.validate(schema, {})
    assert [p["field"] for p in caught.value.details["errors"]] == [f"f{i}" for i in range(9)]
    lines = caught.value.message.splitlines()
    assert lines[0] == "The data does not fit the form 九项: 9 field(s) at fault. Nothing was saved."
    assert lines[1:] == [f"- 字段{i} (f{i}): 必填 required" for i in range(9)]


def test_a_field_that_breaks_two_rules_is_one_entry_with_both_reasons() -> None:
    schema = {"type": "object", "properties": {"code": {"type": "string", "title": "编号", "minLength": 5,
                                                        "pattern": "^[0-9]+$"}}}
    with pytest.raises(errors.InvalidData) as caught:
        forms.validate(schema, {"code": "ab"})
    [problem] = caught.value.details["errors"]
    assert problem["field"] == "code"
    assert "too short" in problem["message"] and "does not match" in problem["message"]
    assert caught.value.message.count("编号 (code)") == 1


def test_the_programme_s_self_assessment_left_empty() -> None:
    name = "self_assessment.json"
    schema = forms.parse_form(name, (FORMS / name).read_text(encoding="utf-8"))
    with pytest.raises(errors.InvalidData) as caught:
        forms.validate(schema, {}, form=name)
    fields = [p["field"] for p in caught.value.details["errors"]]
    assert sorted(fields) == sorted(schema["required"]) and len(set(fields)) == len(fields)
    assert len(caught.value.message.splitlines()) == 1 + len(schema["required"])
    json.dumps(caught.value.to_dict())  # the CLI's --json prints it
