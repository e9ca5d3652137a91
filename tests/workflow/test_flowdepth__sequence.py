"""``workflow.flowdepth`` counts an unbroken sequence the way SpiffWorkflow's parser descends into it:
a loop back ends it, a boundary event is one level below its task, and an embedded subprocess adds
its own sequence at the level it sits at."""

from __future__ import annotations

from typing import Any

from lxml import etree

from workflow.flowdepth import BPMN_NS, longest_sequence

HEAD = f'<definitions xmlns="{BPMN_NS}" id="D"><process id="p" isExecutable="true">'


def process(body: str) -> Any:
    root = etree.fromstring(HEAD + body + "</process></definitions>")
    return root.find(f"{{{BPMN_NS}}}process")


def chain(ids: list[str], prefix: str = "") -> str:
    flows = "".join(f'<sequenceFlow id="{prefix}F{i}" sourceRef="{a}" targetRef="{b}"/>'
                    for i, (a, b) in enumerate(zip(ids, ids[1:], strict=False)))
    nodes = "".join(f'<task id="{i}"/>' for i in ids[1:-1])
    return f'<startEvent id="{ids[0]}"/>{nodes}<endEvent id="{ids[-1]}"/>{flows}'


def test_a_plain_sequence_counts_every_element() -> None:
    ids = ["S", *(f"T{i}" for i in range(10)), "E"]
    assert longest_sequence(process(chain(ids))) == (12, "E")


def test_a_loop_back_ends_the_sequence() -> None:
    body = chain(["S", "A", "B", "E"]) + '<sequenceFlow id="Back" sourceRef="B" targetRef="A"/>'
    assert longest_sequence(process(body)) == (4, "E")


def test_a_boundary_event_is_one_level_below_its_task() -> None:
    body = chain(["S", "A", "E"]) + (
        '<boundaryEvent id="Late" attachedToRef="A"/><task id="X"/><task id="Y"/>'
        '<sequenceFlow id="B1" sourceRef="Late" targetRef="X"/><sequenceFlow id="B2" sourceRef="X" targetRef="Y"/>'
    )
    assert longest_sequence(process(body)) == (5, "Y")  # S, A, Late, X, Y


def test_an_embedded_subprocess_adds_its_own_sequence() -> None:
    inner = chain(["S2", "I1", "I2", "I3", "E2"], prefix="sub")
    body = (f'<startEvent id="S"/><subProcess id="Sub">{inner}</subProcess><endEvent id="E"/>'
            '<sequenceFlow id="F1" sourceRef="S" targetRef="Sub"/><sequenceFlow id="F2" sourceRef="Sub" targetRef="E"/>')
    assert longest_sequence(process(body)) == (7, "E2")  # S, Sub (level 2) + its 5
