"""区创建申报 district_application: one case per district per cycle, started by the cycle's invitation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
        "Municipal departments (市教委, 市卫生健康委, 市发展改革委): organise the audit and "
        "record the close of an application whose deadline passed.",
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


@contextmanager
def stage_window(
    d: Diagram, key: str, lane: str, col: float, row: float, watch_lane: str = "city", watch_row: float = 1
) -> Iterator[None]:
    """A stage and its deadline, side by side in one subprocess (``Window_<key>``): the stage
    (``Stage_<key>``, built by the caller inside the ``with``) runs beside a watcher that reminds the
    district before the deadline, follows a cycle-wide change of the deadlines (message
    deadlines_changed, sent by the cycle's 调整各区期限) and ends the window when the deadline passes
    (``missed_stage`` set). Whichever branch ends first ends the other (terminate end events), so a
    moved deadline never interrupts the work in the stage. The watcher's two deadline timers are
    marked ``deadline``: they give the stage's tasks their due date."""
    stage, zh, en = STAGES[key]
    with d.sub(
        f"Window_{key}",
        f"{zh}（期限内）",
        f"{zh}阶段及其期限：阶段工作与期限监视并行，先结束的一方结束另一方。The {en} stage beside its deadline "
        "watch; whichever ends first ends the other.",
        None,
        collapsed=True,
    ):
        d.add("startEvent", f"Start_{key}_window", "", "Stage and deadline start together.", lane, col, row)
        d.add("parallelGateway", f"Fork_{key}", "", "Stage and deadline watch in parallel.", lane, col + 1, row)
        d.flow(f"Start_{key}_window", f"Fork_{key}")
        yield
        last = max(n.col for n in d.nodes.values() if n.parent == f"Stage_{key}")
        d.add(
            "endEvent", f"End_{key}_done", "阶段完成", f"The {en} stage is done in time.", lane, last + 1, row,
            terminate=True,
        )
        d.flow(f"Fork_{key}", f"Stage_{key}")
        d.flow(f"Stage_{key}", f"End_{key}_done")
        c = col + 1
        d.add("exclusiveGateway", f"Gw_{key}_watch", "", f"Watch the {en} deadline (again after a change).",
              watch_lane, c, watch_row)
        d.add("receiveTask", f"Wait_{key}", f"等待{zh}期限",
              f"Wait for a cycle-wide change of the deadlines (message deadlines_changed) until the {en} deadline.",
              watch_lane, c + 1, watch_row, message="deadlines_changed", var="deadline_change")
        d.boundary(f"Timer_{key}_remind", f"{zh}截止前提醒",
                   f"reminder_workdays working days before the {en} deadline, 09:00 (non-interrupting).",
                   f"Wait_{key}", cancel=False, slot=1,
                   timer=f'deadline_at(add_workdays(due["{stage}"], -reminder_workdays), "09:00")')
        d.add(
            "serviceTask", f"Notify_{key}_remind", f"提醒{zh}截止",
            f"Notify the district of the coming {en} deadline (outbox).", watch_lane, c + 2, watch_row + 1,
            **notify(
                "reminder",
                '["区有关部门", "区委区政府", "市有关部门", "审核专家组"]',
                f'f"{{district_name}}{zh}截止提醒"',
                f"f\"{zh}期限为 {{due['{stage}']}}，请按时完成。\"",
            ),
        )
        d.add("endEvent", f"End_{key}_reminded", "已提醒", "Reminder sent.", watch_lane, c + 3, watch_row + 1)
        d.boundary(f"Timer_{key}_deadline", f"{zh}期限届满", f"The {en} deadline, at the cycle's cut-off time of its day (interrupting).",
                   f"Wait_{key}", slot=0, timer=f'deadline_at(due["{stage}"], cutoff_time)', deadline=True)
        d.add("scriptTask", f"Note_{key}_missed", f"记录{zh}期限届满", f"The {en} deadline passed.",
              watch_lane, c + 2, watch_row + 2, script=f'missed_stage = "{stage}"')
        d.add("endEvent", f"End_{key}_missed", "期限届满", f"Ends the {en} stage.", watch_lane, c + 3, watch_row + 2,
              terminate=True)
        d.add("scriptTask", f"Apply_{key}_change", "采用新的期限",
              "The cycle's new deadlines replace the district's.", watch_lane, c + 2, watch_row,
              script='due = dict(deadline_change["deadlines"])')
        d.flow(f"Fork_{key}", f"Gw_{key}_watch")
        d.chain(f"Gw_{key}_watch", f"Wait_{key}", f"Apply_{key}_change")
        d.flow(f"Apply_{key}_change", f"Gw_{key}_watch", "", "Watch the new deadline.", below=20)
        d.chain(f"Timer_{key}_remind", f"Notify_{key}_remind", f"End_{key}_reminded")
        d.chain(f"Timer_{key}_deadline", f"Note_{key}_missed", f"End_{key}_missed")


@contextmanager
def stage_phase(d: Diagram, key: str, lane: str, col: float, row: float = 0) -> Iterator[None]:
    """A stage with its deadline and what follows a missed deadline, in one collapsed subprocess
    (``Phase_<key>``, drawn on its own plane): the caller builds the stage's window
    (``stage_window``) inside the ``with``, starting at column ``col``. The phase ends at
    ``End_<key>_in_time`` or, after 逾期处理, at ``End_<key>_overdue`` with the outcome set; the
    gateway after the phase tells the two apart by ``missed_stage``."""
    _stage, zh, en = STAGES[key]
    with d.sub(
        f"Phase_{key}",
        f"{zh}及逾期处理",
        f"{zh}阶段（期限内）及期限届满后的逾期处理；missed_stage 和逾期时的申报结果在子流程内设定并带出，阶段后据此转去"
        f"报送结果。The {en} stage within its deadline, and the close of the application by 市有关部门 when the "
        "deadline passed (missed_stage and the outcome are set inside and read after the phase).",
        None,
        collapsed=True,
    ):
        d.add("startEvent", f"Start_{key}_phase", "", f"{zh}阶段开始。The {en} phase starts.", lane, col - 1, row,
              edge=True)
        yield
        d.flow(f"Start_{key}_phase", f"Window_{key}")


def missed_handling(d: Diagram, key: str, col: float, row: float, next_node: str | None = None) -> None:
    """After the window, inside the phase: a passed deadline goes to 市有关部门, who record the case's
    close (ending at ``End_<key>_overdue``); a stage done in time goes on to ``next_node`` or, without
    one, ends the phase at ``End_<key>_in_time``."""
    stage, zh, en = STAGES[key]
    d.add("exclusiveGateway", f"Gw_{key}_missed", "期限内完成？", f"Was the {en} stage done in time?", "city",
          col, row)
    d.add(
        "userTask",
        f"Task_{key}_overdue",
        f"逾期处理（{zh}）",
        f"Missed {en} deadline: 市有关部门 record the close of the district's application.",
        "city",
        col + 1,
        row + 1,
        form="forms/missed_deadline.json",
        instructions=f"该区未在{zh}期限前完成，本周期的创建申报以“逾期未完成”结束。请填写情况说明。期限只能在届满前"
        "由“调整各区期限”决定对所有区统一调整，不对单个区事后延期（本地做法，通知未规定延期）。",
    )
    d.add(
        "scriptTask",
        f"Missed_{key}",
        f"记录逾期（{zh}）",
        f"Outcome: missed the {en} deadline.",
        "city",
        col + 2,
        row + 1,
        script=outcome("missed_deadline", stage, f'"逾期未完成{zh}：" + overdue_reason'),
    )
    d.flow(f"Window_{key}", f"Gw_{key}_missed")
    d.flow(f"Gw_{key}_missed", f"Task_{key}_overdue", "逾期", "Deadline passed.",
           condition=f'missed_stage == "{stage}"')
    if next_node is None:
        next_node = d.add("endEvent", f"End_{key}_in_time", "按期完成", f"The {en} stage was done in time.", "city",
                          col + 1, row, edge=True)
    d.flow(f"Gw_{key}_missed", next_node, "按期", "Done in time.", default=True)
    d.flow(f"Task_{key}_overdue", f"Missed_{key}")
    d.add("endEvent", f"End_{key}_overdue", "逾期结束", f"The application closes at the {en} stage.", "city",
          col + 3, row + 1, edge=True)
    d.flow(f"Missed_{key}", f"End_{key}_overdue")


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
    d.message("deadlines_changed", {"cycle_id": "cycle_id", "district": "district"})
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
                'missed_stage = ""',
            ]
        ),
    )

    # -- stage 1: application ----------------------------------------------------------------
    with stage_phase(d, "apply", "district", 2):
        with stage_window(d, "apply", "district", 2, 0):
            with d.sub(
                "Stage_apply",
                "申报阶段",
                "Application stage: the intention is drafted, approved by the district "
                "leadership and filed in the name of the district people's government, by the application "
                "deadline.",
                None,
            ):
                d.add("startEvent", "Start_apply", "", "Stage start.", "district", 4, 0)
                d.add(
                    "userTask",
                    "Task_intention",
                    "拟定创建意向",
                    "Draft the intention to apply.",
                    "district",
                    5,
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
                    6,
                    0,
                    form="forms/leadership_decision.json",
                    instructions="请区委、区政府研究区有关部门报送的创建意向，作出同意申报或不申报的决定，并填写研究意见。",
                )
                d.add("exclusiveGateway", "Gw_leadership", "是否同意申报？", "Approved?", "leader", 7, 0)
                d.add(
                    "userTask",
                    "Task_file",
                    "以区人民政府名义提出申请",
                    "File the application in the name of the district people's government, with the district's "
                    "creation plan (targets, evaluation content, incentives).",
                    "district",
                    8,
                    0,
                    form="forms/application.json",
                    instructions="请以区人民政府名义提出创建申请：填写申请文号、日期，上传盖章的申请文件，并附本区具体创建方案"
                    "（明确目标任务、细化评估内容、建立激励机制）。须在申报期限前提交。",
                )
                d.add("endEvent", "End_filed", "已提出申请", "Application filed.", "district", 9, 0)
                d.add("endEvent", "End_declined", "决定不申报", "The leadership declined.", "leader", 8, 1)
                d.chain("Start_apply", "Task_intention", "Task_leadership", "Gw_leadership")
                d.flow(
                    "Gw_leadership", "Task_file", "同意", "Approve.", condition='leadership_decision == "approve"'
                )
                d.flow("Gw_leadership", "End_declined", "不申报", "Decline.", default=True)
                d.flow("Task_file", "End_filed")
        missed_handling(d, "apply", 12, 0)
    d.chain("Start_invited", "Init", "Phase_apply")
    d.add("exclusiveGateway", "Gw_applied", "是否申报？", "Did the district apply in time?", "district", 16, 0)
    d.flow("Phase_apply", "Gw_applied")
    d.add(
        "scriptTask",
        "Declined",
        "记录不申报",
        "Outcome: the district declined.",
        "district",
        17,
        1,
        script=outcome("declined", "application", 'f"区委区政府决定不申报：{leadership_opinion}"'),
    )
    d.flow("Gw_applied", "Declined", "不申报", "Declined.", condition='leadership_decision == "decline"')

    import district_stages  # stages 2 and 3 and the outcome (they use the helpers above)

    district_stages.build(d)
    return d
