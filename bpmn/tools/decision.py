"""The DMN decision ``revocation_decision`` (列明处理依据): the ground of a verified case → the clause
of the notice and the basis the approver decides on. It proposes no outcome.

第六条 lists three situations and says only that they are handled "参照《全国婴幼儿照护服务示范城市创建活动管理办法》";
it gives no severity scale, no rectification period and no automatic result. So every rule states
its clause and the same recommendation — the approver decides, with reasons — and the two values a
rule gives (the reminder lead before the rectification deadline the approver sets, and the time of
day that deadline ends) are marked as local settings (本地设定).
Every ground has exactly one rule, so the table always answers.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

DMN = "https://www.omg.org/spec/DMN/20191111/MODEL/"
DMNDI = "https://www.omg.org/spec/DMN/20191111/DMNDI/"
DC = "http://www.omg.org/spec/DMN/20180521/DC/"

GROUNDS = {  # ground -> clause, the notice's words, English
    "safety_accident": ("六(一)", "发生重大安全责任事故", "a major safety liability accident"),
    "backsliding": ("六(二)", "措施不力，工作退步", "ineffective measures, backsliding"),
    "fraud": ("六(二)", "存在弄虚作假等情形", "fraud"),
    "low_satisfaction": (
        "六(三)",
        "托育机构、婴幼儿家庭对政策环境和服务管理满意度不高",
        "low satisfaction of institutions and families",
    ),
}
RECOMMENDATION = (
    "经核实属实，参照《全国婴幼儿照护服务示范城市创建活动管理办法》进行处理：由市级审批决定限期整改、撤销称号或不予撤销，"
    "并说明理由。通知未规定严重程度、整改期限或处理结果。"
)
REMINDER_WORKDAYS = 5  # 本地设定: the notice gives no rectification period, hence no reminder either
RECTIFY_CUTOFF = "17:00"  # 本地设定: the time of day the rectification deadline the approver sets ends


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
        name="撤销称号处理依据",
        namespace="http://shanyu/dmn",
        exporter="shanyu bpmn/tools",
        exporterVersion="1",
    )
    decision = etree.SubElement(root, q(DMN, "decision"), id="revocation_decision", name="列明处理依据")
    etree.SubElement(decision, q(DMN, "description")).text = (
        "第六条：事由 → 通知条款与处理依据。只列明依据，不提出处理结果；处理决定由市级审批作出。"
        "States the clause and basis of a verified case's ground; proposes no outcome (the approver decides)."
    )
    table = etree.SubElement(
        decision, q(DMN, "decisionTable"), id="Table_revocation_decision", hitPolicy="UNIQUE"
    )
    inp = etree.SubElement(table, q(DMN, "input"), id="Input_ground", label="事由 ground")
    text(inp, "inputExpression", 'basis["ground"]', id="InputExpression_ground", typeRef="string")
    for name, label, kind in (
        ("clause", "通知条款 clause", "string"),
        ("decision_basis", "依据 basis", "string"),
        ("recommendation", "建议 recommendation (no outcome)", "string"),
        ("reminder_workdays", "整改截止前提醒（工作日，本地设定）reminder lead, local setting", "number"),
        ("rectify_cutoff", "整改期限截止时刻（本地设定）cut-off time of the deadline, local setting", "string"),
    ):
        etree.SubElement(table, q(DMN, "output"), id=f"Output_{name}", label=label, name=name, typeRef=kind)
    for ground, (clause, zh, en) in GROUNDS.items():
        rule = etree.SubElement(table, q(DMN, "rule"), id=f"Rule_{ground}")
        etree.SubElement(rule, q(DMN, "description")).text = (
            f"{clause}（依据通知）：{zh}。提醒工作日数和截止时刻为本地设定。{clause} of the notice: {en}; "
            "the reminder lead and the cut-off time are local settings."
        )
        text(rule, "inputEntry", f'"{ground}"', id=f"In_{ground}_ground")
        basis = f"第{clause}：经核实{zh}"
        for name, value in (
            ("clause", f'"{clause}"'),
            ("decision_basis", f'"{basis}"'),
            ("recommendation", f'"{RECOMMENDATION}"'),
            ("reminder_workdays", str(REMINDER_WORKDAYS)),
            ("rectify_cutoff", f'"{RECTIFY_CUTOFF}"'),
        ):
            text(rule, "outputEntry", value, id=f"Out_{ground}_{name}")
    di = etree.SubElement(root, q(DMNDI, "DMNDI"))
    diagram = etree.SubElement(di, q(DMNDI, "DMNDiagram"), id="DMNDiagram_revocation_decision")
    shape = etree.SubElement(
        diagram, q(DMNDI, "DMNShape"), id="DMNShape_revocation_decision", dmnElementRef="revocation_decision"
    )
    etree.SubElement(shape, q(DC, "Bounds"), height="80", width="180", x="160", y="100")
    etree.indent(root, space="  ")
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
