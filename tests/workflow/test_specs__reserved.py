"""An element id the engine reserves for itself is refused at deploy time with the fix."""

from __future__ import annotations

import pytest

from tests.conftest import BPMN
from workflow.errors import InvalidSpec
from workflow.specs import bundle_from_files, parse_bundle


@pytest.mark.parametrize("reserved", ["Start", "End", "Root"])
def test_reserved_ids_are_refused(reserved: str) -> None:
    text = (BPMN / "engine_function.bpmn").read_text(encoding="utf-8")
    original = "StartEvent_1" if reserved != "End" else "EndEvent_1"
    if reserved == "Root":
        text = text.replace('id="Script_ask"', 'id="Root"').replace('"Script_ask"', '"Root"')
        text = text.replace(">Script_ask<", ">Root<")
    else:
        text = text.replace(original, reserved)
    with pytest.raises(InvalidSpec, match=f"'{reserved}' is reserved") as caught:
        parse_bundle(bundle_from_files({"x.bpmn": text}))
    assert "line" in caught.value.message
