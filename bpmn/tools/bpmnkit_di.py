"""The DI half of ``bpmnkit``: shapes for pools, lanes, nodes and data objects; edges for sequence
flows (routed orthogonally), message flows and data associations."""

from __future__ import annotations

from typing import Any

from bpmnkit import BPMNDI, COL_W, DC, DI, LANE_PAD, ROW_H, X0, Box, Diagram, Flow, Node, q
from lxml import etree

Point = tuple[float, float]


def write_di(d: Diagram, root: Any, pool: Box, lanes: dict[str, Box], others: dict[str, Box]) -> None:
    diagram = etree.SubElement(root, q(BPMNDI, "BPMNDiagram"), id=f"BPMNDiagram_{d.pid}")
    plane = etree.SubElement(
        diagram, q(BPMNDI, "BPMNPlane"), id=f"BPMNPlane_{d.pid}", bpmnElement=f"Collaboration_{d.pid}"
    )
    _shape(plane, f"Participant_{d.pid}", pool, isHorizontal="true")
    for key, _name, _doc in d.lanes:
        _shape(plane, f"Lane_{key}", lanes[key], isHorizontal="true")
    for pool_id, box in others.items():
        _shape(plane, pool_id, box, isHorizontal="true")
    order = sorted(d.nodes.values(), key=lambda n: (n.kind != "subProcess", n.kind == "boundaryEvent"))
    for node in order:
        assert node.box is not None
        extra = {"isExpanded": "true"} if node.kind == "subProcess" else {}
        if node.kind == "exclusiveGateway":
            extra["isMarkerVisible"] = "true"
        named_outside = node.kind.endswith(("Event", "Gateway")) or node.kind == "dataObjectReference"
        label = _label_box(node) if named_outside and node.name else None
        _shape(plane, node.id, node.box, label=label, **extra)
    for flow in d.flows:
        if flow.via:  # grid cells (column, lane, row) -> their centres
            flow.via = [_cell(lanes, *p) if len(p) == 3 else p for p in flow.via]  # type: ignore[misc]
        points = route(d.nodes[flow.source], d.nodes[flow.target], flow)
        label = None
        if flow.name:
            (x1, y1), (x2, y2) = points[0], points[1]
            label = Box((x1 + x2) / 2 + 4, (y1 + y2) / 2 - 22, 60, 18)
        _edge(plane, flow.id, points, label)
    for flow_id, _name, source, target, _doc in d.message_flows:
        _edge(plane, flow_id, _message_points(d, source, target, others))
    for kind, node_id, obj in d.associations:
        box, data = d.nodes[node_id].box, d.nodes[obj].box
        assert box is not None and data is not None
        a, b = (box, data) if kind == "out" else (data, box)
        tag = "dataInputAssociation" if kind == "in" else "dataOutputAssociation"
        _edge(plane, f"{tag[:-11]}_{node_id}_{obj}", _straight(a, b))


def _cell(lanes: dict[str, Box], col: float, lane: str, row: float) -> Point:
    return (X0 + col * COL_W + COL_W / 2, lanes[lane].y + LANE_PAD + row * ROW_H + ROW_H / 2)


def _shape(plane: Any, element: str, box: Box, label: Box | None = None, **extra: str) -> None:
    shape = etree.SubElement(plane, q(BPMNDI, "BPMNShape"), id=f"{element}_di", bpmnElement=element, **extra)
    _bounds(shape, box)
    if label is not None:
        _bounds(etree.SubElement(shape, q(BPMNDI, "BPMNLabel")), label)


def _bounds(parent: Any, box: Box) -> None:
    etree.SubElement(parent, q(DC, "Bounds"), x=_n(box.x), y=_n(box.y), width=_n(box.w), height=_n(box.h))


def _edge(plane: Any, element: str, points: list[Point], label: Box | None = None) -> None:
    edge = etree.SubElement(plane, q(BPMNDI, "BPMNEdge"), id=f"{element}_di", bpmnElement=element)
    for x, y in _dedupe(points):
        etree.SubElement(edge, q(DI, "waypoint"), x=_n(x), y=_n(y))
    if label is not None:
        _bounds(etree.SubElement(edge, q(BPMNDI, "BPMNLabel")), label)


