"""The layout checker on tiny hand-written DI: what counts as a crossing, a touch, a label overlap,
a container border, and the fit scale."""

from __future__ import annotations

from typing import Any

import pytest

from workflow.diagram_layout import CANVAS, MIN_READABLE_SCALE, Report, check
from workflow.xmlsafe import parse_xml

HEAD = (
    '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
    'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
    'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="d" targetNamespace="t">'
)


def shape(
    el: str, x: float, y: float, w: float, h: float, label: tuple[float, ...] = (), **attrs: str
) -> str:
    extra = "".join(f' {k}="{v}"' for k, v in attrs.items())
    inner = f'<dc:Bounds x="{x}" y="{y}" width="{w}" height="{h}"/>'
    if label:
        lx, ly, lw, lh = label
        inner += (
            f'<bpmndi:BPMNLabel><dc:Bounds x="{lx}" y="{ly}" width="{lw}" height="{lh}"/></bpmndi:BPMNLabel>'
        )
    return f'<bpmndi:BPMNShape id="{el}_di" bpmnElement="{el}"{extra}>{inner}</bpmndi:BPMNShape>'


def edge(el: str, *points: tuple[float, float], label: tuple[float, ...] = ()) -> str:
    inner = "".join(f'<di:waypoint x="{x}" y="{y}"/>' for x, y in points)
    if label:
        lx, ly, lw, lh = label
        inner += (
            f'<bpmndi:BPMNLabel><dc:Bounds x="{lx}" y="{ly}" width="{lw}" height="{lh}"/></bpmndi:BPMNLabel>'
        )
    return f'<bpmndi:BPMNEdge id="{el}_di" bpmnElement="{el}">{inner}</bpmndi:BPMNEdge>'


def run(process: str, *di: str) -> Report:
    text = (
        f'{HEAD}<process id="P">{process}</process>'
        f'<bpmndi:BPMNDiagram id="D"><bpmndi:BPMNPlane id="PL" bpmnElement="P">{"".join(di)}'
        "</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></definitions>"
    )
    root: Any = parse_xml(text.encode(), filename="tiny.bpmn")
    return check(root, "tiny.bpmn")


THREE = (
    '<task id="A" name="甲"/><task id="B" name="乙"/><task id="C" name="丙"/>'
    '<sequenceFlow id="F" sourceRef="A" targetRef="C"/>'
)
SHAPES = (shape("A", 0, 0, 100, 80), shape("B", 200, 0, 100, 80), shape("C", 400, 0, 100, 80))


def test_a_flow_through_a_shape_it_does_not_connect_is_reported_with_ids_and_names() -> None:
    report = run(THREE, *SHAPES, edge("F", (100, 40), (400, 40)))
    assert len(report.crossings) == 1
    assert "F" in report.crossings[0] and "B (乙)" in report.crossings[0]


def test_a_flow_touching_its_ends_at_their_border_and_passing_others_at_a_distance_is_not_reported() -> None:
    around = edge("F", (50, 80), (50, 120), (450, 120), (450, 80))  # A's bottom, under B, C's bottom
    assert run(THREE, *SHAPES, around).crossings == []
    corner = edge("F", (100, 40), (150, 40), (150, -10), (450, -10), (450, 0))  # 10 px over B's top
    assert run(THREE, *SHAPES, corner).crossings == []


def test_a_flow_running_along_the_edge_of_a_shape_it_does_not_connect_is_reported() -> None:
    along_top = edge("F", (50, 0), (50, -1), (450, -1), (450, 0))  # 1 px over B's top edge
    assert [c.split(" (segment")[0] for c in run(THREE, *SHAPES, along_top).crossings] == [
        "sequenceFlow F runs along the edge of task B (乙)"
    ]


def test_a_flow_crossing_an_expanded_subprocess_it_does_not_enter_is_reported_but_may_run_inside_its_own() -> (
    None
):
    process = (
        '<task id="A"/><task id="C"/><sequenceFlow id="F" sourceRef="A" targetRef="C"/>'
        '<subProcess id="S" name="子"><task id="X"/><task id="Y"/>'
        '<sequenceFlow id="G" sourceRef="X" targetRef="Y"/></subProcess>'
    )
    di = [
        shape("A", 0, 0, 100, 80),
        shape("C", 600, 0, 100, 80),
        shape("S", 150, -50, 400, 200, isExpanded="true"),
        shape("X", 180, 0, 100, 80),
        shape("Y", 420, 0, 100, 80),
    ]
    report = run(process, *di, edge("F", (100, 40), (600, 40)), edge("G", (280, 40), (420, 40)))
    assert [c.split(" ")[1] for c in report.crossings] == ["F", "F", "F"]  # G stays inside S
    assert [c.split(" (segment")[0].split(" F ")[1] for c in report.crossings] == [
        "crosses the border of subProcess S (子)",
        "runs through task X",
        "runs through task Y",
    ]
    collapsed = [d.replace(' isExpanded="true"', "") for d in di]  # collapsed: a solid shape
    report = run(process, *collapsed, edge("F", (100, 40), (600, 40)))
    assert "runs through subProcess S" in report.crossings[0]


