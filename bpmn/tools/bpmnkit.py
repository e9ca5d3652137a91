"""A small writer for the programme's BPMN diagrams: semantics and standard DI from one description.

Nodes are placed on a grid — a column, a lane and a row inside the lane — and the writer turns the
grid into coordinates, draws expanded subprocesses around their children, puts boundary events
on the bottom edge of their host, routes sequence flows orthogonally and draws message flows to
black-box pools. The output is an ordinary BPMN 2.0 file (semantics + BPMNDI) that bpmn.io and
Camunda Modeler open and edit; the generated files in ``bpmn/`` are the source of truth once
committed, this tool only saves placing hundreds of coordinates by hand.

Not deployed: only ``.bpmn``, ``.dmn`` and ``.json`` files are.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI, "spiffworkflow": SPIFF, "xsi": XSI}

COL_W, ROW_H, LANE_PAD, X0 = 150, 120, 20, 220
POOL_X, LANE_X = 120, 150
SIZES = {"task": (100, 80), "event": (36, 36), "gateway": (50, 50)}
TASK_KINDS = {"userTask", "serviceTask", "scriptTask", "businessRuleTask", "receiveTask"}
EVENT_KINDS = {"startEvent", "endEvent", "intermediateThrowEvent", "intermediateCatchEvent", "boundaryEvent"}


def q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


@dataclass
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


@dataclass
class Node:
    id: str
    kind: str
    name: str
    doc: str
    lane: str | None
    col: float
    row: float
    parent: str | None
    spec: dict[str, Any] = field(default_factory=dict)
    box: Box | None = None
    incoming: list[str] = field(default_factory=list)
    outgoing: list[str] = field(default_factory=list)


@dataclass
class Flow:
    id: str
    source: str
    target: str
    name: str = ""
    doc: str = ""
    condition: str | None = None
    via: list[Any] | None = None  # points, or grid cells (column, lane, row)
    below: float = 0  # extra drop of the channel of a back edge


class Diagram:
    """One process in one pool, with lanes, plus black-box pools for the parties it talks to."""

    def __init__(self, process_id: str, name: str, doc: str, lanes: list[tuple[str, str, str]]) -> None:
        self.pid, self.name, self.doc = process_id, name, doc
        self.lanes = lanes  # (key, Chinese name, English documentation), top to bottom
        self.nodes: dict[str, Node] = {}
        self.flows: list[Flow] = []
        self.scope: list[str] = []
        self.messages: dict[str, str] = {}  # message name -> id
        self.signals: dict[str, str] = {}  # signal name -> id
        self.lane_rows: dict[str, float] = {}  # lane -> rows it keeps at least (a free row is a channel for flows)
        self.properties: dict[str, dict[str, str]] = {}  # property -> {message name: expression}
        self.keys: dict[str, list[str]] = {}  # correlation key -> properties
        self.pools: list[tuple[str, str, str, str]] = []  # id, name, doc, "top" | "bottom"
        self.pool_cols: dict[str, tuple[float, float]] = {}  # pools drawn over a range of columns only
        self.message_flows: list[tuple[str, str, str, str, str]] = []  # id, name, source, target, doc
        self.data_objects: dict[str, str] = {}  # data object id (= the variable) -> name
        self.associations: list[tuple[str, str, str]] = []  # kind ("in" | "out"), node, data object reference
        self.start_form: str | None = None

    # -- declarations ---------------------------------------------------------------------------
    def message(self, name: str, correlation: dict[str, str]) -> None:
        """A message and the retrieval expression of each correlation property on it."""
        self.messages[name] = f"Message_{name}"
        for prop, expression in correlation.items():
            self.properties.setdefault(prop, {})[name] = expression
            self.keys.setdefault(f"{prop}_key", [prop])

    def signal(self, name: str) -> None:
        """A signal thrown and caught inside the process (never between cases)."""
        self.signals[name] = f"Signal_{name}"

    def pool(
        self, pool_id: str, name: str, doc: str, where: str = "top", cols: tuple[float, float] | None = None
    ) -> None:
        """A black-box pool above or below the process; with ``cols``, only over those columns (pools
        with column ranges share one row, so message flows do not cross other pools)."""
        self.pools.append((pool_id, name, doc, where))
        if cols is not None:
            self.pool_cols[pool_id] = cols

    def message_flow(self, flow_id: str, name: str, source: str, target: str, doc: str) -> None:
        self.message_flows.append((flow_id, name, source, target, doc))

    def data_object(self, obj_id: str, name: str) -> None:
        """A process-level data object: the variable ``obj_id`` shared by the process and its
        subprocesses (SpiffWorkflow resolves references one subprocess level deep)."""
        self.data_objects[obj_id] = name

    def data_ref(self, ref_id: str, obj_id: str, lane: str, col: float, row: float = 0) -> str:
        """A reference to a data object, drawn in the current scope (process or subprocess)."""
        return self.add(
            "dataObjectReference",
            ref_id,
            self.data_objects[obj_id],
            f"Data object {obj_id}.",
            lane,
            col,
            row,
            obj=obj_id,
            no_lane=True,
        )

    def reads(self, node: str, ref_id: str) -> None:
        self.associations.append(("in", node, ref_id))

    def writes(self, node: str, ref_id: str) -> None:
        self.associations.append(("out", node, ref_id))

    # -- nodes ----------------------------------------------------------------------------------
    def add(
        self,
        kind: str,
        node_id: str,
        name: str,
        doc: str,
        lane: str | None,
        col: float,
        row: float = 0,
        **spec: Any,
    ) -> str:
        if node_id in self.nodes:
            raise ValueError(f"duplicate id {node_id}")
        parent = self.scope[-1] if self.scope else None
        self.nodes[node_id] = Node(node_id, kind, name, doc, lane, col, row, parent, spec)
        return node_id

    def sub(self, node_id: str, name: str, doc: str, lane: str | None, **spec: Any) -> _Scope:
        self.add("subProcess", node_id, name, doc, lane, 0, 0, **spec)
        return _Scope(self, node_id)

    def boundary(
        self, node_id: str, name: str, doc: str, host: str, *, cancel: bool = True, slot: int = 0, **spec: Any
    ) -> str:
        lane = self.nodes[host].lane
        return self.add(
            "boundaryEvent", node_id, name, doc, lane, 0, 0, host=host, cancel=cancel, slot=slot, **spec
        )

    def flow(
        self,
        source: str,
        target: str,
        name: str = "",
        doc: str = "",
        *,
        condition: str | None = None,
        default: bool = False,
        via: list[Any] | None = None,
        below: float = 0,
    ) -> str:
        flow_id = f"Flow_{source}_{target}"
        self.flows.append(Flow(flow_id, source, target, name, doc, condition, via, below))
        self.nodes[source].outgoing.append(flow_id)
        self.nodes[target].incoming.append(flow_id)
        if default:
            self.nodes[source].spec["default"] = flow_id
        return flow_id

    def chain(self, *ids: str) -> None:
        for a, b in zip(ids, ids[1:], strict=False):
            self.flow(a, b)

    def wrap(self, sub_id: str, name: str, doc: str, lane: str, cols: tuple[float, float], **spec: Any) -> str:
        """Move the process-level nodes drawn over columns ``cols`` (with their boundary events)
        into a new embedded subprocess ``sub_id``, drawn collapsed. The block must have one flow in
        and one flow out: they now end at the subprocess, and inside it a start event leads to the
        first node and the last node to an end event (ids ``Start_<key>``, ``End_<key>``, key = the
        subprocess id in lower case)."""
        a, b = cols
        members = {
            n.id
            for n in self.nodes.values()
            if n.parent is None
            and n.kind != "boundaryEvent"
            and a <= (min(self._leaf_columns(n.id)) if n.kind == "subProcess" else n.col) <= b
        }
        members |= {n.id for n in self.nodes.values() if n.kind == "boundaryEvent" and n.spec["host"] in members}
        into = [f for f in self.flows if f.target in members and f.source not in members]
        out = [f for f in self.flows if f.source in members and f.target not in members]
        if len(into) != 1 or len(out) != 1:
            raise ValueError(f"{sub_id}: {len(into)} flows in, {len(out)} out; a block needs one of each")
        self.add("subProcess", sub_id, name, doc, lane, 0, 0, collapsed=True, **spec)
        for member in members:
            self.nodes[member].parent = sub_id
        key = sub_id.lower()
        first, last = self.nodes[into[0].target], self.nodes[out[0].source]
        self.scope.append(sub_id)
        start = self.add("startEvent", f"Start_{key}", "", f"{name}开始。Start of the block.", first.lane,
                         first.col - 1, first.row, edge=True)
        end = self.add("endEvent", f"End_{key}", "", f"{name}结束。End of the block.", last.lane,
                       last.col + 1, last.row, edge=True)
        self.scope.pop()
        (inflow,), (outflow,) = into, out
        first.incoming.remove(inflow.id)
        last.outgoing.remove(outflow.id)
        inflow.target, outflow.source = sub_id, sub_id
        for flow, outside, ends in (
            (inflow, self.nodes[inflow.source], "outgoing"),
            (outflow, self.nodes[outflow.target], "incoming"),
        ):
            old, flow.id = flow.id, f"Flow_{flow.source}_{flow.target}"
            ids = getattr(outside, ends)
            ids[ids.index(old)] = flow.id
            if outside.spec.get("default") == old:
                outside.spec["default"] = flow.id
        self.nodes[sub_id].incoming.append(inflow.id)
        self.nodes[sub_id].outgoing.append(outflow.id)
        self.flow(start, first.id)
        self.flow(last.id, end)
        return sub_id

    # -- planes ---------------------------------------------------------------------------------
    def plane_of(self, node_id: str) -> str | None:
        """The plane a node is drawn on: its nearest collapsed enclosing subprocess, or None for
        the collaboration's plane."""
        parent = self.nodes[node_id].parent
        while parent is not None and not self.nodes[parent].spec.get("collapsed"):
            parent = self.nodes[parent].parent
        return parent

    def planes(self) -> list[str | None]:
        """The collaboration's plane, then one plane per collapsed subprocess (bpmn-js drill-down)."""
        subs = [n.id for n in self.nodes.values() if n.kind == "subProcess" and n.spec.get("collapsed")]
        return [None, *subs]

    def shown(self, node_id: str, plane: str | None) -> str:
        """What stands for ``node_id`` on ``plane``: the node itself, or the collapsed subprocess
        drawn there that holds it."""
        at = node_id
        while self.plane_of(at) != plane:
            parent = self.nodes[at].parent
            if parent is None:
                raise ValueError(f"{node_id} is not on plane {plane}")
            at = parent
        return at

    def _leaf_columns(self, sub: str) -> list[float]:
        cols: list[float] = []
        for node in self.nodes.values():
            if node.kind in ("subProcess", "boundaryEvent", "dataObjectReference") or node.spec.get("edge"):
                continue
            parent = node.parent
            while parent is not None and parent != sub:
                parent = self.nodes[parent].parent
            if parent == sub:
                cols.append(node.col)
        return cols

    def column_map(self, plane: str | None) -> Any:
        """Columns as drawn on ``plane``: a collapsed subprocess takes the first column of its
        content and one column's width, so the free columns it spanned close up (columns that other
        nodes of the plane use stay, one apart)."""
        on = [n for n in self.nodes.values() if self.plane_of(n.id) == plane and n.kind != "boundaryEvent"]
        pieces: list[tuple[float, float, float]] = []  # (from, to, columns removed)
        for sub in on:
            if sub.kind != "subProcess" or not sub.spec.get("collapsed"):
                continue
            cols = self._leaf_columns(sub.id)
            a, b = min(cols), max(cols)
            used = sorted({n.col for n in on if n.kind != "subProcess" and a < n.col <= b})
            for p, q in itertools.pairwise([a, *used, b]):
                pieces.append((p, q, q - p - 1 if q in used else q - p))

        def col(c: float) -> float:
            return c - sum(max(0.0, min(gone, c - p - 1 if c < q else gone)) for p, q, gone in pieces if p < c)

        return col

    # -- layout ---------------------------------------------------------------------------------
    def _layout(self, plane: str | None = None) -> tuple[Box, dict[str, Box], dict[str, Box]]:
        """Place the nodes drawn on ``plane``. Only the collaboration's plane has lanes, pools and
        their boxes; a subprocess's plane stacks the lanes its content uses, without drawing them."""
        on = {n.id for n in self.nodes.values() if self.plane_of(n.id) == plane}
        col_of = self.column_map(plane)
        collapsed = {i for i in on if self.nodes[i].kind == "subProcess" and self.nodes[i].spec.get("collapsed")}
        drawn_in = {n.id: n.lane for n in self.nodes.values() if n.id in on}
        for sub in collapsed:  # where its start event is (or the lane it names)
            node = self.nodes[sub]
            node.col = min(self._leaf_columns(sub))
            start = next(n for n in self.nodes.values() if n.parent == sub and n.kind == "startEvent")
            drawn_in[sub] = node.lane or start.lane
            node.row = node.spec.get("row", start.row if start.lane == drawn_in[sub] else 0)
        rows: dict[str, float] = {key: self.lane_rows.get(key, 0) for key, _, _ in self.lanes}
        used = {key: plane is None for key, _, _ in self.lanes}
        for node in self.nodes.values():
            lane = drawn_in.get(node.id)
            if lane is None:
                continue
            used[lane] = True
            if node.kind not in ("boundaryEvent",) and (node.kind != "subProcess" or node.id in collapsed):
                rows[lane] = max(rows[lane], node.row)
        top_pools = [p for p in self.pools if p[3] == "top"]
        top_rows = len([p for p in top_pools if p[0] not in self.pool_cols]) + any(
            p[0] in self.pool_cols for p in top_pools
        )
        y = 60 + top_rows * 100 if plane is None else 60
        lane_boxes: dict[str, Box] = {}
        for key, _name, _doc in self.lanes:
            height = (rows[key] + 1) * ROW_H + 2 * LANE_PAD if used[key] else 0
            lane_boxes[key] = Box(LANE_X, y, 0, height)
            y += height
        for node in self.nodes.values():
            if node.id not in on or node.kind == "boundaryEvent":
                continue
            if node.kind == "subProcess" and node.id not in collapsed:
                continue
            kind = "task" if node.kind in TASK_KINDS | {"subProcess"} else "event" if node.kind in EVENT_KINDS else "gateway"
            w, h = (36, 50) if node.kind == "dataObjectReference" else SIZES[kind]
            lane = lane_boxes[drawn_in[node.id] or self.lanes[0][0]]
            cx = X0 + col_of(node.col) * COL_W + COL_W / 2
            cy = lane.y + LANE_PAD + node.row * ROW_H + ROW_H / 2
            node.box = Box(cx - w / 2, cy - h / 2, w, h)
        for node in self._subprocesses_inner_first():
            if node.id not in on or node.id in collapsed:
                continue
            kids = [n.box for n in self.nodes.values() if n.parent == node.id and n.box is not None]
            x0, y0 = min(b.x for b in kids) - 40, min(b.y for b in kids) - 40
            x1, y1 = max(b.right for b in kids) + 40, max(b.bottom for b in kids) + 30
            node.box = Box(x0, y0, x1 - x0, y1 - y0)
        for node in self.nodes.values():
            if node.id in on and node.kind == "boundaryEvent":
                host = self.nodes[node.spec["host"]].box
                assert host is not None
                x = host.right - min(50, host.w / 4) - node.spec["slot"] * min(55, host.w / 2)
                node.box = Box(x - 18, host.bottom - 18, 36, 36)
        right = max(n.box.right for n in self.nodes.values() if n.box and n.id in on) + 60
        for box in lane_boxes.values():
            box.w = right - LANE_X
        first = lane_boxes[self.lanes[0][0]]
        pool = Box(POOL_X, first.y, right - POOL_X, y - first.y)
        others: dict[str, Box] = {}
        for where, first_y, step in (("top", 60, 100), ("bottom", y + 40, 100)):
            row = 0
            for pool_id, _n, _d, w in self.pools:
                if w != where:
                    continue
                if pool_id in self.pool_cols:
                    a, b = (col_of(c) for c in self.pool_cols[pool_id])
                    shared = len([p for p in self.pools if p[3] == where and p[0] not in self.pool_cols])
                    py = first_y + (shared if where == "bottom" else 0) * step
                    others[pool_id] = Box(X0 + a * COL_W, py, (b - a + 1) * COL_W, 60)
                else:
                    offset = row + (
                        1 if where == "top" and any(p in self.pool_cols for p, *_ in top_pools) else 0
                    )
                    others[pool_id] = Box(POOL_X, first_y + offset * step, pool.w, 60)
                    row += 1
        return pool, lane_boxes, others

    def _subprocesses_inner_first(self) -> list[Node]:
        def depth(node: Node) -> int:
            d = 0
            while node.parent is not None:
                node, d = self.nodes[node.parent], d + 1
            return d

        subs = [n for n in self.nodes.values() if n.kind == "subProcess"]
        return sorted(subs, key=depth, reverse=True)

    # -- writing --------------------------------------------------------------------------------
    def write(self, path: Path) -> None:
        """Write the BPMN file: semantics (``bpmnkit_xml``) and DI (``bpmnkit_di``)."""
        from bpmnkit_xml import write  # the writing half lives in its own modules

        write(self, path)


class _Scope:
    def __init__(self, diagram: Diagram, node_id: str) -> None:
        self.diagram, self.node_id = diagram, node_id

    def __enter__(self) -> str:
        self.diagram.scope.append(self.node_id)
        return self.node_id

    def __exit__(self, *exc: object) -> None:
        self.diagram.scope.pop()
