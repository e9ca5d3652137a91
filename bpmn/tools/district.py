"""区创建申报 district_application: one case per district per cycle, started by the cycle's invitation."""

from __future__ import annotations

from bpmnkit import Diagram

LANES = [
    (
        "district",
        "区有关部门",
        "District departments (区教育局, 区卫生健康委, 区发展改革委): draft the intention, "
        "file the application, run the creation work, self-assess and submit materials.",
    ),
    (
        "leader",
        "区委区政府",
        "District leadership (区委、区政府): study and approve or decline the intention; "
        "the application goes out in the name of the district people's government (区人民政府).",
    ),
    (
        "city",
        "市有关部门",
        "Municipal departments (市教委, 市卫生健康委, 市发展改革委): organise the audit, "
        "decide on missed deadlines and grant recorded extensions.",
    ),
    ("audit", "审核专家组", "Audit panel or third-party body (审核专家组或第三方机构): on-site audit."),
]

STAGES = {
    "apply": ("application", "申报", "application"),
    "self": ("self_assessment", "创建自评", "self-assessment"),
    "audit": ("audit", "现场审核", "on-site audit"),
}


def outcome(result: str, stage: str, reason: str) -> str:
    return (
        'outcome = {"cycle_id": cycle_id, "district": district, "district_name": district_name,\n'
        f'           "result": "{result}", "stage": "{stage}", "reason": {reason},\n'
        '           "self_score": None, "audit_score": None, "places_per_1000": None, "target_met": None}'
    )


def notify(kind: str, roles: str, subject: str, body: str) -> dict[str, object]:
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


def deadline_handling(
    d: Diagram,
    key: str,
    host: str,
    col: float,
    loop_to: str,
    missed_row: int,
    remind_col: float,
    limit: str,
    below: float = 0,
    row: float = 0,
    via: list[tuple[float, str, float]] | None = None,
    extend_row: float | None = None,
) -> str:
    """Reminder before a stage's deadline; at the deadline, municipal staff extend it or close the case."""
    stage, zh, en = STAGES[key]
    d.boundary(
        f"Timer_{key}_remind",
        f"{zh}截止前提醒",
        f"Reminder, reminder_workdays working days before the {en} deadline (non-interrupting).",
        host,
        cancel=False,
        slot=1,
        timer=f'deadline_at(add_workdays(due["{stage}"], -reminder_workdays), "09:00")',
    )
    d.add(
        "serviceTask",
        f"Notify_{key}_remind",
        f"提醒{zh}截止",
        f"Notify the district of the coming {en} deadline (outbox).",
        "city",
        remind_col,
        3,
        **notify(
            "reminder",
            '["区有关部门", "区委区政府", "市有关部门", "审核专家组"]',
            f'f"{{district_name}}{zh}截止提醒"',
            f"f\"{zh}期限为 {{due['{stage}']}}，请按时完成。\"",
        ),
    )
    d.add("endEvent", f"End_{key}_reminded", "已提醒", "Reminder sent.", "city", remind_col + 1, 3)
    d.flow(f"Timer_{key}_remind", f"Notify_{key}_remind")
    d.flow(f"Notify_{key}_remind", f"End_{key}_reminded")
    d.boundary(
        f"Timer_{key}_deadline",
        f"{zh}期限届满",
        f"The {en} deadline passed (interrupting).",
        host,
        slot=0,
        timer=f'deadline_at(due["{stage}"], cutoff_time)',
    )
    task = d.add(
        "userTask",
        f"Task_{key}_overdue",
        f"逾期处理（{zh}）",
        f"Missed {en} deadline: extend it (recorded) or close the case.",
        "city",
        col,
        row,
        form="forms/overdue_decision.json",
        instructions=f"该区未在{zh}期限前完成。请决定：批准延期（填写新的期限和理由；新期限须早于下一阶段期限，"
        "延期记录在案），或以“逾期未完成”结束该区本周期的创建申报。",
    )
    gw = d.add(
        "exclusiveGateway", f"Gw_{key}_overdue", "是否延期？", "Extend the deadline?", "city", col + 1, row
    )
    d.add(
        "serviceTask",
        f"Extend_{key}",
        f"登记延期（{zh}）",
        f"Record the extension of the {en} deadline (checked against the next deadline).",
        "city",
        col + 2,
        row if extend_row is None else extend_row,
        op="grant_extension",
        result="due",
        params={
            "due": "due",
            "stage": f'"{stage}"',
            "new_deadline": "new_deadline",
            "limit": limit,
            "reason": "overdue_reason",
        },
    )
    d.add(
        "scriptTask",
        f"Missed_{key}",
        f"记录逾期（{zh}）",
        f"Outcome: missed the {en} deadline.",
        "city",
        col + 2,
        missed_row,
        script=outcome("missed_deadline", stage, f'"逾期未完成{zh}：" + overdue_reason'),
    )
    d.flow(f"Timer_{key}_deadline", task)
    d.flow(task, gw)
    d.flow(gw, f"Extend_{key}", "延期", "Extend.", condition='overdue_action == "extend"')
    d.flow(gw, f"Missed_{key}", "结束", "Close the case.", default=True)
    d.flow(
        f"Extend_{key}",
        loop_to,
        "",
        "Back into the stage with the new deadline.",
        below=below,
        via=list(via) if via else None,
    )
    return f"Missed_{key}"


