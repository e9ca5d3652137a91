"""``shanyu layout``: a process owner's check of a diagram's drawing before deploying it — flows
through shapes they do not connect, labels on shapes, the fit-to-screen zoom — with exit status 1 on
a finding and a clear error for a path or file that cannot be read. It needs no database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.conftest import Shanyu

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="Defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="layout_case" isExecutable="true">
    <bpmn:startEvent id="Start" />
    <bpmn:task id="Task_a" name="填写" />
    <bpmn:endEvent id="End" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Start" targetRef="{target}" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="D"><bpmndi:BPMNPlane id="P" bpmnElement="layout_case">
    <bpmndi:BPMNShape id="S_start" bpmnElement="Start"><dc:Bounds x="100" y="100" width="36" height="36" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="S_task" bpmnElement="Task_a"><dc:Bounds x="200" y="78" width="100" height="80" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="S_end" bpmnElement="End"><dc:Bounds x="{end_x}" y="100" width="36" height="36" /></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="E_1" bpmnElement="Flow_1">
      <di:waypoint x="136" y="118" /><di:waypoint x="{to_x}" y="118" />
    </bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def diagram(folder: Path, name: str, *, target: str, end_x: int, to_x: int) -> Path:
    path = folder / name
    path.write_text(DIAGRAM.format(target=target, end_x=end_x, to_x=to_x), encoding="utf-8")
    return path


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Shanyu:
    monkeypatch.delenv("SHANYU_DATABASE_URL", raising=False)
    return Shanyu(f"sqlite:///{tmp_path / 'never-created.db'}", capsys, monkeypatch)


def test_a_flow_through_a_shape_is_named_and_exits_1(cli: Shanyu, tmp_path: Path) -> None:
    clean = diagram(tmp_path, "clean.bpmn", target="Task_a", end_x=400, to_x=200)
    crossing = diagram(tmp_path, "crossing.bpmn", target="End", end_x=400, to_x=400)
    assert cli.ok("layout", str(clean)) == [{"file": str(clean), "ok": True, "drawn": True, "scale": 1.0,
                                             "problems": []}]
    run = cli("layout", str(tmp_path))  # a folder: its .bpmn files in name order
    assert run.code == 1 and run.err == ""
    lines = run.out.splitlines()
    assert lines[0] == f"{clean}: reads cleanly (fits the screen at 1.00; readable from 0.75)"
    assert lines[1] == f"{crossing}: 1 problem(s) (fits the screen at 1.00; readable from 0.75)"
    assert "Flow_1" in lines[2] and "Task_a" in lines[2]
    assert not (tmp_path / "never-created.db").exists()  # it read files only


def test_a_diagram_too_wide_for_the_screen_is_reported(cli: Shanyu, tmp_path: Path) -> None:
    wide = diagram(tmp_path, "wide.bpmn", target="Task_a", end_x=4000, to_x=200)
    [result] = cli("layout", str(wide), "--json").json()
    assert result["ok"] is False and result["scale"] == 0.48
    assert result["problems"] == ["fits 1880×900 only at 0.48 (extent 3936×80, readable from 0.75)"]


def test_no_drawing_bad_xml_and_missing_paths_are_clear(cli: Shanyu, tmp_path: Path) -> None:
    bare = tmp_path / "bare.bpmn"
    bare.write_text(DIAGRAM.split("  <bpmndi:BPMNDiagram")[0] + "</bpmn:definitions>\n", encoding="utf-8")
    assert cli("layout", str(bare)).out.strip() == (
        f"{bare}: no drawing (no BPMN DI), nothing to check; a modeler lays it out on opening")
    broken = tmp_path / "broken.bpmn"
    broken.write_text("<bpmn:definitions", encoding="utf-8")
    assert "not well-formed XML" in cli.fails("layout", str(broken)).err
    assert cli.fails("layout", str(tmp_path / "missing.bpmn")).err == (
        f"error: {tmp_path / 'missing.bpmn'}: no such file or folder.\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.fails("layout", str(empty)).err == f"error: No .bpmn file in {empty}.\n"
