"""The DMN decision ``revocation_decision`` (判定处理方式): ground × severity → dismiss / rectify / revoke.

Every combination of the four grounds and three severities has exactly one rule, so the table always
answers. Each rule also gives the rectification period and the reminder lead, in working days, used
if the approver decides on rectification (whatever the proposal was).
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

DMN = "https://www.omg.org/spec/DMN/20191111/MODEL/"
DMNDI = "https://www.omg.org/spec/DMN/20191111/DMNDI/"
DC = "http://www.omg.org/spec/DMN/20180521/DC/"

GROUNDS = {
    "safety_accident": ("发生重大安全责任事故", "a major safety liability accident"),
    "backsliding": ("措施不力、工作退步", "ineffective measures, backsliding"),
    "fraud": ("存在弄虚作假情形", "fraud"),
    "low_satisfaction": ("托育机构、婴幼儿家庭满意度不高", "low satisfaction of institutions and families"),
}
SEVERITIES = {"minor": "一般", "serious": "较重", "major": "严重"}
# (ground, severity) -> decision, rectification working days, reminder working days
RULES = {
    ("safety_accident", "minor"): ("dismiss", 60, 10),
    ("safety_accident", "serious"): ("rectify", 60, 10),
    ("safety_accident", "major"): ("revoke", 60, 10),
    ("backsliding", "minor"): ("rectify", 40, 10),
    ("backsliding", "serious"): ("rectify", 60, 10),
    ("backsliding", "major"): ("revoke", 60, 10),
    ("fraud", "minor"): ("rectify", 40, 10),
    ("fraud", "serious"): ("revoke", 60, 10),
    ("fraud", "major"): ("revoke", 60, 10),
    ("low_satisfaction", "minor"): ("dismiss", 60, 10),
    ("low_satisfaction", "serious"): ("rectify", 60, 10),
    ("low_satisfaction", "major"): ("rectify", 90, 15),
}
DECISIONS = {"dismiss": "不予处理", "rectify": "限期整改", "revoke": "撤销称号"}


def q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def text(parent: etree._Element, tag: str, value: str, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, q(DMN, tag), **attrs)
    etree.SubElement(el, q(DMN, "text")).text = value
    return el


def write(path: Path) -> None:
    root = etree.Element(
        q(DMN, "definitions"),
        nsmap={None: DMN, "dmndi": DMNDI, "dc": DC},
        id="Definitions_revocation_decision",
        name="撤销称号处理方式",
        namespace="http://shanyu/dmn",
        exporter="shanyu bpmn/tools",
        exporterVersion="1",
    )
    decision = etree.SubElement(root, q(DMN, "decision"), id="revocation_decision", name="判定处理方式")
    etree.SubElement(decision, q(DMN, "description")).text = (
        "Proposes how a verified case is dealt with under the national management measures: dismiss, "
        "rectify within a deadline, or revoke the title, by ground and severity. The approver confirms."
    )
    table = etree.SubElement(
        decision, q(DMN, "decisionTable"), id="Table_revocation_decision", hitPolicy="UNIQUE"
    )
    for name, expression, label in (
        ("ground", 'basis["ground"]', "事由 ground"),
        ("severity", "severity", "严重程度 severity"),
    ):
        inp = etree.SubElement(table, q(DMN, "input"), id=f"Input_{name}", label=label)
        text(inp, "inputExpression", expression, id=f"InputExpression_{name}", typeRef="string")
    for name, label, kind in (
        ("decision", "建议处理方式 decision", "string"),
        ("rectify_workdays", "整改期限（工作日）rectification working days", "number"),
        ("reminder_workdays", "提前提醒（工作日）reminder working days", "number"),
        ("decision_basis", "依据 basis", "string"),
    ):
        etree.SubElement(table, q(DMN, "output"), id=f"Output_{name}", label=label, name=name, typeRef=kind)
    for (ground, severity), (result, days, remind) in RULES.items():
        zh, en = GROUNDS[ground]
        rule = etree.SubElement(table, q(DMN, "rule"), id=f"Rule_{ground}_{severity}")
        etree.SubElement(rule, q(DMN, "description")).text = f"{en}, {severity}: {result}"
        text(rule, "inputEntry", f'"{ground}"', id=f"In_{ground}_{severity}_ground")
        text(rule, "inputEntry", f'"{severity}"', id=f"In_{ground}_{severity}_severity")
        basis = f"{zh}（{SEVERITIES[severity]}）：{DECISIONS[result]}"
        for name, value in (
            ("decision", f'"{result}"'),
            ("rectify_workdays", str(days)),
            ("reminder_workdays", str(remind)),
            ("decision_basis", f'"{basis}"'),
        ):
            text(rule, "outputEntry", value, id=f"Out_{ground}_{severity}_{name}")
    di = etree.SubElement(root, q(DMNDI, "DMNDI"))
    diagram = etree.SubElement(di, q(DMNDI, "DMNDiagram"), id="DMNDiagram_revocation_decision")
    shape = etree.SubElement(
        diagram, q(DMNDI, "DMNShape"), id="DMNShape_revocation_decision", dmnElementRef="revocation_decision"
    )
    etree.SubElement(shape, q(DC, "Bounds"), height="80", width="180", x="160", y="100")
    etree.indent(root, space="  ")
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
