"""区创建申报 district_application, second half: the self-assessment and on-site audit stages and the
outcome sent to the cycle (see ``district.build``)."""

from __future__ import annotations

from bpmnkit import Diagram
from district import deadline_handling, notify


def build(d: Diagram, missed_apply: str) -> None:
    # -- stage 2: self-assessment ------------------------------------------------------------
    d.add("exclusiveGateway", "Gw_self_loop", "", "Entry of the self-assessment stage.", "district", 13, 0)
    d.flow("Gw_applied", "Gw_self_loop", "已申报", "Applied.", default=True)
    with d.sub(
        "Stage_self",
        "创建自评",
        "Self-assessment stage: item-by-item self-assessment against the "
        "indicator set, a self-assessment report and the supporting materials, by its deadline.",
        "district",
    ):
        d.add("startEvent", "Start_self", "", "Stage start.", "district", 14, 0)
        d.add(
            "userTask",
            "Task_self",
            "逐项自评并报送材料",
            "Self-assess item by item, write the report, upload the materials.",
            "district",
            15,
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
            16,
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
        d.add("endEvent", "End_self", "已报送", "Submitted.", "district", 17, 0)
        d.chain("Start_self", "Task_self", "Score_self", "End_self")
    d.flow("Gw_self_loop", "Stage_self")
    missed_self = deadline_handling(
        d, "self", "Stage_self", 18, "Gw_self_loop", 2, 18, 'due["audit"]', below=15
    )

    # -- stage 3: on-site audit --------------------------------------------------------------
    d.add("exclusiveGateway", "Gw_audit_loop", "", "Entry of the audit stage.", "city", 18, 4)
    d.flow("Stage_self", "Gw_audit_loop")
    with d.sub(
        "Stage_audit",
        "现场审核",
        "On-site audit stage: municipal staff assign an expert panel or a "
        "third-party body, which verifies on site, hears the district's report and reads the materials, "
        "by the audit deadline.",
        None,
    ):
        d.add("startEvent", "Start_audit", "", "Stage start.", "city", 19, 4)
        d.add(
            "scriptTask",
            "Resume_audit",
            "查看审核进度",
            "Was the audit body assigned before an extension?",
            "city",
            20,
            4,
            script='assigned_before = progress["audit_assigned"]',
        )
        d.add("exclusiveGateway", "Gw_assigned", "已指派？", "Audit body already assigned?", "city", 21, 4)
        d.add(
            "userTask",
            "Task_assign",
            "指派审核专家组或第三方机构",
            "Assign the audit panel or third party.",
            "city",
            22,
            4,
            form="forms/audit_assignment.json",
            instructions="请为该区指派审核专家组或第三方机构，填写机构名称、成员和计划现场审核日期。",
        )
        d.add(
            "scriptTask",
            "Note_assigned",
            "记录已指派",
            "Keep the assignment in the stage progress.",
            "city",
            23,
            4,
            script='progress["audit_assigned"] = True',
        )
        d.data_ref("Ref_progress_audit", "progress", "audit", 21, 0)
        d.reads("Resume_audit", "Ref_progress_audit")
        d.reads("Note_assigned", "Ref_progress_audit")
        d.writes("Note_assigned", "Ref_progress_audit")
        d.add(
            "userTask",
            "Task_audit",
            "现场审核",
            "On-site audit: verify, hear the report, read the "
            "materials; pass or fail with findings and scores.",
            "audit",
            24,
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
            25,
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
        d.add("endEvent", "End_audit", "审核完成", "Audit done.", "audit", 26, 0)
        d.chain("Start_audit", "Resume_audit", "Gw_assigned")
        d.flow("Gw_assigned", "Task_audit", "已指派", "Assigned.", condition="assigned_before")
        d.flow("Gw_assigned", "Task_assign", "", "Assign.", default=True)
        d.chain("Task_assign", "Note_assigned", "Task_audit", "Score_audit", "End_audit")
    d.flow("Gw_audit_loop", "Stage_audit")
    # A missed audit deadline is decided by 市有关部门, who organise the audit (五(三)): the panel
    # neither extends its own deadline nor closes the district's application.
    missed_audit = deadline_handling(
        d,
        "audit",
        "Stage_audit",
        28,
        "Gw_audit_loop",
        3,
        27,
        'due["selection"]',
        row=3,
        extend_row=0,
        via=[(30, "city", 0.5), (17.5, "city", 0.5), (17.5, "city", 4)],
    )
    for name in ("Notify_audit_remind", "End_audit_reminded"):  # the panel's reminder, under its stage
        d.nodes[name].lane, d.nodes[name].row = "audit", 2
    d.add(
        "scriptTask",
        "Audited",
        "形成审核结论",
        "Outcome of the audit: passed or failed, with the scores.",
        "city",
        27,
        4,
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
    d.flow("Stage_audit", "Audited")

    # -- outcome -------------------------------------------------------------------------------
    d.add("exclusiveGateway", "Gw_send", "", "Every outcome is reported.", "city", 31, 4)
    d.add(
        "serviceTask",
        "Notify_result",
        "通知申报结果",
        "Tell the district its outcome (outbox).",
        "city",
        32,
        4,
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
        33,
        4,
        message="district_outcome",
        payload="outcome",
    )
    d.add("endEvent", "End_done", "申报流程结束", "The district's application case ends.", "city", 34, 4)
    for source in ("Declined", missed_apply, missed_self, missed_audit, "Audited"):
        d.flow(source, "Gw_send")
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
