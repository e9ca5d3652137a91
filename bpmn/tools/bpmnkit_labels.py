"""Label placement for ``bpmnkit_di``: each outside label (events, gateways, data objects, flows)
goes to the first of its candidate places that overlaps no shape but its own, no label placed
before it and no container border, preferring places no flow line runs through.

Labels are sized to their text the way bpmn-js draws it (11 px, wrapped at 90 px), so the bounds
the checker in ``workflow.diagram_layout`` sees are the ink a reader sees.
"""

from __future__ import annotations

import itertools
import math

from bpmnkit import Box, Node
from bpmnkit_route import Scene

from workflow.diagram_layout import meets, text_width

Point = tuple[float, float]
WRAP = 90  # bpmn-js wraps outside labels at 90 px
LINE = 14  # 11 px text, line height


def size(text: str) -> tuple[float, float]:
    ink = text_width(text, 11)
    lines = max(1, math.ceil(ink / (WRAP - 6)))
    return (min(WRAP, ink + 6), lines * LINE)


class Placer:
    def __init__(self, sc: Scene, lines: list[list[Point]]) -> None:
        self.sc = sc
        self.segments = [s for pts in lines for s in itertools.pairwise(pts)]
        self.placed: list[Box] = []

    def node(self, node: Node) -> Box:
        box = node.box
        assert box is not None
        w, h = size(node.name)
        below = Box(box.cx - w / 2, box.bottom + 5, w, h)
        above = Box(box.cx - w / 2, box.y - 5 - h, w, h)
        right, left = Box(box.right + 5, box.cy - h / 2, w, h), Box(box.x - 5 - w, box.cy - h / 2, w, h)
        corners = [
            Box(box.right + 2, box.bottom, w, h),
            Box(box.x - 2 - w, box.bottom, w, h),
            Box(box.right + 2, box.y - h, w, h),
            Box(box.x - 2 - w, box.y - h, w, h),
        ]
        if node.kind == "boundaryEvent":  # below, on the side away from the host's other boundary
            first = corners[:2] if node.spec["slot"] == 0 else corners[1::-1]
            return self._place(node.id, self.sc.parents[node.id], [*first, below, *corners[2:], right, left])
        return self._place(node.id, self.sc.parents[node.id], [below, above, right, left, *corners])

    def flow(self, flow_id: str, name: str, source: str, target: str, points: list[Point]) -> Box:
        w, h = size(name)
        (x1, y1), (x2, y2) = points[0], points[1]
        first = Box((x1 + x2) / 2 + 4, (y1 + y2) / 2 - 22, w, h)
        candidates = [first]
        for (ax, ay), (bx, by) in itertools.pairwise(points):
            mx, my = (ax + bx) / 2, (ay + by) / 2
            if ay == by:  # horizontal: above or below, at the middle or near either end
                for x in (mx - w / 2, min(ax, bx) + 6, max(ax, bx) - 6 - w):
                    candidates += [Box(x, ay - 3 - h, w, h), Box(x, ay + 3, w, h)]
            else:  # vertical: right or left, at the middle or near either end
                for y in (my - h / 2, min(ay, by) + 6, max(ay, by) - 6 - h):
                    candidates += [Box(ax + 4, y, w, h), Box(ax - 4 - w, y, w, h)]
        holders = self.sc.parents.get(source, set()) & self.sc.parents.get(target, set())
        return self._place(flow_id, holders, candidates)

    def _place(self, owner: str, holders: set[str], candidates: list[Box]) -> Box:
        def cost(ic: tuple[int, Box]) -> tuple[int, int, int]:
            i, c = ic
            return (self._hard(owner, holders, c), self._crossed(c), i)

        _, best = min(enumerate(candidates), key=cost)
        self.placed.append(best)
        return best

    def _hard(self, owner: str, holders: set[str], c: Box) -> int:
        bad = sum(_overlap(c, b) for k, b in self.sc.solids.items() if k != owner)
        bad += sum(_overlap(c, b) for b in self.placed)
        for k, b in self.sc.containers.items():
            if k == owner:
                continue
            if k in holders:
                bad += not _inside(c, b)
            else:
                bad += _overlap(c, b) and not _inside(c, b)
        return bad

    def _crossed(self, c: Box) -> int:
        inner = Box(c.x + 1, c.y + 1, c.w - 2, c.h - 2)
        return sum(meets(a, b, inner) for a, b in self.segments)


def _overlap(a: Box, b: Box) -> bool:
    return min(a.right, b.right) - max(a.x, b.x) > 1 and min(a.bottom, b.bottom) - max(a.y, b.y) > 1


def _inside(a: Box, b: Box) -> bool:
    return a.x >= b.x and a.y >= b.y and a.right <= b.right and a.bottom <= b.bottom
