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