def build() -> Diagram:
    d = Diagram(
        "district_application",
        "区创建申报",
        "District application: one case per district and cycle, started by the cycle's invitation. "
        "Application (by the application deadline), self-assessment (by its deadline) and on-site "
        "audit (by its deadline); the outcome goes back to the cycle.",
        LANES,
    )
    d.message("district_invited", {"cycle_id": "cycle_id", "district": "district"})
    d.message("district_outcome", {"cycle_id": "cycle_id", "district": "district"})
    d.pool(
        "Pool_cycle",
        "创建周期",
        "The creation cycle (creation_cycle) that invites this district and collects its outcome.",
    )

    d.add(
        "startEvent",
        "Start_invited",
        "收到创建邀请",
        "The cycle invites this district (message district_invited).",
        "district",
        0,
        0,
        message="district_invited",
        var="invitation",
    )
    d.add(
        "scriptTask",
        "Init",
        "登记邀请",
        "登记邀请：期限、截止时刻（周期未给出时为17:00）、评估指标和区的数据。Copy the invitation: deadlines, "
        "cut-off time, indicator set, district data.",
        "district",
        1,
        0,
        script="\n".join(
            [
                'district_name = invitation["district_name"]',
                'cycle_name = invitation["cycle_name"]',
                'profile = invitation["profile"]',
                'indicators = invitation["indicators"]',
                'due = dict(invitation["deadlines"])',
                'reminder_workdays = invitation["reminder_workdays"]',
                'cutoff_time = invitation.get("cutoff_time", "17:00")',
                'leadership_decision = ""',
                'progress = {"intention_approved": False, "audit_assigned": False}',
            ]
        ),
    )
    d.data_object("progress", "阶段进度")
    d.data_ref("Ref_progress", "progress", "district", 1, 1)
    d.writes("Init", "Ref_progress")
    d.add(
        "exclusiveGateway",
        "Gw_apply_loop",
        "",
        "Entry of the application stage (also after an extension).",
        "district",
        2,
        0,
    )
    d.chain("Start_invited", "Init", "Gw_apply_loop")

    # -- stage 1: application ----------------------------------------------------------------
    with d.sub(
        "Stage_apply",
        "申报阶段",
        "Application stage: the intention is drafted, approved by the district "
        "leadership and filed in the name of the district people's government, by the application "
        "deadline.",
        None,
    ):
        d.add("startEvent", "Start_apply", "", "Stage start.", "district", 3, 0)
        d.add(
            "scriptTask",
            "Resume_apply",
            "查看申报进度",
            "Where the stage stands (it is re-entered after an "
            "extension; what was done before is kept in the progress data object).",
            "district",
            4,
            0,
            script='approved_before = progress["intention_approved"]',
        )
        d.data_ref("Ref_progress_apply", "progress", "district", 4, 1)
        d.reads("Resume_apply", "Ref_progress_apply")
        d.add(
            "exclusiveGateway",
            "Gw_approved",
            "已获同意？",
            "Already approved before the extension?",
            "district",
            5,
            0,
        )
        d.add(
            "userTask",
            "Task_intention",
            "拟定创建意向",
            "Draft the intention to apply.",
            "district",
            6,
            0,
            form="forms/intention.json",
            instructions="请区有关部门（区教育局、区卫生健康委、区发展改革委）拟定创建意向：说明创建目标、牵头部门和工作安排，"
            "并上传相关材料。提交后报区委、区政府研究。",
        )
        d.add(
            "userTask",
            "Task_leadership",
            "研究创建意向",
            "District leadership study the intention and approve or decline.",
            "leader",
            7,
            0,
            form="forms/leadership_decision.json",
            instructions="请区委、区政府研究区有关部门报送的创建意向，作出同意申报或不申报的决定，并填写研究意见。",
        )
        d.add("exclusiveGateway", "Gw_leadership", "是否同意申报？", "Approved?", "leader", 8, 0)
        d.add(
            "scriptTask",
            "Note_approved",
            "记录同意申报",
            "Keep the approval in the stage progress.",
            "leader",
            9,
            0,
            script='progress["intention_approved"] = True',
        )
        d.data_ref("Ref_progress_approved", "progress", "leader", 10, 1)
        d.reads("Note_approved", "Ref_progress_approved")
        d.writes("Note_approved", "Ref_progress_approved")
        d.add(
            "userTask",
            "Task_file",
            "以区人民政府名义提出申请",
            "File the application in the name of the district people's government, with the district's "
            "creation plan (targets, evaluation content, incentives).",
            "district",
            10,
            0,
            form="forms/application.json",
            instructions="请以区人民政府名义提出创建申请：填写申请文号、日期，上传盖章的申请文件，并附本区具体创建方案"
            "（明确目标任务、细化评估内容、建立激励机制）。须在申报期限前提交。",
        )
        d.add("endEvent", "End_filed", "已提出申请", "Application filed.", "district", 11, 0)
        d.add("endEvent", "End_declined", "决定不申报", "The leadership declined.", "leader", 9, 1)
        d.chain("Start_apply", "Resume_apply", "Gw_approved")
        d.flow(
            "Gw_approved",
            "Task_file",
            "已同意",
            "Already approved: file.",
            via=[(5, "district", -0.45), (10, "district", -0.45)],
            condition="approved_before",
        )
        d.flow("Gw_approved", "Task_intention", "", "Draft the intention.", default=True)
        d.chain("Task_intention", "Task_leadership", "Gw_leadership")
        d.flow(
            "Gw_leadership", "Note_approved", "同意", "Approve.", condition='leadership_decision == "approve"'
        )
        d.flow("Note_approved", "Task_file")
        d.flow("Gw_leadership", "End_declined", "不申报", "Decline.", default=True)
        d.flow("Task_file", "End_filed")
    d.flow("Gw_apply_loop", "Stage_apply")
    missed_apply = deadline_handling(
        d, "apply", "Stage_apply", 12, "Gw_apply_loop", 1, 12, 'due["self_assessment"]'
    )
    d.add("exclusiveGateway", "Gw_applied", "是否申报？", "Did the district apply?", "district", 12, 0)
    d.add(
        "scriptTask",
        "Declined",
        "记录不申报",
        "Outcome: the district declined.",
        "district",
        13,
        1,
        script=outcome("declined", "application", 'f"区委区政府决定不申报：{leadership_opinion}"'),
    )
    d.flow("Stage_apply", "Gw_applied")
    d.flow("Gw_applied", "Declined", "不申报", "Declined.", condition='leadership_decision == "decline"')

    import district_stages  # stages 2 and 3 and the outcome (they use the helpers above)

    district_stages.build(d, missed_apply)
    return d
