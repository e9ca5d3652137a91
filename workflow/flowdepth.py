"""How long a process's unbroken sequences are, measured the way SpiffWorkflow's parser walks them.

SpiffWorkflow's parser reads a process recursively: parsing an element parses the elements its
sequence flows lead to (and its boundary events), each one level deeper, until it meets an element
it already parsed. An unbroken sequence of some 490 elements therefore exhausts Python's recursion
limit (1,000) and fails with ``RecursionError``. ``longest_sequence(process)`` replays that walk
without recursing, in the parser's order (start events, then event subprocesses; an element's
boundary events, then its outgoing flows in document order), and returns the deepest level it
reaches; an embedded subprocess adds its own depth on top of the level it sits at. Deployment
refuses a process over ``MAX_SEQUENCE`` with that limit named, leaving room for the frames the
web server, the CLI and the tests already use.
"""

from __future__ import annotations

from typing import Any

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
MAX_SEQUENCE = 300  # elements one after another in one process, as the parser counts them
_SUBPROCESSES = frozenset(f"{{{BPMN_NS}}}{name}" for name in ("subProcess", "transaction", "adHocSubProcess"))


def _q(name: str) -> str:
    return f"{{{BPMN_NS}}}{name}"


def longest_sequence(process: Any) -> tuple[int, str | None]:
    """The deepest level SpiffWorkflow's parser reaches in ``process`` (an lxml element: a
    ``bpmn:process`` or an embedded subprocess), and the id of the element where it does."""
    by_id = {child.get("id"): child for child in process.iterchildren() if child.get("id")}
    outgoing: dict[str, list[str]] = {}
    boundary: dict[str, list[str]] = {}
    for child in process.iterchildren():
        if child.tag == _q("sequenceFlow"):
            outgoing.setdefault(child.get("sourceRef") or "", []).append(child.get("targetRef") or "")
        elif child.tag == _q("boundaryEvent"):
            boundary.setdefault(child.get("attachedToRef") or "", []).append(child.get("id") or "")
    roots = [c.get("id") for c in process.iterchildren(_q("startEvent"))]
    roots += [c.get("id") for c in process.iterchildren(_q("subProcess")) if c.get("triggeredByEvent") == "true"]
    if process.tag == _q("adHocSubProcess"):  # its parser starts from every element without incoming flows
        targets = {t for ts in outgoing.values() for t in ts}
        roots = [i for i, c in by_id.items() if i not in targets and c.tag != _q("sequenceFlow")]
    seen: set[str] = set()
    deepest, where = 0, None
    for root in roots:
        stack = [(root, 1)]
        while stack:
            element_id, level = stack.pop()
            if element_id in seen or element_id not in by_id:
                continue
            seen.add(element_id)
            element = by_id[element_id]
            total, at = level, element_id
            if element.tag in _SUBPROCESSES:
                inner, inner_where = longest_sequence(element)
                total, at = level + inner, inner_where or element_id
            if total > deepest:
                deepest, where = total, at
            nexts = boundary.get(element_id, []) + outgoing.get(element_id, [])
            stack.extend((n, level + 1) for n in reversed(nexts))  # popped in the parser's order
    return deepest, where
