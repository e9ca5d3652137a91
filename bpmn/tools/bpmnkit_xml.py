"""The semantic half of ``bpmnkit``'s writer: definitions, collaboration, messages and correlation,
the process with its lanes, nodes, flows and data objects; then the DI (``bpmnkit_di``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bpmnkit import BPMN, NSMAP, SPIFF, XSI, Diagram, Node, q
from clauses import mark
from lxml import etree


def write(d: Diagram, path: Path) -> None:
    root = etree.Element(
        q(BPMN, "definitions"),
        nsmap=NSMAP,
        id=f"Definitions_{d.pid}",
        targetNamespace="http://bpmn.io/schema/bpmn",
        exporter="shanyu bpmn/tools",
        exporterVersion="1",
    )
    collab = etree.SubElement(root, q(BPMN, "collaboration"), id=f"Collaboration_{d.pid}")
    part = etree.SubElement(
        collab, q(BPMN, "participant"), id=f"Participant_{d.pid}", name=d.name, processRef=d.pid
    )
    _doc(part, d.doc)
    for pool_id, name, doc, _where in d.pools:
        _doc(etree.SubElement(collab, q(BPMN, "participant"), id=pool_id, name=name), doc)
    for flow_id, name, source, target, doc in d.message_flows:
        mf = etree.SubElement(
            collab, q(BPMN, "messageFlow"), id=flow_id, name=name, sourceRef=source, targetRef=target
        )
        _doc(mf, doc)
    for key, props in sorted(d.keys.items()):
        ck = etree.SubElement(collab, q(BPMN, "correlationKey"), name=key)
        for prop in props:
            etree.SubElement(ck, q(BPMN, "correlationPropertyRef")).text = prop
    for name, mid in d.messages.items():
        etree.SubElement(root, q(BPMN, "message"), id=mid, name=name)
    for name, sid in d.signals.items():
        etree.SubElement(root, q(BPMN, "signal"), id=sid, name=name)
    for prop, exprs in sorted(d.properties.items()):
        cp = etree.SubElement(root, q(BPMN, "correlationProperty"), id=prop, name=prop)
        for message, expression in exprs.items():
            rx = etree.SubElement(
                cp, q(BPMN, "correlationPropertyRetrievalExpression"), messageRef=d.messages[message]
            )
            etree.SubElement(rx, q(BPMN, "formalExpression")).text = expression
    proc = etree.SubElement(root, q(BPMN, "process"), id=d.pid, name=d.name, isExecutable="true")
    _doc(proc, d.doc)
    lane_set = etree.SubElement(proc, q(BPMN, "laneSet"), id=f"LaneSet_{d.pid}")
    for key, name, doc in d.lanes:
        lane = etree.SubElement(lane_set, q(BPMN, "lane"), id=f"Lane_{key}", name=name)
        _doc(lane, doc)
        for node in d.nodes.values():
            if node.lane == key and not node.spec.get("no_lane"):
                etree.SubElement(lane, q(BPMN, "flowNodeRef")).text = node.id
    _write_scope(d, proc, None)
    for obj_id, name in d.data_objects.items():
        _doc(etree.SubElement(proc, q(BPMN, "dataObject"), id=obj_id, name=name), f"Data object {obj_id}.")
    from bpmnkit_di import write_di  # the DI half lives in its own module

    write_di(d, root)
    etree.indent(root, space="  ")
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _write_scope(d: Diagram, parent_el: Any, scope: str | None) -> None:
    for node in [n for n in d.nodes.values() if n.parent == scope and n.kind != "dataObjectReference"]:
        _write_node(d, parent_el, node)
    for flow in d.flows:
        if d.nodes[flow.source].parent == scope:
            attrs = {"id": flow.id, "sourceRef": flow.source, "targetRef": flow.target}
            if flow.name:
                attrs["name"] = flow.name
            el = etree.SubElement(parent_el, q(BPMN, "sequenceFlow"), **attrs)
            if flow.doc:
                _doc(el, flow.doc)
            if flow.condition:
                cond = etree.SubElement(el, q(BPMN, "conditionExpression"))
                cond.set(q(XSI, "type"), "bpmn:tFormalExpression")
                cond.text = flow.condition
    for node in [n for n in d.nodes.values() if n.parent == scope and n.kind == "dataObjectReference"]:
        ref = etree.SubElement(
            parent_el,
            q(BPMN, "dataObjectReference"),
            id=node.id,
            name=node.name,
            dataObjectRef=node.spec["obj"],
        )
        _doc(ref, node.doc)


def _write_node(d: Diagram, parent_el: Any, node: Node) -> None:
    spec = node.spec
    attrs = {"id": node.id, "name": node.name} if node.name else {"id": node.id}
    if node.kind == "boundaryEvent":
        attrs.update(attachedToRef=spec["host"], cancelActivity="true" if spec["cancel"] else "false")
    if node.kind == "receiveTask":
        attrs["messageRef"] = d.messages[spec["message"]]
    if "default" in spec:
        attrs["default"] = spec["default"]
    el = etree.SubElement(parent_el, q(BPMN, node.kind), **attrs)
    role = ""
    if node.kind == "userTask" and d.plane_of(node.id) is not None:  # its plane draws no lanes
        role = f"办理：{next(name for key, name, _doc in d.lanes if key == node.lane)}（泳道）。"
    _doc(el, mark(d.pid, node.id) + role + node.doc)
    ext = _extensions(node)
    if ext is not None:
        el.append(ext)
    for fid in node.incoming:
        etree.SubElement(el, q(BPMN, "incoming")).text = fid
    for fid in node.outgoing:
        etree.SubElement(el, q(BPMN, "outgoing")).text = fid
    assoc = [(k, o) for k, n, o in d.associations if n == node.id]
    if any(k == "in" for k, _o in assoc):
        etree.SubElement(el, q(BPMN, "property"), id=f"Property_{node.id}", name="__targetRef_placeholder")
    for kind, obj in assoc:
        tag = "dataInputAssociation" if kind == "in" else "dataOutputAssociation"
        da = etree.SubElement(el, q(BPMN, tag), id=f"{tag[:-11]}_{node.id}_{obj}")
        if kind == "in":
            etree.SubElement(da, q(BPMN, "sourceRef")).text = obj
            etree.SubElement(da, q(BPMN, "targetRef")).text = f"Property_{node.id}"
        else:
            etree.SubElement(da, q(BPMN, "targetRef")).text = obj
    if "multi" in spec:
        mi = etree.SubElement(el, q(BPMN, "multiInstanceLoopCharacteristics"))
        collection, item, output, out_item = spec["multi"]
        etree.SubElement(mi, q(BPMN, "loopDataInputRef")).text = collection
        if output:
            etree.SubElement(mi, q(BPMN, "loopDataOutputRef")).text = output
        etree.SubElement(mi, q(BPMN, "inputDataItem"), id=item, name=item)
        if out_item:
            etree.SubElement(mi, q(BPMN, "outputDataItem"), id=out_item, name=out_item)
    if node.kind == "scriptTask":
        etree.SubElement(el, q(BPMN, "script")).text = spec["script"]
    if node.kind == "subProcess":
        _write_scope(d, el, node.id)
    _event_definition(el, node, d)


def _doc(el: Any, text: str) -> None:
    d = etree.Element(q(BPMN, "documentation"))
    d.text = text
    el.insert(0, d)


def _extensions(node: Node) -> Any:
    spec = node.spec
    ext = etree.Element(q(BPMN, "extensionElements"))
    if node.kind == "userTask":
        etree.SubElement(ext, q(SPIFF, "instructionsForEndUser")).text = spec["instructions"]
        props = etree.SubElement(ext, q(SPIFF, "properties"))
        etree.SubElement(props, q(SPIFF, "property"), name="form", value=spec["form"])
    elif node.kind == "serviceTask":
        op = etree.SubElement(
            ext, q(SPIFF, "serviceTaskOperator"), id=spec["op"], resultVariable=spec["result"]
        )
        params = etree.SubElement(op, q(SPIFF, "parameters"))
        for pid, value in spec["params"].items():
            etree.SubElement(params, q(SPIFF, "parameter"), id=pid, type="any", value=value)
    elif node.kind == "businessRuleTask":
        etree.SubElement(ext, q(SPIFF, "calledDecisionId")).text = spec["decision"]
    elif node.kind == "receiveTask":
        etree.SubElement(ext, q(SPIFF, "messageVariable")).text = spec["var"]
    elif node.kind == "startEvent" and spec.get("form"):
        props = etree.SubElement(ext, q(SPIFF, "properties"))
        etree.SubElement(props, q(SPIFF, "property"), name="form", value=spec["form"])
    elif spec.get("deadline"):  # a timer that is the deadline of the tasks beside it (workflow.projections)
        props = etree.SubElement(ext, q(SPIFF, "properties"))
        etree.SubElement(props, q(SPIFF, "property"), name="deadline", value="true")
    else:
        return None
    return ext


def _event_definition(el: Any, node: Node, d: Diagram) -> None:
    spec, messages = node.spec, d.messages
    if spec.get("terminate"):
        etree.SubElement(el, q(BPMN, "terminateEventDefinition"), id=f"TerminateED_{node.id}")
    elif "signal" in spec:
        etree.SubElement(el, q(BPMN, "signalEventDefinition"), id=f"SED_{node.id}", signalRef=d.signals[spec["signal"]])
    elif "message" in spec and node.kind != "receiveTask":
        med = etree.SubElement(
            el, q(BPMN, "messageEventDefinition"), id=f"MED_{node.id}", messageRef=messages[spec["message"]]
        )
        ext = etree.SubElement(med, q(BPMN, "extensionElements"))
        if "payload" in spec:
            etree.SubElement(ext, q(SPIFF, "messagePayload")).text = spec["payload"]
        if "var" in spec:
            etree.SubElement(ext, q(SPIFF, "messageVariable")).text = spec["var"]
    elif "timer" in spec:
        ted = etree.SubElement(el, q(BPMN, "timerEventDefinition"), id=f"TED_{node.id}")
        td = etree.SubElement(ted, q(BPMN, "timeDate"))
        td.set(q(XSI, "type"), "bpmn:tFormalExpression")
        td.text = spec["timer"]
