"""Generated benchmark diagrams: a sequence of N user tasks in one lane."""

from __future__ import annotations


def sequential_user_tasks(n: int, process_id: str | None = None) -> str:
    pid = process_id or f"bench_seq_{n}"
    nodes = ['<bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>F0</bpmn:outgoing></bpmn:startEvent>']
    flows = []
    refs = ["StartEvent_1"]
    for i in range(1, n + 1):
        nodes.append(f'<bpmn:userTask id="T{i}" name="任务{i}"><bpmn:incoming>F{i - 1}</bpmn:incoming>'
                     f'<bpmn:outgoing>F{i}</bpmn:outgoing></bpmn:userTask>')
        refs.append(f"T{i}")
    nodes.append(f'<bpmn:endEvent id="EndEvent_1"><bpmn:incoming>F{n}</bpmn:incoming></bpmn:endEvent>')
    refs.append("EndEvent_1")
    for i in range(0, n + 1):
        src = "StartEvent_1" if i == 0 else f"T{i}"
        dst = f"T{i + 1}" if i < n else "EndEvent_1"
        flows.append(f'<bpmn:sequenceFlow id="F{i}" sourceRef="{src}" targetRef="{dst}" />')
    lane = "".join(f"<bpmn:flowNodeRef>{r}</bpmn:flowNodeRef>" for r in refs)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        f'id="Definitions_{pid}" targetNamespace="http://bpmn.io/schema/bpmn">'
        f'<bpmn:process id="{pid}" name="基准{n}" isExecutable="true">'
        f'<bpmn:laneSet id="LaneSet_1"><bpmn:lane id="Lane_1" name="bench">{lane}</bpmn:lane></bpmn:laneSet>'
        + "".join(nodes) + "".join(flows) + "</bpmn:process></bpmn:definitions>"
    )


def parallel_user_tasks(n: int, process_id: str | None = None) -> str:
    """One user task run as N parallel instances (a multi-instance task of cardinality N)."""
    pid = process_id or f"bench_par_{n}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        f'id="Definitions_{pid}" targetNamespace="http://bpmn.io/schema/bpmn">'
        f'<bpmn:process id="{pid}" name="并行基准{n}" isExecutable="true">'
        '<bpmn:laneSet id="LaneSet_1"><bpmn:lane id="Lane_1" name="bench">'
        "<bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef><bpmn:flowNodeRef>T</bpmn:flowNodeRef>"
        "<bpmn:flowNodeRef>EndEvent_1</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>"
        '<bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>F0</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:userTask id="T" name="并行任务"><bpmn:incoming>F0</bpmn:incoming><bpmn:outgoing>F1</bpmn:outgoing>'
        '<bpmn:multiInstanceLoopCharacteristics isSequential="false">'
        f"<bpmn:loopCardinality>{n}</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>"
        "</bpmn:userTask>"
        '<bpmn:endEvent id="EndEvent_1"><bpmn:incoming>F1</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="F0" sourceRef="StartEvent_1" targetRef="T" />'
        '<bpmn:sequenceFlow id="F1" sourceRef="T" targetRef="EndEvent_1" />'
        "</bpmn:process></bpmn:definitions>"
    )