def _n(value: float) -> str:
    return str(int(round(value)))


def _dedupe(points: list[Point]) -> list[Point]:
    out: list[Point] = []
    for p in points:
        p = (round(p[0]), round(p[1]))
        if not out or out[-1] != p:
            out.append(p)
    return out


def _label_box(node: Node) -> Box:
    box = node.box
    assert box is not None
    if node.kind == "boundaryEvent":  # the second boundary of a host puts its label on the left
        return (
            Box(box.right + 2, box.bottom, 90, 27)
            if node.spec["slot"] == 0
            else Box(box.x - 92, box.bottom, 90, 27)
        )
    return Box(box.cx - 45, box.bottom + 5, 90, 27)


def route(src: Node, dst: Node, flow: Flow) -> list[Point]:
    s, t = src.box, dst.box
    assert s is not None and t is not None
    if flow.via:
        first, last = flow.via[0], flow.via[-1]
        return [_exit(s, first), *flow.via, _entry(t, last)]
    if src.kind == "boundaryEvent":
        if abs(t.cy - s.bottom) < 1 or t.cy < s.bottom:
            return [
                (s.cx, s.bottom),
                (s.cx, s.bottom + 20 + flow.below),
                (t.cx, s.bottom + 20 + flow.below),
                (t.cx, t.bottom if t.cy < s.y else t.y),
            ]
        end = (t.x, t.cy) if t.x >= s.cx else (t.right, t.cy)
        return [(s.cx, s.bottom), (s.cx, t.cy), end]
    if abs(s.cx - t.cx) < 1 and t.y >= s.bottom:  # straight down the same column
        return [(s.cx, s.bottom), (t.cx, t.y)]
    if t.x >= s.right - 1:
        if abs(s.cy - t.cy) < 1:
            return [(s.right, s.cy), (t.x, t.cy)]
        if src.kind.endswith("Gateway"):
            return [(s.cx, s.y if t.cy < s.cy else s.bottom), (s.cx, t.cy), (t.x, t.cy)]
        if dst.kind.endswith("Gateway"):
            return [(s.right, s.cy), (t.cx, s.cy), (t.cx, t.y if s.cy < t.cy else t.bottom)]
        mx = (s.right + t.x) / 2
        return [(s.right, s.cy), (mx, s.cy), (mx, t.cy), (t.x, t.cy)]
    channel = max(s.bottom, t.bottom) + 25 + flow.below
    return [(s.cx, s.bottom), (s.cx, channel), (t.cx, channel), (t.cx, t.bottom)]


def _exit(box: Box, toward: Point) -> Point:
    x, y = toward
    if abs(y - box.cy) < 1:
        return (box.right, box.cy) if x >= box.cx else (box.x, box.cy)
    return (box.cx, box.bottom) if y > box.cy else (box.cx, box.y)


def _entry(box: Box, came_from: Point) -> Point:
    x, y = came_from
    if abs(y - box.cy) < 1:
        return (box.x, box.cy) if x <= box.cx else (box.right, box.cy)
    return (box.cx, box.y) if y < box.cy else (box.cx, box.bottom)


def _straight(a: Box, b: Box) -> list[Point]:
    if b.x > a.right:
        return [(a.right, a.cy), (b.x, b.cy)]
    if b.right < a.x:
        return [(a.x, a.cy), (b.right, b.cy)]
    if b.y > a.bottom:
        return [(a.cx, a.bottom), (b.cx, b.y)]
    return [(a.cx, a.y), (b.cx, b.bottom)]


def _message_points(d: Diagram, source: str, target: str, others: dict[str, Box]) -> list[Point]:
    """Vertical message flows between a node and a black-box pool, at the node's x."""
    if source in others:
        pool, node = others[source], d.nodes[target].box
        assert node is not None
        x = node.cx + 10
        return [(x, pool.bottom), (x, node.y)] if pool.y < node.y else [(x, pool.y), (x, node.bottom)]
    node, pool = d.nodes[source].box, others[target]
    assert node is not None
    x = node.cx - 10
    return [(x, node.y), (x, pool.bottom)] if pool.y < node.y else [(x, node.bottom), (x, pool.y)]
