"""The DI half of ``bpmnkit``: shapes for pools, lanes, nodes and data objects; edges for sequence
flows (routed orthogonally), message flows and data associations."""

from __future__ import annotations

from typing import Any

from bpmnkit import BPMNDI, COL_W, DC, DI, LANE_PAD, ROW_H, X0, Box, Diagram, Flow, Node, q
from bpmnkit_labels import Placer
from bpmnkit_route import Scene, clear, detour, scene
from lxml import etree

Point = tuple[float, float]


def write_di(d: Diagram, root: Any) -> None:
    """One ``BPMNDiagram`` for the collaboration, then one per collapsed subprocess, holding its
    content (``bpmnElement`` = the subprocess), the way bpmn-js models drill-down."""
    for plane_of in d.planes():
        pool, lanes, others = d._layout(plane_of)
        name = d.pid if plane_of is None else plane_of
        diagram = etree.SubElement(root, q(BPMNDI, "BPMNDiagram"), id=f"BPMNDiagram_{name}")
        plane = etree.SubElement(
            diagram,
            q(BPMNDI, "BPMNPlane"),
            id=f"BPMNPlane_{name}",
            bpmnElement=f"Collaboration_{d.pid}" if plane_of is None else plane_of,
        )
        _write_plane(d, plane, plane_of, pool, lanes, others)


def _write_plane(
    d: Diagram, plane: Any, plane_of: str | None, pool: Box, lanes: dict[str, Box], others: dict[str, Box]
) -> None:
    nodes = [n for n in d.nodes.values() if d.plane_of(n.id) == plane_of]
    on = {n.id for n in nodes}
    col_of = d.column_map(plane_of)
    if plane_of is None:
        _shape(plane, f"Participant_{d.pid}", pool, isHorizontal="true")
        for key, _name, _doc in d.lanes:
            _shape(plane, f"Lane_{key}", lanes[key], isHorizontal="true")
        for pool_id, box in others.items():
            _shape(plane, pool_id, box, isHorizontal="true")
    else:
        others = {}
    sc = scene(d, pool if plane_of is None else None, others, nodes)
    routes: dict[str, list[Point]] = {}
    flows = [f for f in d.flows if f.source in on]
    for flow in flows:
        if flow.via:  # grid cells (column, lane, row) -> their centres
            flow.via = [_cell(lanes, col_of(p[0]), p[1], p[2]) if len(p) == 3 else p for p in flow.via]  # type: ignore[misc]
        points = route(d.nodes[flow.source], d.nodes[flow.target], flow)
        if not clear(sc, flow.source, flow.target, points):
            points = detour(sc, flow.source, flow.target) or points
        routes[flow.id] = points
    message_flows = d.message_flows if plane_of is None else []
    for flow_id, _name, source, target, _doc in message_flows:  # to the collapsed subprocess holding an end
        a, b = (s if s in others else d.shown(s, None) for s in (source, target))
        routes[flow_id] = _message_points(d, sc, a, b, others)
    links: dict[str, list[Point]] = {}
    for kind, node_id, obj in d.associations:
        if node_id not in on:
            continue
        box, data = d.nodes[node_id].box, d.nodes[obj].box
        assert box is not None and data is not None
        a, b = (box, data) if kind == "out" else (data, box)
        tag = "dataInputAssociation" if kind == "in" else "dataOutputAssociation"
        links[f"{tag[:-11]}_{node_id}_{obj}"] = _straight(a, b)
    boxes = [pool, *lanes.values(), *others.values()] if plane_of is None else []
    borders = [[(b.x, y), (b.right, y)] for b in boxes for y in (b.y, b.bottom)]
    placer = Placer(sc, [*routes.values(), *links.values(), *borders])
    order = sorted(nodes, key=lambda n: (n.kind != "subProcess", n.kind == "boundaryEvent"))
    labels: dict[str, Box] = {}
    for node in order:
        if node.name and (node.kind.endswith(("Event", "Gateway")) or node.kind == "dataObjectReference"):
            labels[node.id] = placer.node(node)
    for flow in flows:
        if flow.name:
            labels[flow.id] = placer.flow(flow.id, flow.name, flow.source, flow.target, routes[flow.id])
    for flow_id, name, source, target, _doc in message_flows:
        if name:
            a, b = (s if s in others else d.shown(s, None) for s in (source, target))
            labels[flow_id] = placer.flow(flow_id, name, a, b, routes[flow_id])
    for node in order:
        assert node.box is not None
        extra: dict[str, str] = {}
        if node.kind == "subProcess":
            extra["isExpanded"] = "false" if node.spec.get("collapsed") else "true"
        if node.kind == "exclusiveGateway":
            extra["isMarkerVisible"] = "true"
        _shape(plane, node.id, node.box, label=labels.get(node.id), **extra)
    for flow in flows:
        _edge(plane, flow.id, routes[flow.id], labels.get(flow.id))
    for flow_id, _name, _source, _target, _doc in message_flows:
        _edge(plane, flow_id, routes[flow_id], labels.get(flow_id))
    for link_id, points in links.items():
        _edge(plane, link_id, points)


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
        if t.x < s.cx < t.right:  # straight down onto the target
            return [(s.cx, s.bottom), (s.cx, t.y)]
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


def _message_points(d: Diagram, sc: Scene, source: str, target: str, others: dict[str, Box]) -> list[Point]:
    """Message flows between a node and a black-box pool: vertical at about the node's x (moved
    along the node when something stands in the way), else routed around shapes."""
    pool_id, node_id = (source, target) if source in others else (target, source)
    pool, node = others[pool_id], d.nodes[node_id].box
    assert node is not None
    base = node.cx + 10 if pool_id == source else node.cx - 10
    for shift in (0, 10, -10, 20, -20, 30, -30, 40, -40):
        x = base + shift
        if not node.x + 8 <= x <= node.right - 8:
            continue
        down = [(x, pool.bottom), (x, node.y)] if pool.y < node.y else [(x, pool.y), (x, node.bottom)]
        points = down if pool_id == source else down[::-1]
        if clear(sc, source, target, points):
            return points
    base_x = base
    down = (
        [(base_x, pool.bottom), (base_x, node.y)]
        if pool.y < node.y
        else [(base_x, pool.y), (base_x, node.bottom)]
    )
    return detour(sc, source, target) or (down if pool_id == source else down[::-1])