def test_a_boundary_event_flow_may_leave_through_its_host_but_not_run_back_through_it() -> None:
    process = (
        '<task id="H" name="主"/><boundaryEvent id="E" attachedToRef="H"/><task id="T"/>'
        '<sequenceFlow id="F" sourceRef="E" targetRef="T"/>'
    )
    di = [shape("H", 0, 0, 100, 80), shape("E", 62, 62, 36, 36), shape("T", 200, 200, 100, 80)]
    assert run(process, *di, edge("F", (80, 98), (80, 240), (200, 240))).crossings == []
    back = edge("F", (80, 98), (80, 120), (-20, 120), (-20, 40), (150, 40), (150, 240), (200, 240))
    assert "runs through task H (主)" in run(process, *di, back).crossings[0]


def test_labels_overlapping_a_shape_or_each_other_are_reported_and_touching_is_not() -> None:
    process = (
        '<exclusiveGateway id="G" name="是否？"/><task id="T" name="办"/>'
        '<sequenceFlow id="F" name="是" sourceRef="G" targetRef="T"/>'
    )
    gateway = shape("G", 0, 15, 50, 50, label=(-20, 70, 90, 14))
    task = shape("T", 200, 0, 100, 80)
    clean = run(process, gateway, task, edge("F", (50, 40), (200, 40), label=(100, 20, 22, 14)))
    assert clean.label_overlaps == []
    on_task = run(process, gateway, task, edge("F", (50, 40), (200, 40), label=(190, 20, 22, 14)))
    assert on_task.label_overlaps == ["label of F (是) overlaps task T (办)"]
    on_label = run(process, gateway, task, edge("F", (50, 40), (200, 40), label=(40, 75, 22, 14)))
    assert on_label.label_overlaps == ["label of G (是否？) overlaps the label of F (是)"]
    touching = run(process, gateway, task, edge("F", (50, 40), (200, 40), label=(178, 20, 22, 14)))
    assert touching.label_overlaps == []


def test_the_fit_scale_is_the_canvas_over_the_extent_and_flagged_below_the_threshold() -> None:
    small = run(THREE, *SHAPES, edge("F", (50, 80), (50, 120), (450, 120), (450, 80)))
    assert small.scale == pytest.approx(min(CANVAS[0] / 500, CANVAS[1] / 120))
    assert small.readable and small.problems() == []
    wide = run(THREE, *SHAPES[:2], shape("C", 4000, 0, 100, 80), edge("F", (100, 40), (150, 40)))
    assert wide.extent.w == 4100 and wide.scale == pytest.approx(CANVAS[0] / 4100)
    assert wide.scale < MIN_READABLE_SCALE and "fits 1880×900 only at 0.46" in wide.problems()[-1]


def test_a_flow_that_runs_into_its_own_target_before_reaching_its_side_is_reported() -> None:
    process = '<task id="A"/><task id="T" name="提醒"/><sequenceFlow id="F" sourceRef="A" targetRef="T"/>'
    di = [shape("A", 0, 0, 100, 80), shape("T", 0, 200, 100, 80)]
    through = run(process, *di, edge("F", (50, 80), (50, 240), (100, 240)))  # down through T to its side
    assert ["runs through its own target T (提醒)" in c for c in through.crossings] == [True]
    onto = run(process, *di, edge("F", (50, 80), (50, 200)))  # down onto T's top
    assert onto.crossings == []


def test_each_plane_is_read_on_its_own() -> None:
    process = (
        '<task id="A"/><subProcess id="S" name="子"><task id="X"/><task id="Y" name="乙"/><task id="Z"/>'
        '<sequenceFlow id="G" sourceRef="X" targetRef="Z"/></subProcess>'
        '<sequenceFlow id="F" sourceRef="A" targetRef="S"/>'
    )
    main = shape("A", 0, 0, 100, 80) + shape("S", 200, 0, 100, 80) + edge("F", (100, 40), (200, 40))
    inner = shape("X", 0, 0, 100, 80) + shape("Y", 150, 0, 100, 80) + shape("Z", 300, 0, 100, 80)
    text = (
        f'{HEAD}<process id="P">{process}</process>'
        f'<bpmndi:BPMNDiagram id="D"><bpmndi:BPMNPlane id="PL" bpmnElement="P">{main}</bpmndi:BPMNPlane>'
        f'</bpmndi:BPMNDiagram><bpmndi:BPMNDiagram id="D2"><bpmndi:BPMNPlane id="PL2" bpmnElement="S">'
        f"{inner}{edge('G', (100, 40), (300, 40))}</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></definitions>"
    )
    report = check(parse_xml(text.encode(), filename="planes.bpmn"))
    assert [c.split(" (segment")[0] for c in report.crossings] == ["sequenceFlow G runs through task Y (乙)"]
