"""撤销称号 revocation: one case per report, monitoring or annual-review finding about a named district."""

from __future__ import annotations

from bpmnkit import Diagram

LANES = [
    (
        "city",
        "市有关部门",
        "Municipal departments: verify (核实) the report or finding, re-check the rectification.",
    ),
    (
        "approver",
        "市级审批",
        "Municipal approver (市有关部门审核批准): decides every verified case — rectification, revocation of "
        "the title or closing without action — with its own document number and reasons.",
    ),
    (
        "district",
        "区有关部门",
        "District departments of the district concerned: rectify within the deadline.",
    ),
]


def notify(
    kind: str, subject: str, body: str, roles: str = '["区有关部门", "区委区政府"]'
) -> dict[str, object]:
    return {
        "op": "notify",
        "result": "notified",
        "params": {
            "kind": f'"{kind}"',
            "roles": roles,
            "districts": "[district]",
            "subject": subject,
            "body": body,
        },
    }


def register(action: str, reason: str, decided_on: str, document: str) -> dict[str, object]:
    return {
        "op": "update_title_register",
        "result": "register_change",
        "params": {
            "title_id": 'title["title_id"]',
            "action": f'"{action}"',
            "reason": reason,
            "decided_on": decided_on,
            "document": document,
        },
    }


