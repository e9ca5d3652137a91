"""区创建申报 district_application, second half: the self-assessment and on-site audit stages and the
outcome sent to the cycle (see ``district.build``)."""

from __future__ import annotations

from bpmnkit import Diagram
from district import missed_handling, notify, stage_phase, stage_window


def build(d: Diagram) -> None:
    # -- stage 2: self-assessment ------------------------------------------------------------
    with stage_phase(d, "self", "district", 17):
        with stage_window(d, "self", "district", 17, 0):
            with d.sub(
                "Stage_self",
                "创建自评",
                "Self-assessment stage: item-by-item self-assessment against the "
                "indicator set, a self-assessment report and the supporting materials, by its deadline.",
                "district",
            ):
                d.add("startEvent", "Start_self", "", "Stage start.", "district", 19, 0)
                d.add(
                    "userTask",
                    "Task_self",
                    "逐项自评并报送材料",
                    "Self-assess item by item, write the report, upload the materials.",
                    "district",
                    20,
                    0,
                    form="forms/self_assessment.json",
                    instructions="请对照本周期《评估指标》逐项开展自评，为每个指标项打分，填写现有托位数，上传自评报告和围绕创建内容"
                    "（完善支持政策、扩大服务供给、推动创新融合、完善监管服务）的相关资料。须在自评期限前报送。",
                )
                d.add(
                    "serviceTask",
                    "Score_self",
                    "计算自评得分",
                    "Score the self-assessment (four areas, places per 1,000 residents).",
                    "district",
                    21,
                    0,
                    op="score_indicators",
                    result="self_result",
                    params={
                        "indicators": "indicators",
                        "item_scores": "self_scores",
                        "population": 'profile["population"]',
                        "childcare_places": "current_places",
                    },
                )
                d.add("endEvent", "End_self", "已报送", "Submitted.", "district", 22, 0)
                d.chain("Start_self", "Task_self", "Score_self", "End_self")
        missed_handling(d, "self", 25, 0)
    d.flow("Gw_applied", "Phase_self", "已申报", "Applied.", default=True)
    d.add("exclusiveGateway", "Gw_self_done", "期限内自评？", "Was the self-assessment done in time?", "district", 28, 0)
    d.flow("Phase_self", "Gw_self_done")

    # -- stage 3: on-site audit --------------------------------------------------------------
    # A missed audit deadline goes to 市有关部门, who organise the audit (五(三)): the panel
    # neither extends its own deadline nor closes the district's application.
    with stage_phase(d, "audit", "city", 29):
        with stage_window(d, "audit", "city", 29, 0, watch_lane="district", watch_row=0):
            with d.sub(
                "Stage_audit",
                "现场审核",
                "On-site audit stage: municipal staff assign an expert panel or a "
                "third-party body, which verifies on site, hears the district's report and reads the materials, "
                "by the audit deadline.",
                None,
            ):
                d.add("startEvent", "Start_audit", "", "Stage start.", "city", 31, 0)
                d.add(
                    "userTask",
                    "Task_assign",
                    "指派审核专家组或第三方机构",
                    "Assign the audit panel or third party.",
                    "city",
                    32,
                    0,
                    form="forms/audit_assignment.json",
                    instructions="请为该区指派审核专家组或第三方机构，填写机构名称、成员和计划现场审核日期。",
                )
                d.add(
                    "userTask",
                    "Task_audit",
                    "现场审核",
                    "On-site audit: verify, hear the report, read the "
                    "materials; pass or fail with findings and scores.",
                    "audit",
                    33,
                    0,
                    form="forms/onsite_audit.json",
                    instructions="请通过现场核实、听取汇报、查阅资料等方式，对照评估指标逐项审核该区自评结果及婴幼儿照护服务开展现状，"
                    "核实托位数，给出审核结论（通过／不通过）、发现的问题和逐项得分，上传审核报告。",
                )
                d.add(
                    "serviceTask",
                    "Score_audit",
                    "计算审核得分",
                    "Score the audit.",
                    "audit",
                    34,
                    0,
                    op="score_indicators",
                    result="audit_score",
                    params={
                        "indicators": "indicators",
                        "item_scores": "audit_scores",
                        "population": 'profile["population"]',
                        "childcare_places": "verified_places",
                    },
                )
                d.add("endEvent", "End_audit", "审核完成", "Audit done.", "audit", 35, 0)
                d.chain("Start_audit", "Task_assign", "Task_audit", "Score_audit", "End_audit")
        d.add(
            "scriptTask",
            "Audited",
            "形成审核结论",
            "Outcome of the audit: passed or failed, with the scores.",
            "city",
            39,
            0,
            script="\n".join(
                [
                    'outcome = {"cycle_id": cycle_id, "district": district, "district_name": district_name,',
                    '           "result": "passed" if audit_conclusion == "pass" else "failed", "stage": "audit",',
                    '           "reason": audit_findings, "self_score": self_result["total"],',
                    '           "audit_score": audit_score["total"], "places_per_1000": audit_score["places_per_1000"],',
                    '           "target_met": audit_score["target_met"]}',
                ]
            ),
        )

        missed_handling(d, "audit", 38, 0, "Audited")
        d.add("endEvent", "End_audit_concluded", "形成结论", "The audit's outcome is set.", "city", 40, 0, edge=True)
        d.flow("Audited", "End_audit_concluded")

    # -- outcome -------------------------------------------------------------------------------
    d.add("exclusiveGateway", "Gw_send", "", "Every outcome is reported.", "city", 41, 0)
    d.add(
        "serviceTask",
        "Notify_result",
        "通知申报结果",
        "Tell the district its outcome (outbox).",
        "city",
        42,
        0,
        **notify(
            "result",
            '["区有关部门", "区委区政府"]',
            'f"{district_name}创建申报结果"',
            "f\"{cycle_name}：{outcome['result']}。{outcome['reason']}\"",
        ),
    )
    d.add(
        "intermediateThrowEvent",
        "Throw_outcome",
        "报送申报结果",
        "Send the outcome to the cycle (message district_outcome).",
        "city",
        43,
        0,
        message="district_outcome",
        payload="outcome",
    )
    d.add("endEvent", "End_done", "申报流程结束", "The district's application case ends.", "city", 44, 0)
    d.flow("Gw_applied", "Gw_send", "逾期", "The application deadline passed.", condition='missed_stage == "application"')
    d.flow("Declined", "Gw_send")
    d.flow("Gw_self_done", "Gw_send", "逾期", "The self-assessment deadline passed.",
           condition='missed_stage == "self_assessment"')
    d.flow("Gw_self_done", "Phase_audit", "按期", "Done in time.", default=True)
    d.flow("Phase_audit", "Gw_send")
    d.chain("Gw_send", "Notify_result", "Throw_outcome", "End_done")
    d.message_flow(
        "MsgFlow_invited",
        "创建邀请",
        "Pool_cycle",
        "Start_invited",
        "The cycle's invitation (message district_invited).",
    )
    d.message_flow(
        "MsgFlow_outcome",
        "申报结果",
        "Throw_outcome",
        "Pool_cycle",
        "The outcome to the cycle (message district_outcome).",
    )
