"""Routing around shapes for ``bpmnkit_di``: a flow keeps its planned route (grid routing, ``via``
points) when that route is clear, and otherwise gets the shortest orthogonal detour with fewest bends.

"Clear" is the rule ``workflow.diagram_layout`` checks: no segment comes near a shape (its own ends
only at their border; a boundary event's first segment may leave through its host), no segment
runs through a pool, lane or subprocess name, and no segment crosses
the border of an expanded subprocess or pool unless that container holds exactly one of the ends.
The detour is a shortest path on the grid of lines ``MARGIN`` away from every shape's sides, with a
cost per bend, from a side of the source to a side of the target.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

from bpmnkit import Box, Diagram, Node

from workflow.diagram_layout import CLEARANCE, meets, name_box

Point = tuple[float, float]
MARGIN = 15  # how far a detour keeps from a shape it passes
BEND = 60  # the cost of a bend, in pixels of length
HEADER = 30  # the name band at the left of a pool or lane


@dataclass
class Scene:
    """Every drawn shape of a diagram, and which containers hold each node."""

    solids: dict[str, Box]  # tasks, events, gateways, data objects, black-box pools, names ("id#name")
    containers: dict[str, Box]  # expanded subprocesses and the process's pool
    parents: dict[str, set[str]]  # node id -> containers holding it
    hosts: dict[str, str]  # boundary event -> host
    pools: set[str] = field(default_factory=set)  # black-box pools


def scene(d: Diagram, pool: Box | None, others: dict[str, Box], nodes: list[Node] | None = None) -> Scene:
    """The shapes of one plane: ``nodes`` (all of them by default) inside the process's ``pool``
    (None on a subprocess's own plane, which draws no pool)."""
    main = f"Participant_{d.pid}"
    solids: dict[str, Box] = dict(others)
    containers: dict[str, Box] = {main: pool} if pool is not None else {}
    parents: dict[str, set[str]] = {pool_id: set() for pool_id in others}
    hosts: dict[str, str] = {}
    if pool is not None:
        solids[f"{main}#name"] = Box(pool.x, pool.y, HEADER * 2, pool.h)  # the pool's and lanes' names
    drawn = list(d.nodes.values()) if nodes is None else nodes
    for node in drawn:
        assert node.box is not None
        expanded = node.kind == "subProcess" and not node.spec.get("collapsed")
        (containers if expanded else solids)[node.id] = node.box
        if expanded:
            r = name_box(node.name, node.box.x, node.box.y, node.box.w)
            solids[f"{node.id}#name"] = Box(r.x, r.y, r.w, r.h)
    for node in drawn:
        chain, parent = {main} if pool is not None else set(), node.parent
        while parent is not None and parent in containers:
            chain.add(parent)
            parent = d.nodes[parent].parent
        parents[node.id] = chain
        if node.kind == "boundaryEvent":
            hosts[node.id] = node.spec["host"]
    return Scene(solids, containers, parents, hosts, set(others))


def clear(sc: Scene, source: str, target: str, points: list[Point]) -> bool:
    """Whether the polyline keeps the checker's rule for a flow from ``source`` to ``target``."""
    ends, may_cross = {source, target}, sc.parents[source] ^ sc.parents[target]
    host = sc.hosts.get(source, "")
    for end in ends:  # from and to the ends' borders, never through them
        box = sc.solids.get(end) or sc.containers[end]
        if any(meets(a, b, _grow(box, -1)) for a, b in itertools.pairwise(points)):
            return False
    for i, (a, b) in enumerate(itertools.pairwise(points)):
        for sid, box in sc.solids.items():
            if sid.split("#")[0] in ends or (i == 0 and sid == host):
                continue
            if meets(a, b, _grow(box, CLEARANCE)):
                return False
        for cid, box in sc.containers.items():
            if cid in ends or cid in may_cross:
                continue
            inner = _grow(box, -1)
            if meets(a, b, _grow(box, 1)) and not (_holds(inner, a) and _holds(inner, b)):
                return False
    return True


def detour(sc: Scene, source: str, target: str) -> list[Point] | None:
    """The cheapest orthogonal route between a side of ``source`` and a side of ``target`` that
    keeps ``MARGIN`` from every other shape, or None when there is none."""
    ends = {source, target}
    common = sc.parents[source] & sc.parents[target]
    walls = [_grow(b, MARGIN) for k, b in sc.solids.items()]
    may_cross = sc.parents[source] ^ sc.parents[target]
    walls += [_grow(b, MARGIN) for k, b in sc.containers.items() if k in ends or k not in common | may_cross]
    walls = [w for w in walls if w.w > 0]
    region = _region(sc, common)
    starts, goals = _ports(sc, source, target), _ports(sc, target, source)
    xs = sorted(
        {region.x, region.right, *(v for w in walls for v in (w.x, w.right))}
        | {s[1][0] for s in [*starts, *goals]}
    )
    ys = sorted(
        {region.y, region.bottom, *(v for w in walls for v in (w.y, w.bottom))}
        | {s[1][1] for s in [*starts, *goals]}
    )
    xs = [x for x in xs if region.x <= x <= region.right]
    ys = [y for y in ys if region.y <= y <= region.bottom]

    def free(p: Point) -> bool:
        return not any(w.x < p[0] < w.right and w.y < p[1] < w.bottom for w in walls)

    xi, yi = {x: i for i, x in enumerate(xs)}, {y: i for i, y in enumerate(ys)}
    goal_at = {(g[1][0], g[1][1]): g for g in goals if free(g[1])}
    heap: list[tuple[float, int, Point, Point, tuple[Point, ...]]] = []
    counter = itertools.count()
    for port, stub, out in starts:
        if free(stub) and stub[0] in xi and stub[1] in yi:
            heapq.heappush(heap, (0.0, next(counter), stub, out, (port, stub)))
    done: set[tuple[Point, Point]] = set()
    while heap:
        cost, _, at, heading, path = heapq.heappop(heap)
        if (at, heading) in done:
            continue
        done.add((at, heading))
        if at in goal_at:
            port, _stub, out = goal_at[at]
            inward = (-out[0], -out[1])
            if heading == inward:
                return _simplify([*path, port])
            heapq.heappush(heap, (cost + BEND, next(counter), at, inward, path))
            continue
        i, j = xi[at[0]], yi[at[1]]
        for step, (ni, nj) in (
            ((1, 0), (i + 1, j)),
            ((-1, 0), (i - 1, j)),
            ((0, 1), (i, j + 1)),
            ((0, -1), (i, j - 1)),
        ):
            if not (0 <= ni < len(xs) and 0 <= nj < len(ys)) or step == (-heading[0], -heading[1]):
                continue
            nxt = (xs[ni], ys[nj])
            mid = ((at[0] + nxt[0]) / 2, (at[1] + nxt[1]) / 2)
            if not free(nxt) or not free(mid):
                continue
            extra = abs(nxt[0] - at[0]) + abs(nxt[1] - at[1]) + (BEND if step != heading else 0)
            heapq.heappush(heap, (cost + extra, next(counter), nxt, step, (*path, nxt)))
    return None


def _ports(sc: Scene, node: str, other: str) -> list[tuple[Point, Point, Point]]:
    """(point on the side, point ``MARGIN`` + 1 out from it, outward direction) for each usable side."""
    box = sc.solids.get(node) or sc.containers[node]
    assert box is not None
    d = MARGIN + 1
    if node in sc.hosts:  # a boundary event leaves downwards, away from its host
        return [((box.cx, box.bottom), (box.cx, box.bottom + d), (0, 1))]
    if node in sc.pools:  # a black-box pool: anywhere on its long sides
        far = sc.solids.get(other) or sc.containers[other]
        xs = [far.cx + k * 20 for k in range(-40, 41) if box.x + 20 <= far.cx + k * 20 <= box.right - 20]
        return [((x, box.y), (x, box.y - d), (0, -1)) for x in xs] + [
            ((x, box.bottom), (x, box.bottom + d), (0, 1)) for x in xs
        ]
    return [
        ((box.right, box.cy), (box.right + d, box.cy), (1, 0)),
        ((box.x, box.cy), (box.x - d, box.cy), (-1, 0)),
        ((box.cx, box.bottom), (box.cx, box.bottom + d), (0, 1)),
        ((box.cx, box.y), (box.cx, box.y - d), (0, -1)),
    ]


def _region(sc: Scene, common: set[str]) -> Box:
    """Where the detour may run: ``MARGIN`` inside the innermost container holding both ends (the
    names down a pool's left side are walls of their own), or anywhere."""
    if common:
        inner = min((sc.containers[c] for c in common), key=lambda b: b.w * b.h)
        return _grow(inner, -MARGIN)
    xs = [v for b in [*sc.solids.values(), *sc.containers.values()] for v in (b.x, b.right)]
    ys = [v for b in [*sc.solids.values(), *sc.containers.values()] for v in (b.y, b.bottom)]
    return Box(min(xs) - 100, min(ys) - 100, max(xs) - min(xs) + 200, max(ys) - min(ys) + 200)


def _simplify(points: list[Point]) -> list[Point]:
    out: list[Point] = []
    for p in points:
        if len(out) >= 2 and (out[-2][0] == out[-1][0] == p[0] or out[-2][1] == out[-1][1] == p[1]):
            out[-1] = p
        elif not out or out[-1] != p:
            out.append(p)
    return out


def _grow(box: Box, by: float) -> Box:
    return Box(box.x - by, box.y - by, box.w + 2 * by, box.h + 2 * by)


def _holds(box: Box, p: Point) -> bool:
    return box.x <= p[0] <= box.right and box.y <= p[1] <= box.bottom
