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
        "Municipal approver: confirms (or changes, with reasons) the proposed decision.",
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
        "Revocation: started by a report of a major safety accident, a monitoring or annual-review "
        "finding (ineffective measures, backsliding), a fraud finding, or a satisfaction survey below "
        "the threshold. Verification first; the decision table proposes dismiss / rectify within a "
        "deadline / revoke, a municipal approver confirms; rectification is re-checked; the title "
        "register is updated and the district told. A revoked title stays in the register.",
        LANES,
    )
    d.message("revocation_requested", {"district": "district"})
    d.message("title_revoked", {"title_id": "title_id"})
    d.pool(
        "Pool_sources",
        "线索来源（举报、动态监测、年度审核）",
        "Where cases come from: reports, monitoring, "
        "the annual review in title management, satisfaction surveys.",
        cols=(0, 4),
    )
    d.pool(
        "Pool_titles",
        "示范区管理",
        "Title management of the district (ends when the title is revoked).",
        "bottom",
        cols=(18, 21),
    )

    d.add(
        "startEvent",
        "Start_request",
        "收到核实线索",
        "A report or finding about a named district (message revocation_requested).",
        "city",
        0,
        0,
        message="revocation_requested",
        var="request",
    )
    d.add(
        "serviceTask",
        "Check_request",
        "核对线索",
        "The ground (one of the notice's three situations) and the source.",
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
        "Verify (核实) the report or finding before any decision.",
        "city",
        4,
        0,
        form="forms/verification.json",
        instructions="请对线索进行核实：是否发生重大安全责任事故，是否存在措施不力、工作退步、弄虚作假，托育机构和婴幼儿家庭"
        "对政策环境和服务管理满意度是否不高。填写核实结论、严重程度和核实情况，上传核实材料。",
    )
    d.add("exclusiveGateway", "Gw_verified", "情况是否属实？", "Confirmed?", "city", 5, 0)
    d.add(
        "businessRuleTask",
        "Decide",
        "判定处理方式",
        "Decision table revocation_decision: ground × severity → "
        "dismiss / rectify within a deadline / revoke.",
        "city",
        6,
        0,
        decision="revocation_decision",
    )
    d.add(
        "userTask",
        "Task_confirm",
        "审定处理决定",
        "Confirm the proposed decision, or decide otherwise with reasons.",
        "approver",
        7,
        0,
        form="forms/decision_confirmation.json",
        instructions="请审定处理决定。系统依据核实情况（事由与严重程度）提出了建议处理方式及依据；如作出不同决定，请在审定意见中"
        "说明理由。决定限期整改的，整改期限自决定日期起按工作日计算。",
    )
    d.add("exclusiveGateway", "Gw_decision", "处理决定", "The decision.", "approver", 8, 0)
    d.chain("Start_request", "Check_request", "Title", "Gw_title")
    d.flow("Gw_title", "Task_verify", "持有", "Holds the title.", condition='title["status"] != "none"')
    d.flow("Gw_title", "End_no_title", "未持有", "No title.", default=True)
    d.chain("Task_verify", "Gw_verified")
    d.flow("Gw_verified", "Decide", "属实", "Confirmed.", condition='verification_result == "confirmed"')
    d.chain("Decide", "Task_confirm", "Gw_decision")

    # -- dismiss ---------------------------------------------------------------------------------
    d.add("exclusiveGateway", "Gw_dismiss", "", "Not acted on.", "city", 10, 2)
    d.add(
        "serviceTask",
        "Notify_dismissed",
        "通知核实结果",
        "Tell the district: no action (outbox).",
        "city",
        11,
        2,
        **notify("decision", "f\"{title['district_name']}核实处理结果\"", 'f"经核实，不予撤销称号。"'),
    )
    d.add("endEvent", "End_dismissed", "不予撤销", "No action on the title.", "city", 12, 2)
    d.flow("Gw_verified", "Gw_dismiss", "不属实", "Unfounded.", default=True)
    d.flow("Gw_decision", "Gw_dismiss", "不予处理", "Dismiss.", default=True)
    d.chain("Gw_dismiss", "Notify_dismissed", "End_dismissed")

    # -- rectify ---------------------------------------------------------------------------------
    d.add(
        "scriptTask",
        "Plan_rectify",
        "确定整改期限",
        "Rectification deadline: rectify_workdays working days from the decision.",
        "district",
        9,
        0,
        script="rectify_due = add_workdays(decided_on, rectify_workdays)\nrectify_round = 1",
    )
    d.add(
        "serviceTask",
        "Reg_rectify",
        "登记限期整改",
        "Register: the title is under rectification.",
        "district",
        10,
        0,
        **register(
            "rectify",
            "f\"{basis['ground_name']}：限期整改至 {rectify_due}\"",
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
        11,
        0,
        **notify(
            "decision",
            "f\"{title['district_name']}限期整改通知\"",
            "f\"事由：{basis['ground_name']}。请于 {rectify_due} 前完成整改并报送整改报告。\"",
        ),
    )
    d.add("exclusiveGateway", "Gw_rect", "", "Rectify (again after an extension).", "district", 12, 0)
    d.add(
        "userTask",
        "Task_rectify",
        "整改并报送整改报告",
        "Rectify and report by the deadline.",
        "district",
        13,
        0,
        form="forms/rectification_report.json",
        instructions="请按照处理决定限期整改，并在整改期限前报送整改情况和整改报告。逾期未报送的，将撤销称号。",
    )
    d.add(
        "userTask",
        "Task_recheck",
        "整改复查",
        "Re-check the rectification.",
        "city",
        14,
        0,
        form="forms/rectification_recheck.json",
        instructions="请对整改情况进行复查：整改合格的恢复称号状态；不合格的撤销称号；需继续整改的，设定新的整改期限。",
    )
    d.add("exclusiveGateway", "Gw_recheck", "复查结论", "Re-check result.", "city", 15, 0)
    d.add(
        "serviceTask",
        "Reg_restore",
        "恢复称号状态",
        "Register: rectified, the title is kept.",
        "city",
        16,
        0,
        **register("restore", 'f"整改合格：{recheck_findings}"', "rechecked_on", '""'),
    )
    d.add(
        "serviceTask",
        "Notify_kept",
        "通知整改合格",
        "Tell the district (outbox).",
        "city",
        17,
        0,
        **notify(
            "decision",
            "f\"{title['district_name']}整改复查结果\"",
            '"整改合格，保留“上海市婴幼儿照护服务示范区”称号。"',
        ),
    )
    d.add("endEvent", "End_kept", "整改合格，保留称号", "Rectified: the title is kept.", "city", 18, 0)
    d.add(
        "scriptTask",
        "Extend_rect",
        "继续整改",
        "Further rectification with a new deadline.",
        "city",
        16,
        1,
        script="rectify_due = new_rectify_due\nrectify_round = rectify_round + 1",
    )
    d.add(
        "scriptTask",
        "Failed_rect",
        "整改不合格",
        "The rectification failed.",
        "approver",
        16,
        2,
        script='revoke_on = rechecked_on\nrevoke_reason = f"整改不合格：{recheck_findings}"',
    )
    d.flow("Gw_decision", "Plan_rectify", "限期整改", "Rectify.", condition='final_decision == "rectify"')
    d.chain(
        "Plan_rectify",
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
        14,
        1,
        **notify(
            "reminder",
            "f\"{title['district_name']}整改期限提醒\"",
            'f"整改期限为 {rectify_due}。"',
            '["区有关部门"]',
        ),
    )
    d.add("endEvent", "End_rect_reminded", "已提醒", "Reminder sent.", "district", 15, 1)
    d.chain("Timer_rect_remind", "Notify_rect_remind", "End_rect_reminded")
    d.boundary(
        "Timer_rect_due",
        "整改期限届满",
        "The rectification deadline passed (interrupting).",
        "Task_rectify",
        slot=0,
        timer='deadline_at(rectify_due, "17:00")',
    )
    d.add(
        "scriptTask",
        "Overdue_rect",
        "逾期未整改",
        "No rectification report by the deadline.",
        "district",
        14,
        2,
        script='revoke_on = rectify_due\nrevoke_reason = f"逾期未报送整改报告（整改期限 {rectify_due}）"',
    )
    d.flow("Timer_rect_due", "Overdue_rect")

    # -- revoke ----------------------------------------------------------------------------------
    d.add(
        "scriptTask",
        "Revoke_direct",
        "撤销决定",
        "The approver decided to revoke.",
        "approver",
        9,
        0,
        script="revoke_on = decided_on\nrevoke_reason = f\"{basis['ground_name']}：{verification_findings}\"",
    )
    d.add("exclusiveGateway", "Gw_revoke", "", "Revoke.", "approver", 17, 1)
    d.add(
        "serviceTask",
        "Reg_revoke",
        "撤销称号",
        "Register: the title is revoked (it stays in the register, with its history).",
        "approver",
        18,
        1,
        **register("revoke", "revoke_reason", "revoke_on", "decision_document_no"),
    )
    d.add(
        "intermediateThrowEvent",
        "Throw_revoked",
        "通知示范区管理",
        "End the title management (message title_revoked).",
        "approver",
        19,
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
        20,
        1,
        **notify("decision", "f\"{title['district_name']}称号撤销决定\"", 'f"撤销理由：{revoke_reason}。"'),
    )
    d.add("endEvent", "End_revoked", "称号已撤销", "The title is revoked.", "approver", 21, 1)
    d.flow("Gw_decision", "Revoke_direct", "撤销称号", "Revoke.", condition='final_decision == "revoke"')
    for source in ("Revoke_direct", "Failed_rect", "Overdue_rect"):
        d.flow(source, "Gw_revoke")
    d.chain("Gw_revoke", "Reg_revoke", "Throw_revoked", "Notify_revoked", "End_revoked")
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
