"""Reads a BPMN file's diagram interchange (DI) and reports what makes the drawing hard to read.

A process owner reads a diagram in the modeler at fit-to-screen zoom. Three things are checked, from
the DI coordinates alone (no SpiffWorkflow, no rendering):

- **crossings**: a sequence or message flow segment that enters the interior of a shape it does
  not connect (task, event, gateway, collapsed subprocess, call activity, data object) or of one of
  its own ends (it should meet them at their border), or crosses
  the border of a container (expanded subprocess, pool with a process) that holds only one of its
  ends or neither with the other outside, or runs through the name of a container. Lanes are not
  containers here: flows between lanes are the normal case; a black-box pool is a solid shape.
  A flow may leave a boundary event through its host's edge, so the first segment of a flow from a
  boundary event ignores the host.
- **label overlaps**: a label (``BPMNLabel`` bounds of a flow, event, gateway, data object) that
  overlaps a shape other than its own element, straddles a container's border, covers the name of
  a pool, lane or expanded subprocess, or overlaps another label. Touching edges is not overlapping.
  A name is where bpmn-js draws it: pools and lanes in a ``HEADER`` band down their left side, an
  expanded subprocess centred at its top (``name_box``).
- **fit scale**: the diagram's extent and the zoom at which it fits ``CANVAS`` (a 1920×1080 screen
  minus the modeler's palette, tabs and status bar); below ``MIN_READABLE_SCALE`` it is flagged.

A flow meets its own ends at their border; it keeps ``CLEARANCE`` from every other shape (running
along a shape's edge is reported too). A label may touch a shape's edge. One pixel of slack
(``EPS``) absorbs the rounding of coordinates written as integers.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"

CANVAS = (1880.0, 900.0)
"""The modeler's drawing area on a 1920×1080 screen: browser or window chrome, tabs, palette and
status bar take about 40 px across and 180 px down (properties panel closed)."""

MIN_READABLE_SCALE = 0.75
"""Below this fit zoom the diagram is flagged. bpmn-js draws names in 12 px (inside shapes) and
11 px (outside labels); Chinese glyphs need about 8 px to stay legible, and 11 px × 0.75 ≈ 8.3 px.
Our own threshold (本地设定), not a figure from any standard."""

EPS = 1.0
CLEARANCE = 3.0
"""A flow closer than this to a shape it does not connect reads as touching it (a line along a
task's edge looks like part of the task)."""
HEADER = 30.0  # the band down the left of a pool or lane that holds its name
_CONTAINER_KINDS = {"participant", "subProcess", "transaction", "adHocSubProcess"}
_FLOW_KINDS = {"sequenceFlow", "messageFlow"}

Point = tuple[float, float]


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def grown(self, by: float) -> Rect:
        return Rect(self.x - by, self.y - by, self.w + 2 * by, self.h + 2 * by)

    def holds(self, p: Point) -> bool:
        return self.x <= p[0] <= self.right and self.y <= p[1] <= self.bottom

    def overlaps(self, other: Rect) -> bool:
        """Overlap with positive area beyond ``EPS`` on both axes (touching edges does not count)."""
        return (
            min(self.right, other.right) - max(self.x, other.x) > EPS
            and min(self.bottom, other.bottom) - max(self.y, other.y) > EPS
        )

    def inside(self, other: Rect) -> bool:
        return (
            self.x >= other.x - EPS
            and self.y >= other.y - EPS
            and self.right <= other.right + EPS
            and self.bottom <= other.bottom + EPS
        )


@dataclass
class Element:
    id: str
    kind: str  # the BPMN tag without namespace: userTask, sequenceFlow, participant, ...
    name: str
    parents: tuple[str, ...] = ()  # enclosing subprocesses and the participant, innermost first
    source: str = ""
    target: str = ""
    host: str = ""  # attachedToRef of a boundary event
    bounds: Rect | None = None
    expanded: bool = False
    black_box: bool = False  # a participant without a process
    label: Rect | None = None
    waypoints: list[Point] = field(default_factory=list)

    def describe(self) -> str:
        return f"{self.id} ({self.name})" if self.name else self.id

    @property
    def container(self) -> bool:
        return (self.kind == "participant" and not self.black_box) or (
            self.kind in _CONTAINER_KINDS and self.kind != "participant" and self.expanded
        )

    @property
    def name_band(self) -> Rect | None:
        """Where the modeler writes the name of a pool, lane or expanded subprocess."""
        b = self.bounds
        if b is None or not self.name or self.black_box:
            return None
        if self.kind in ("participant", "lane"):
            return Rect(b.x, b.y, HEADER, b.h)
        return name_box(self.name, b.x, b.y, b.w) if self.container else None


@dataclass
class Report:
    file: str
    crossings: list[str]
    label_overlaps: list[str]
    extent: Rect
    scale: float
    planes: dict[str, tuple[float, Rect]] = field(default_factory=dict)
    """Each plane's fit scale and extent, by the element it draws (the collaboration or process,
    or a collapsed subprocess); ``extent`` and ``scale`` are the worst plane's."""

    @property
    def readable(self) -> bool:
        return self.scale >= MIN_READABLE_SCALE

    def problems(self) -> list[str]:
        out = [*self.crossings, *self.label_overlaps]
        for plane, (scale, extent) in self.planes.items():
            if scale < MIN_READABLE_SCALE:
                which = f"plane {plane} " if len(self.planes) > 1 else ""  # a drawing of several planes
                out.append(
                    f"{which}fits {CANVAS[0]:.0f}×{CANVAS[1]:.0f} only at {scale:.2f} "
                    f"(extent {extent.w:.0f}×{extent.h:.0f}, readable from {MIN_READABLE_SCALE})"
                )
        return out


def check_file(path: Path) -> Report:
    from workflow.xmlsafe import parse_xml  # hardened parsing: the file may be an upload

    return check(parse_xml(path.read_bytes(), filename=path.name), path.name)


def check(root: Any, file: str = "") -> Report:
    """Report crossings, label overlaps and fit scale of every diagram plane in ``root`` (a collapsed
    subprocess drawn on a plane of its own is read on its own); extent and scale are the plane that
    fits the screen worst."""
    crossings: list[str] = []
    overlaps: list[str] = []
    planes: dict[str, tuple[float, Rect]] = {}
    for plane in root.iter(f"{{{BPMNDI}}}BPMNPlane"):
        elements = _elements(root)
        _read_di(plane, elements)
        drawn = [e for e in elements.values() if e.bounds is not None]
        flows = [e for e in elements.values() if e.kind in _FLOW_KINDS and len(e.waypoints) >= 2]
        crossings += [c for flow in flows for c in _crossings(flow, drawn, elements)]
        overlaps += _label_overlaps(drawn, flows)
        extent = _extent(elements.values())
        scale = min(CANVAS[0] / max(extent.w, 1), CANVAS[1] / max(extent.h, 1))
        planes[plane.get("bpmnElement") or plane.get("id") or "?"] = (scale, extent)
    scale, extent = min(planes.values(), key=lambda p: p[0], default=(1.0, Rect(0, 0, 0, 0)))
    return Report(file, crossings, overlaps, extent, scale, planes)


def _elements(root: Any) -> dict[str, Element]:
    out: dict[str, Element] = {}
    owner = {p.get("processRef"): p.get("id") for p in root.iter(f"{{{MODEL}}}participant")}

    def walk(parent: Any, parents: tuple[str, ...]) -> None:
        for child in parent:
            if not isinstance(child.tag, str) or not child.tag.startswith(f"{{{MODEL}}}"):
                continue
            kind, eid = etree.QName(child).localname, child.get("id")
            if eid and kind not in ("process", "collaboration", "laneSet", "lane", "extensionElements"):
                out[eid] = Element(
                    eid,
                    kind,
                    (child.get("name") or "").strip(),
                    parents,
                    child.get("sourceRef", ""),
                    child.get("targetRef", ""),
                    child.get("attachedToRef", ""),
                )
            if kind == "participant" and not child.get("processRef"):
                out[eid].black_box = True
            if kind == "laneSet":
                for lane in child.iter(f"{{{MODEL}}}lane"):
                    out[lane.get("id")] = Element(lane.get("id"), "lane", (lane.get("name") or "").strip())
            if kind in _CONTAINER_KINDS - {"participant"}:
                walk(child, (eid, *parents))
            elif kind == "process":
                walk(child, (owner[eid],) if eid in owner else ())
            elif kind == "collaboration":
                walk(child, ())

    walk(root, ())
    return out


def _read_di(plane: Any, elements: dict[str, Element]) -> None:
    for shape in plane.iter(f"{{{BPMNDI}}}BPMNShape"):
        el = elements.get(shape.get("bpmnElement", ""))
        if el is None:  # lanes and unknown elements draw nothing a flow must avoid
            continue
        el.bounds = _rect(shape.find(f"{{{DC}}}Bounds"))
        el.expanded = shape.get("isExpanded") == "true" or el.kind == "participant"
        el.label = _rect(shape.find(f"{{{BPMNDI}}}BPMNLabel/{{{DC}}}Bounds"))
    for edge in plane.iter(f"{{{BPMNDI}}}BPMNEdge"):
        el = elements.get(edge.get("bpmnElement", ""))
        if el is None:
            continue
        el.waypoints = [(float(w.get("x")), float(w.get("y"))) for w in edge.iter(f"{{{DI}}}waypoint")]
        el.label = _rect(edge.find(f"{{{BPMNDI}}}BPMNLabel/{{{DC}}}Bounds"))


def _rect(bounds: Any) -> Rect | None:
    if bounds is None:
        return None
    x, y, w, h = (float(bounds.get(k, 0)) for k in ("x", "y", "width", "height"))
    return Rect(x, y, w, h)


def _ends(flow: Element, elements: dict[str, Element]) -> tuple[set[str], set[str]]:
    """A flow's ends and the containers it may cross: those holding exactly one of its ends."""
    ends = {_shown(flow.source, elements), _shown(flow.target, elements)}
    held: list[set[str]] = []
    for end in (flow.source, flow.target):
        el = elements.get(end)
        held.append(set(el.parents) if el else set())
    return ends, held[0] ^ held[1]


def _shown(end: str, elements: dict[str, Element]) -> str:
    """What stands for ``end`` on the plane being read: itself, or the collapsed subprocess drawn
    there that holds it (a message flow to a task inside it meets its border)."""
    el = elements.get(end)
    if el is None or el.bounds is not None:
        return end
    return next((p for p in el.parents if elements[p].bounds is not None), end)


def _crossings(flow: Element, drawn: list[Element], elements: dict[str, Element]) -> list[str]:
    ends, may_cross = _ends(flow, elements)
    source = elements.get(flow.source)
    host = source.host if source is not None and source.kind == "boundaryEvent" else ""
    segments = list(itertools.pairwise(flow.waypoints))
    found: list[str] = []
    for end in ends:  # from and to its ends' borders, never through them
        el = elements.get(end)
        if el is None or el.bounds is None:
            continue
        inner = el.bounds.grown(-EPS)
        hit = next((s for s in segments if meets(*s, inner)), None)
        if hit is not None:
            whose = "target" if end == _shown(flow.target, elements) else "source"
            found.append(
                f"{flow.kind} {flow.describe()} runs through its own {whose} {el.describe()} "
                f"(segment {_p(hit[0])}→{_p(hit[1])})"
            )
    for shape in drawn:
        if shape.id in ends or shape.id == flow.id:
            continue
        assert shape.bounds is not None
        band, what, hit = shape.name_band, "", None
        if band is not None:
            hit = next((s for s in segments if meets(*s, band.grown(-EPS))), None)
            what = "runs through the name of"
        if hit is None and shape.container and shape.id not in may_cross:
            hit = next((s for s in segments if _touches_border(*s, shape.bounds)), None)
            what = "crosses the border of"
        elif hit is None and not shape.container and shape.kind != "lane":
            near = [s for i, s in enumerate(segments) if i or shape.id != host]
            inner, outer = shape.bounds.grown(-EPS), shape.bounds.grown(CLEARANCE)
            hit = next((s for s in near if meets(*s, inner)), None)
            what = "runs through"
            if hit is None:
                hit = next((s for s in near if meets(*s, outer)), None)
                what = "runs along the edge of"
        if hit is not None:
            found.append(
                f"{flow.kind} {flow.describe()} {what} {shape.kind} {shape.describe()} "
                f"(segment {_p(hit[0])}→{_p(hit[1])})"
            )
    return found


def _label_overlaps(drawn: list[Element], flows: list[Element]) -> list[str]:
    labelled = [e for e in [*drawn, *flows] if e.label is not None]
    found: list[str] = []
    for el in labelled:
        label = el.label
        assert label is not None
        for shape in drawn:
            if shape.id == el.id:
                continue
            assert shape.bounds is not None
            band = shape.name_band
            if band is not None and label.overlaps(band):
                found.append(f"label of {el.describe()} covers the name of {shape.kind} {shape.describe()}")
            elif shape.container:
                if label.overlaps(shape.bounds) and not label.inside(shape.bounds):
                    where = (
                        "sticks out of its container" if shape.id in el.parents else "straddles the border of"
                    )
                    found.append(f"label of {el.describe()} {where} {shape.describe()}")
            elif shape.kind != "lane" and label.overlaps(shape.bounds):
                found.append(f"label of {el.describe()} overlaps {shape.kind} {shape.describe()}")
    for i, a in enumerate(labelled):
        for b in labelled[i + 1 :]:
            assert a.label is not None and b.label is not None
            if a.label.overlaps(b.label):
                found.append(f"label of {a.describe()} overlaps the label of {b.describe()}")
    return found


def text_width(text: str, px: float) -> float:
    """About how wide bpmn-js draws ``text`` at font size ``px``: CJK glyphs are square, the rest
    about half as wide."""
    return sum(px if ord(c) >= 0x2E80 else px * 0.55 for c in text)


def name_box(name: str, x: float, y: float, w: float) -> Rect:
    """The name of an expanded subprocess: 12 px text, centred at the top, 5 px in, wrapped."""
    room = max(w - 10, 12)
    ink = text_width(name, 12)
    lines = max(1, math.ceil(ink / room))
    width = min(ink, room)
    return Rect(x + w / 2 - width / 2, y + 5, width, lines * 15)


def meets(a: Point, b: Point, box: Any) -> bool:
    """Whether segment a→b meets the closed rectangle ``box`` (Liang–Barsky clipping); ``box`` is
    anything with ``x``, ``y``, ``right`` and ``bottom``."""
    t0, t1 = 0.0, 1.0
    dx, dy = b[0] - a[0], b[1] - a[1]
    for p, q in ((-dx, a[0] - box.x), (dx, box.right - a[0]), (-dy, a[1] - box.y), (dy, box.bottom - a[1])):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return True


def _touches_border(a: Point, b: Point, box: Rect) -> bool:
    """Whether segment a→b comes within ``EPS`` of the rectangle's border: it meets the grown
    rectangle but does not lie wholly inside the shrunk one."""
    inner = box.grown(-EPS)
    return meets(a, b, box.grown(EPS)) and not (inner.holds(a) and inner.holds(b))


def _extent(elements: Any) -> Rect:
    xs: list[float] = []
    ys: list[float] = []
    for el in elements:
        for r in (el.bounds, el.label):
            if r is not None:
                xs += [r.x, r.right]
                ys += [r.y, r.bottom]
        xs += [p[0] for p in el.waypoints]
        ys += [p[1] for p in el.waypoints]
    if not xs:
        return Rect(0, 0, 0, 0)
    return Rect(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


def _p(p: Point) -> str:
    return f"({p[0]:.0f},{p[1]:.0f})"