def build() -> Diagram:
    d = Diagram(
        "revocation",
        "撤销称号",
        "第六条：经核实有发生重大安全责任事故，措施不力、工作退步、存在弄虚作假，或满意度不高情形之一的，参照"
        "《全国婴幼儿照护服务示范城市创建活动管理办法》进行处理。通知未规定严重程度、整改期限或自动结果：核实在先，"
        "每一个处理决定（限期整改、撤销称号、不予撤销）都由市级审批作出并有其文号和理由；整改逾期或复查不合格时提请"
        "市级审批再次决定，系统从不自行撤销。Revocation (第六条): a report or finding about a named "
        "district is verified first; every decision is a person's (市级审批), with its own document number "
        "and reasons; a passed rectification deadline or a failed re-check goes back to that decision. "
        "A revoked title stays in the register.",
        LANES,
    )
    d.message("revocation_requested", {"district": "district"})
    d.message("title_revoked", {"title_id": "title_id"})
    d.pool(
        "Pool_sources",
        "线索来源（举报、动态监测、督查指导、年度审核）",
        "Where cases come from: reports, monitoring, supervision, "
        "the annual review in title management, satisfaction surveys.",
        cols=(0, 4),
    )
    d.pool(
        "Pool_titles",
        "示范区管理",
        "Title management of the district (ends when the title is revoked).",
        "bottom",
        cols=(14, 16),
    )

    # -- verification (city) -------------------------------------------------------------------
    d.add(
        "startEvent",
        "Start_request",
        "收到核实线索",
        "第六条。A report or finding about a named district (message revocation_requested).",
        "city",
        0,
        0,
        message="revocation_requested",
        var="request",
    )
    with d.sub(
        "Verify",
        "核实",
        "核对线索、查询称号并核实情况；属实的列明处理依据并提请市级审批。结束时由其后的网关按称号和核实结论决定是否提请"
        "决定（title、verification_result 在子流程内设定并带出）。Check the request and the title, verify; a "
        "confirmed case is prepared for the approver.",
        "city",
        collapsed=True,
    ):
        d.add("startEvent", "Start_verify", "", "核实开始。Verification starts.", "city", 0, 0, edge=True)
        d.add(
            "serviceTask",
            "Check_request",
            "核对线索",
            "第六条(一)至(三)：事由须为通知所列情形之一。The ground (one of the notice's situations) and the source.",
            "city",
            1,
            0,
            op="check_revocation_request",
            result="basis",
            params={"ground": 'request["ground"]', "source": 'request.get("source", "report")'},
        )
        d.add(
            "serviceTask",
            "Title",
            "查询称号",
            "The district's current Shanghai demonstration district title.",
            "city",
            2,
            0,
            op="title_status",
            result="title",
            params={"district": "district"},
        )
        d.add(
            "exclusiveGateway", "Gw_title", "持有示范区称号？", "Does the district hold the title?", "city", 3, 0
        )
        d.add("endEvent", "End_no_title", "无有效称号，不予处理", "No title to act on.", "city", 4, 1)
        d.add(
            "userTask",
            "Task_verify",
            "核实情况",
            "第六条“经核实”：任何处理决定之前先核实。Verify the report or finding before any decision.",
            "city",
            4,
            0,
            form="forms/verification.json",
            instructions="请对线索进行核实：是否发生重大安全责任事故，是否存在措施不力、工作退步、弄虚作假，托育机构和婴幼儿家庭"
            "对政策环境和服务管理满意度是否不高。填写核实结论和核实情况，上传核实材料。核实属实的，由市级审批作出处理决定。",
        )
        d.add("exclusiveGateway", "Gw_verified", "情况是否属实？", "Confirmed?", "city", 5, 0)
        d.add(
            "businessRuleTask",
            "Decide",
            "列明处理依据",
            "决策表 revocation_decision 只列明事由对应的通知条款和依据，不提出处理结果。The decision table "
            "states the clause and basis of the ground; it proposes no outcome.",
            "city",
            6,
            0,
            decision="revocation_decision",
        )
        d.add(
            "scriptTask",
            "Prepare",
            "提请市级审批",
            "The case goes to the approver with the verification.",
            "city",
            7,
            0,
            script='rectify_round = 0\ndecision_context = f"经核实属实：{verification_findings}"',
        )
        d.add(
            "serviceTask",
            "Notify_dismissed",
            "通知核实结果",
            "Tell the district: the report was not confirmed (outbox).",
            "city",
            6,
            1,
            **notify("decision", "f\"{title['district_name']}核实处理结果\"", '"经核实，反映情况不属实。"'),
        )
        d.add("endEvent", "End_dismissed", "情况不属实", "The report was not confirmed.", "city", 7, 1)
        d.chain("Start_verify", "Check_request", "Title", "Gw_title")
        d.flow("Gw_title", "Task_verify", "持有", "Holds the title.", condition='title["status"] != "none"')
        d.flow("Gw_title", "End_no_title", "未持有", "No title.", default=True)
        d.chain("Task_verify", "Gw_verified")
        d.flow("Gw_verified", "Decide", "属实", "Confirmed.", condition='verification_result == "confirmed"')
        d.flow("Gw_verified", "Notify_dismissed", "不属实", "Unfounded.", default=True)
        d.chain("Notify_dismissed", "End_dismissed")
        d.add("endEvent", "End_verify_referred", "提请决定", "Confirmed: the approver decides.", "city", 8, 0, edge=True)
        d.chain("Decide", "Prepare", "End_verify_referred")
    d.add(
        "exclusiveGateway", "Gw_referred", "提请决定？", "Does the verified case go to the approver?", "city", 8, 0
    )
    d.add("endEvent", "End_verified", "核实后办结", "No title to act on, or the report was not confirmed.", "city", 9, 0)
    d.chain("Start_request", "Verify", "Gw_referred")
    d.flow("Gw_referred", "End_verified", "办结", "No title, or unfounded.", default=True)

    # -- the decision (approver) -----------------------------------------------------------------
    d.add(
        "exclusiveGateway",
        "Gw_decide",
        "",
        "A decision is due (again after rectification).",
        "approver",
        9,
        0,
    )
    d.add(
        "userTask",
        "Task_confirm",
        "作出处理决定",
        "第六条：参照《全国婴幼儿照护服务示范城市创建活动管理办法》进行处理，由市级审批决定。The approver "
        "decides: rectification by a deadline, revocation of the title, or closing without action.",
        "approver",
        10,
        0,
        form="forms/decision_confirmation.json",
        instructions="请依据核实情况（或整改逾期、复查不合格情况，见“提请决定的情况”）和通知第六条，参照《全国婴幼儿照护服务"
        "示范城市创建活动管理办法》作出处理决定：限期整改（填写整改期限）、撤销称号，或不予撤销。每一决定须填写本决定的"
        "文号、日期和理由。系统列明事由和依据，不提出处理结果。",
    )
    d.add("exclusiveGateway", "Gw_decision", "处理决定", "The decision.", "approver", 11, 0)
    d.chain("Gw_decide", "Task_confirm", "Gw_decision")
    d.flow(
        "Gw_referred",
        "Gw_decide",
        "属实",
        "Confirmed: the approver decides.",
        condition='title["status"] != "none" and verification_result == "confirmed"',
    )

    # -- no action (approver) --------------------------------------------------------------------
    d.add(
        "exclusiveGateway", "Gw_close", "正在整改？", "Is the title under rectification?", "approver", 11, 2
    )
    d.add(
        "serviceTask",
        "Reg_close",
        "登记不予撤销",
        "Register: the rectification ends, the title is kept (the approver's decision).",
        "approver",
        13,
        3,
        **register("restore", 'f"不予撤销：{decision_reasons}"', "decided_on", "decision_document_no"),
    )
    d.add("exclusiveGateway", "Gw_closed", "", "Closed.", "approver", 14, 2)
    d.add(
        "serviceTask",
        "Notify_closed",
        "通知不予撤销",
        "Tell the district: no action on the title (outbox).",
        "approver",
        15,
        2,
        **notify(
            "decision",
            "f\"{title['district_name']}核实处理结果\"",
            'f"经审定，不予撤销称号（{decision_document_no}）：{decision_reasons}"',
        ),
    )
    d.add("endEvent", "End_closed", "不予撤销", "Closed without action on the title.", "approver", 16, 2)
    d.flow("Gw_decision", "Gw_close", "不予撤销", "No action.", condition='final_decision == "no_action"')
    d.flow("Gw_close", "Reg_close", "整改中", "Under rectification.", condition="rectify_round > 0")
    d.flow("Gw_close", "Gw_closed", "", "Not under rectification.", default=True)
    d.chain("Reg_close", "Gw_closed", "Notify_closed", "End_closed")

    # -- rectify (district, re-checked by the city) ------------------------------------------------
    with d.sub(
        "Rectify",
        "整改",
        "限期整改一轮：登记并通知整改期限，区有关部门整改并报送整改报告（可继续整改），市有关部门复查。复查合格的恢复称号"
        "状态；复查不合格或逾期未报送的设 rectify_outcome = \"decide\"，由其后的网关提请市级审批再次决定。One "
        "rectification round: the deadline, the district's report, the city's re-check; a failed re-check or a "
        "passed deadline goes back to the approver.",
        "district",
        collapsed=True,
    ):
        d.add("startEvent", "Start_rectify", "", "整改开始。The rectification round starts.", "district", 11, 0,
              edge=True)
        d.add(
            "scriptTask",
            "Plan_rectify",
            "限期整改",
            "One more rectification round.",
            "district",
            12,
            0,
            script='rectify_round = rectify_round + 1\nrectify_outcome = ""',
        )
        d.add(
            "serviceTask",
            "Check_due",
            "核对整改期限",
            "The rectification deadline the approver set (整改期限由市级审批确定，通知未规定): after today and the "
            "decision date.",
            "district",
            13,
            0,
            op="check_rectify_due",
            result="rectify_due",
            params={"due": "rectify_due", "decided_on": "decided_on"},
        )
        d.add(
            "serviceTask",
            "Reg_rectify",
            "登记限期整改",
            "Register: the title is under rectification (this decision's document number).",
            "district",
            14,
            0,
            **register(
                "rectify",
                "f\"{basis['ground_name']}：限期整改至 {rectify_due}。{decision_reasons}\"",
                "decided_on",
                "decision_document_no",
            ),
        )
        d.add(
            "serviceTask",
            "Notify_rectify",
            "通知限期整改",
            "Tell the district the deadline (outbox).",
            "district",
            15,
            0,
            **notify(
                "decision",
                "f\"{title['district_name']}限期整改通知\"",
                "f\"事由：{basis['ground_name']}。请于 {rectify_due} 前完成整改并报送整改报告"
                '（{decision_document_no}）。"',
            ),
        )
        d.add("exclusiveGateway", "Gw_rect", "", "Rectify (again after an extension).", "district", 16, 0)
        d.add(
            "userTask",
            "Task_rectify",
            "整改并报送整改报告",
            "Rectify and report by the deadline.",
            "district",
            17,
            0,
            form="forms/rectification_report.json",
            instructions="请按照处理决定限期整改，并在整改期限前报送整改情况和整改报告。逾期未报送的，提请市级审批作出处理决定。",
        )
        d.add(
            "userTask",
            "Task_recheck",
            "整改复查",
            "Re-check the rectification.",
            "city",
            18,
            0,
            form="forms/rectification_recheck.json",
            instructions="请对整改情况进行复查：整改合格的恢复称号状态；需继续整改的，设定新的整改期限；不合格的，提请市级审批作出"
            "处理决定（复查不撤销称号）。",
        )
        d.add("exclusiveGateway", "Gw_recheck", "复查结论", "Re-check result.", "city", 19, 0)
        d.add(
            "serviceTask",
            "Reg_restore",
            "恢复称号状态",
            "Register: rectified, the title is kept.",
            "city",
            20,
            0,
            **register("restore", 'f"整改合格：{recheck_findings}"', "rechecked_on", '""'),
        )
        d.add(
            "serviceTask",
            "Notify_kept",
            "通知整改合格",
            "Tell the district (outbox).",
            "city",
            21,
            0,
            **notify(
                "decision",
                "f\"{title['district_name']}整改复查结果\"",
                '"整改合格，保留“上海市婴幼儿照护服务示范区”称号。"',
            ),
        )
        d.add("endEvent", "End_kept", "整改合格，保留称号", "Rectified: the title is kept.", "city", 22, 0)
        d.add(
            "scriptTask",
            "Extend_rect",
            "继续整改",
            "Further rectification with a new deadline.",
            "city",
            20,
            1,
            script="rectify_due = new_rectify_due\nrectify_round = rectify_round + 1",
        )
        d.add(
            "scriptTask",
            "Failed_rect",
            "复查不合格，提请决定",
            "The re-check failed: the approver decides again (the re-check never revokes).",
            "city",
            20,
            2,
            script='decision_context = f"整改复查不合格：{recheck_findings}"\nrectify_outcome = "decide"',
        )
        d.chain(
            "Plan_rectify",
            "Check_due",
            "Reg_rectify",
            "Notify_rectify",
            "Gw_rect",
            "Task_rectify",
            "Task_recheck",
            "Gw_recheck",
        )
        d.flow("Gw_recheck", "Reg_restore", "合格", "Rectified.", condition='recheck_result == "passed"')
        d.flow(
            "Gw_recheck",
            "Extend_rect",
            "继续整改",
            "Further rectification.",
            condition='recheck_result == "extend"',
        )
        d.flow("Gw_recheck", "Failed_rect", "不合格", "Failed.", default=True)
        d.chain("Reg_restore", "Notify_kept", "End_kept")
        d.flow("Extend_rect", "Gw_rect", "", "Rectify again.", below=20)
        d.add("endEvent", "End_rect_failed", "提请决定", "The re-check failed: back to the approver.", "city", 21, 2,
              edge=True)
        d.flow("Failed_rect", "End_rect_failed")
        d.boundary(
            "Timer_rect_remind",
            "整改截止前提醒",
            "Reminder before the rectification deadline (non-interrupting).",
            "Task_rectify",
            cancel=False,
            slot=1,
            timer='deadline_at(add_workdays(rectify_due, -reminder_workdays), "09:00")',
        )
        d.add(
            "serviceTask",
            "Notify_rect_remind",
            "提醒整改截止",
            "Remind the district (outbox).",
            "district",
            18,
            1,
            **notify(
                "reminder",
                "f\"{title['district_name']}整改期限提醒\"",
                'f"整改期限为 {rectify_due}。"',
                '["区有关部门"]',
            ),
        )
        d.add("endEvent", "End_rect_reminded", "已提醒", "Reminder sent.", "district", 19, 1)
        d.chain("Timer_rect_remind", "Notify_rect_remind", "End_rect_reminded")
        d.boundary(
            "Timer_rect_due",
            "整改期限届满",
            "整改期限当日的截止时刻（rectify_cutoff，本地设定，默认17:00）已过：提请市级审批决定，系统不自行撤销。"
            "The rectification deadline passed (interrupting, at the cut-off time, a local setting): the approver "
            "decides; nothing is revoked by time.",
            "Task_rectify",
            slot=0,
            timer="deadline_at(rectify_due, rectify_cutoff)",
        )
        d.add(
            "scriptTask",
            "Overdue_rect",
            "逾期未整改，提请决定",
            "No rectification report by the deadline: the approver decides.",
            "district",
            18,
            2,
            script='decision_context = f"逾期未报送整改报告（整改期限 {rectify_due}）"\nrectify_outcome = "decide"',
        )
        d.flow("Timer_rect_due", "Overdue_rect")
        d.add("endEvent", "End_rect_overdue", "提请决定", "The deadline passed: back to the approver.", "district", 19,
              2, edge=True)
        d.flow("Overdue_rect", "End_rect_overdue")
        d.flow("Start_rectify", "Plan_rectify")
    d.add(
        "exclusiveGateway", "Gw_rectified", "整改结果", "Rectified, or back to the approver?", "district", 13, 0
    )
    d.add("endEvent", "End_rectified", "整改合格", "Rectified: the title is kept.", "district", 14, 0)
    d.flow("Gw_decision", "Rectify", "限期整改", "Rectify.", condition='final_decision == "rectify"')
    d.flow("Rectify", "Gw_rectified")
    d.flow("Gw_rectified", "Gw_decide", "提请决定", "Back to the approver.", condition='rectify_outcome == "decide"',
           below=30)
    d.flow("Gw_rectified", "End_rectified", "合格", "Rectified.", default=True)

    # -- revoke (approver) -----------------------------------------------------------------------
    d.add(
        "scriptTask",
        "Revoke_direct",
        "撤销决定",
        "The approver decided to revoke: the reason and date of this decision.",
        "approver",
        12,
        1,
        script="revoke_on = decided_on\nrevoke_reason = f\"{basis['ground_name']}：{decision_reasons}\"",
    )
    d.add(
        "serviceTask",
        "Reg_revoke",
        "撤销称号",
        "Register: the title is revoked under this decision's document number (it stays in the register, "
        "with its history).",
        "approver",
        13,
        1,
        **register("revoke", "revoke_reason", "revoke_on", "decision_document_no"),
    )
    d.add(
        "intermediateThrowEvent",
        "Throw_revoked",
        "通知示范区管理",
        "End the title management (message title_revoked).",
        "approver",
        14,
        1,
        message="title_revoked",
        payload='{"title_id": title["title_id"], "district": district, "reason": revoke_reason, '
        '"revoked_on": revoke_on}',
    )
    d.add(
        "serviceTask",
        "Notify_revoked",
        "通知撤销决定",
        "Tell the district (outbox).",
        "approver",
        15,
        1,
        **notify(
            "decision",
            "f\"{title['district_name']}称号撤销决定\"",
            'f"撤销理由：{revoke_reason}（{decision_document_no}）。"',
        ),
    )
    d.add("endEvent", "End_revoked", "称号已撤销", "The title is revoked.", "approver", 16, 1)
    d.flow("Gw_decision", "Revoke_direct", "撤销称号", "Revoke.", condition='final_decision == "revoke"')
    d.chain("Revoke_direct", "Reg_revoke", "Throw_revoked", "Notify_revoked", "End_revoked")
    d.message_flow(
        "MsgFlow_request",
        "核实线索",
        "Pool_sources",
        "Start_request",
        "A report or finding to verify (message revocation_requested).",
    )
    d.message_flow(
        "MsgFlow_revoked",
        "称号已撤销",
        "Throw_revoked",
        "Pool_titles",
        "The title was revoked (message title_revoked).",
    )
    return d
