"""创建周期 creation_cycle: one case per evaluation cycle, started by municipal staff with the cycle data."""

from __future__ import annotations

from bpmnkit import Diagram

LANES = [
    (
        "city",
        "市有关部门",
        "Municipal departments (市教委, 市卫生健康委, 市发展改革委): issue the indicators, "
        "invite the districts, review and select, publish the notice, handle objections, report upward, "
        "record the State's result and commend.",
    ),
    (
        "approver",
        "市级审批",
        "Municipal approver (市有关部门审核批准): approves the selection and names the "
        "Shanghai demonstration districts.",
    ),
]

CYCLE_FIELDS = (
    "cycle_id",
    "cycle_name",
    "eligible_districts",
    "deadlines",
    "quotas",
    "indicators",
    "notice_workdays",
    "reminder_workdays",
    "management",
    "cutoff_time",
    "report_workdays",
)


def notify(kind: str, roles: str, districts: str, subject: str, body: str) -> dict[str, object]:
    return {
        "op": "notify",
        "result": "notified",
        "params": {
            "kind": f'"{kind}"',
            "roles": roles,
            "districts": districts,
            "subject": subject,
            "body": body,
        },
    }


def reminder(
    d: Diagram, key: str, host: str, zh: str, en: str, deadline: str, col: float, row: float, roles: str
) -> None:
    d.boundary(
        f"Timer_{key}_remind",
        f"{zh}截止前提醒",
        f"Reminder before the {en} deadline (non-interrupting).",
        host,
        cancel=False,
        timer=f'deadline_at(add_workdays(deadlines["{deadline}"], -reminder_workdays), "09:00")',
    )
    d.add(
        "serviceTask",
        f"Notify_{key}_remind",
        f"提醒{zh}截止",
        f"Remind of the {en} deadline (outbox).",
        d.nodes[host].lane,
        col,
        row,
        **notify(
            "reminder",
            roles,
            "[]",
            f'f"{{cycle_name}}：{zh}截止提醒"',
            f"f\"{zh}期限为 {{deadlines['{deadline}']}}。\"",
        ),
    )
    d.add("endEvent", f"End_{key}_reminded", "已提醒", "Reminder sent.", d.nodes[host].lane, col + 1, row)
    d.chain(f"Timer_{key}_remind", f"Notify_{key}_remind", f"End_{key}_reminded")


def build() -> Diagram:
    d = Diagram(
        "creation_cycle",
        "创建周期",
        "Creation cycle: one evaluation round (in principle every two years). Indicators issued, "
        "districts invited (one district_application case each), outcomes collected, unified review "
        "and selection within both quotas, public notice for 5 working days with objections, report "
        "upward, municipal naming, the State's result for national recommendations, commendation.",
        LANES,
    )
    d.message("district_invited", {"cycle_id": "cycle_id", "district": "district"})
    d.message("district_outcome", {"cycle_id": "cycle_id", "district": "district"})
    d.message("deadlines_changed", {"cycle_id": "cycle_id", "district": "district"})
    d.message("objection_received", {"cycle_id": "cycle_id"})
    d.message("national_result", {"cycle_id": "cycle_id"})
    d.message("title_named", {"district": "district", "title_id": "title_id"})
    d.pool(
        "Pool_districts",
        "各区（区创建申报）",
        "The districts, each through its district_application case.",
        cols=(4, 9),
    )
    d.pool(
        "Pool_public",
        "社会公众",
        "The public: reads the notice on the 'China Shanghai' portal and may object.",
        "bottom",
        cols=(16, 24),
    )
    d.pool(
        "Pool_state",
        "国家（国家卫生健康委、国家发展改革委）",
        "The State: names national demonstration cities.",
        "bottom",
        cols=(25, 26),
    )
    d.pool(
        "Pool_titles",
        "示范区管理",
        "Title management: one case per named Shanghai demonstration district.",
        "bottom",
        cols=(27, 35),
    )

    d.add(
        "startEvent",
        "Start_cycle",
        "启动创建周期",
        "Municipal staff start the cycle with its data (districts, "
        "deadlines, quotas, indicator set, management settings).",
        "city",
        0,
        0,
        form="forms/cycle_start.json",
    )
    d.add(
        "serviceTask",
        "Validate",
        "校验周期数据",
        "Check the cycle data (deadline order, districts, indicator set).",
        "city",
        1,
        0,
        op="validate_cycle",
        result="cycle_check",
        params={name: name for name in CYCLE_FIELDS},
    )
    d.add(
        "serviceTask",
        "Quota",
        "计算遴选限额",
        "Quota caps from the cycle data: national ≤ 10% (1–2), Shanghai ≤ 40% (6) of the eligible districts.",
        "city",
        2,
        0,
        op="quota_caps",
        result="quota",
        params={
            "eligible_count": "len(eligible_districts)",
            "national_share": 'quotas["national_share"]',
            "shanghai_share": 'quotas["shanghai_share"]',
            "national_cap": 'quotas.get("national_cap")',
            "shanghai_cap": 'quotas.get("shanghai_cap")',
            "rounding": 'quotas.get("rounding", "half_up")',
        },
    )
    d.add(
        "serviceTask",
        "Screen",
        "核对已获称号的区",
        "可申报区中已持有“上海市婴幼儿照护服务示范区”或“全国婴幼儿照护服务示范城市”称号（已命名或整改中）的区本周期"
        "不再邀请，记入案件数据（left_out）及原因；通知未明文规定，为本地做法。Districts that hold a title already "
        "(named or rectifying) are not invited again; who is left out and why is recorded in the case.",
        "city",
        2,
        1,
        op="screen_invitees",
        result="screening",
        params={"cycle_id": "cycle_id", "districts": "eligible_districts"},
    )
    d.add(
        "scriptTask",
        "Invitees",
        "确定邀请名单",
        "本周期邀请的区和未邀请的区（及原因）。The districts this cycle invites, and those left out with the reason.",
        "city",
        3,
        1,
        script='invitees = screening["invited"]\nleft_out = screening["left_out"]',
    )
    d.add(
        "userTask",
        "Task_indicators",
        "发布评估指标",
        "Issue the evaluation indicators of this cycle.",
        "city",
        3,
        0,
        form="forms/issue_indicators.json",
        instructions="请核对本周期《上海市开展全国婴幼儿照护服务示范城市创建活动评估指标》（含四个方面的指标项和每千人口"
        "3岁以下婴幼儿托位数4.5个的全市2025年目标）与周期数据一致，填写发布文号和日期。完成后系统向各可申报区发出创建邀请；"
        "已持有示范区或示范城市称号的区不再邀请，名单及原因见本页“本周期未邀请的区”。",
    )
    d.chain("Start_cycle", "Validate", "Quota", "Screen", "Invitees", "Task_indicators")

    with d.sub(
        "Collect",
        "邀请各区并收集申报结果",
        "邀请各区并收集申报结果；其间市有关部门可作出调整各区期限的决定（本地做法）。Invite the districts and collect "
        "their outcomes; meanwhile the municipal departments may move a stage's deadline for every district at once.",
        None,
        collapsed=True,
    ):
        d.add("startEvent", "Start_collect", "", "Invitations and the deadline decision start together.", "city", 4, 3)
        d.add("parallelGateway", "Fork_collect", "", "Invite, and keep the deadline decision open.", "city", 5, 3)
        with d.sub(
            "Invite",
            "邀请各区并等待申报结果",
            "For each eligible district (parallel): invite it, which starts "
            "its district_application case, then wait for its outcome until the selection deadline.",
            "city",
            multi=("invitees", "invitee", "outcomes", "outcome"),
        ):
            d.add("startEvent", "Start_invite", "", "One eligible district.", "city", 4, 0)
            d.add(
                "scriptTask",
                "Prepare",
                "准备邀请",
                "The district this instance follows.",
                "city",
                5,
                0,
                script='district = invitee["code"]',
            )
            d.add(
                "intermediateThrowEvent",
                "Throw_invite",
                "发出创建邀请",
                "Invite the district (message district_invited; starts its district_application case).",
                "city",
                6,
                0,
                message="district_invited",
                payload='{"cycle_id": cycle_id, "district": district, "district_name": invitee["name"], '
                '"cycle_name": cycle_name, "profile": invitee, "deadlines": deadlines, '
                '"indicators": indicators, "reminder_workdays": reminder_workdays, "cutoff_time": cutoff_time}',
            )
            d.add(
                "receiveTask",
                "Receive_outcome",
                "接收申报结果",
                "Wait for the district's outcome (message district_outcome).",
                "city",
                7,
                0,
                message="district_outcome",
                var="outcome",
            )
            d.add("endEvent", "End_invite", "已收到结果", "Outcome received.", "city", 8, 0)
            d.boundary(
                "Timer_no_outcome",
                "评审遴选期限已到",
                "No outcome by the selection deadline (interrupting).",
                "Receive_outcome",
                timer='deadline_at(deadlines["selection"], "09:00")',
            )
            d.add(
                "scriptTask",
                "No_outcome",
                "记为未报结果",
                "Record that no outcome arrived.",
                "city",
                8,
                1,
                script='outcome = {"cycle_id": cycle_id, "district": district, "district_name": invitee["name"], '
                '"result": "no_outcome", "stage": "", "reason": "截至评审遴选期限未收到申报结果", '
                '"self_score": None, "audit_score": None, "places_per_1000": None, "target_met": None}',
            )
            d.add("endEvent", "End_no_outcome", "无结果", "No outcome.", "city", 9, 1)
            d.chain("Start_invite", "Prepare", "Throw_invite", "Receive_outcome", "End_invite")
            d.chain("Timer_no_outcome", "No_outcome", "End_no_outcome")
        d.add("endEvent", "End_collected", "已收齐", "Every district's outcome is in: the decision closes.", "city", 10, 0,
              terminate=True)
        d.add(
            "userTask",
            "Task_extend",
            "调整各区期限",
            "A recorded decision of the municipal departments to move one stage's deadline for every district "
            "at once, before it passes (local practice: the notice provides no extensions).",
            "city",
            6,
            4,
            form="forms/deadline_extension.json",
            instructions="通知未规定延期，本项为本地做法。仅当市有关部门决定调整本周期申报、创建自评或现场审核的期限时办理："
            "在该期限届满前填写决定文号、新的期限和理由；新的期限对所有尚未完成的区同时生效，须晚于原期限、早于下一阶段"
            "期限。不对单个区事后延期。各区收齐结果后本任务自动结束。",
        )
        d.add(
            "serviceTask",
            "Extend",
            "登记期限调整",
            "Check and record the decision: the stage's deadline has not passed; the new one is later and "
            "before the next stage's.",
            "city",
            7,
            4,
            op="extend_cycle_deadline",
            result="extension",
            params={
                "deadlines": "deadlines",
                "stage": "extension_stage",
                "new_deadline": "new_deadline",
                "doc_no": "extension_doc_no",
                "reason": "extension_reason",
                "cycle_id": "cycle_id",
                "cutoff_time": "cutoff_time",
            },
        )
        d.add(
            "scriptTask",
            "Apply_extension",
            "采用新的期限",
            "The cycle's deadlines become the decided ones.",
            "city",
            8,
            4,
            script='deadlines = dict(extension["deadlines"])\nopen_districts = extension["districts"]',
        )
        with d.sub(
            "Send_changes",
            "通知各区新的期限",
            "For each district whose case is still running: send the cycle's new deadlines (message "
            "deadlines_changed).",
            "city",
            multi=("open_districts", "open_district", "", ""),
        ):
            d.add("startEvent", "Start_send_change", "", "One running district.", "city", 5, 5)
            d.add(
                "intermediateThrowEvent",
                "Throw_changed",
                "发送新的期限",
                "Send the district the cycle's new deadlines (message deadlines_changed).",
                "city",
                6,
                5,
                message="deadlines_changed",
                payload='{"cycle_id": cycle_id, "district": open_district, "deadlines": deadlines, '
                '"change": extension["change"]}',
            )
            d.add("endEvent", "End_send_change", "已发送", "Sent.", "city", 7, 5)
            d.chain("Start_send_change", "Throw_changed", "End_send_change")
        d.flow("Start_collect", "Fork_collect")
        d.flow("Fork_collect", "Invite")
        d.flow("Invite", "End_collected")
        d.add("exclusiveGateway", "Gw_extend", "", "The decision is open (again after each change).", "city", 5, 4)
        d.flow("Fork_collect", "Gw_extend")
        d.chain("Gw_extend", "Task_extend", "Extend", "Apply_extension")
        d.flow("Apply_extension", "Send_changes", via=[(8, "city", 5)])
        d.flow("Send_changes", "Gw_extend", "", "The decision stays open for the next change.",
               via=[(4.5, "city", 5), (4.5, "city", 4)])
    d.flow("Task_indicators", "Collect")

    d.add(
        "serviceTask",
        "Rank",
        "汇总排名",
        "Rank the districts that passed the audit.",
        "city",
        11,
        0,
        op="rank_candidates",
        result="ranking",
        params={"outcomes": "outcomes"},
    )
    d.add(
        "userTask",
        "Task_select",
        "统一评审遴选",
        "Unified review and selection across the districts that passed the audit, within both quotas.",
        "city",
        12,
        0,
        form="forms/selection.json",
        instructions="请对通过现场审核的区进行统一评审，综合现场审核、上报资料和数据审核情况，遴选拟命名“上海市婴幼儿照护服务"
        "示范区”和拟推荐“全国婴幼儿照护服务示范城市”的区。系统按审核得分给出排名供参考；每千人口托位数与4.5个的全市2025年"
        "目标并列显示，仅供参考，不作为评审条件。两类名额原则上不超过本周期限额；确需超出的，须填写超出限额的理由（记入案件"
        "历史），否则将被拒绝。",
    )
    reminder(d, "select", "Task_select", "评审遴选", "selection", "selection", 12, 2, '["市有关部门"]')
    d.add(
        "serviceTask",
        "Check",
        "核对限额与名单",
        "核对名单：仅限通过现场审核的区；超出限额须有理由（二：原则上）。Refuse a selection outside the passed "
        "districts, or over a cap without a recorded reason.",
        "city",
        13,
        0,
        op="check_selection",
        result="candidates",
        params={
            "shanghai_selected": "shanghai_selected",
            "national_selected": "national_selected",
            "ranking": "ranking",
            "quota": "quota",
            "over_quota_reason": "over_quota_reason",
        },
    )
    import cycle_naming
    import cycle_notice  # the rest of the diagram (they use the helpers above)

    cycle_notice.build(d)
    cycle_naming.build(d)
    d.message_flow(
        "MsgFlow_invite",
        "创建邀请",
        "Throw_invite",
        "Pool_districts",
        "Invitation to a district (message district_invited).",
    )
    d.message_flow(
        "MsgFlow_outcome",
        "申报结果",
        "Pool_districts",
        "Receive_outcome",
        "A district's outcome (message district_outcome).",
    )
    d.message_flow(
        "MsgFlow_objection",
        "异议",
        "Pool_public",
        "Receive_objection",
        "An objection from the public during the notice (message objection_received).",
    )
    d.message_flow(
        "MsgFlow_report",
        "推荐名单",
        "Task_report",
        "Pool_state",
        "National recommendations reported to the State.",
    )
    d.message_flow(
        "MsgFlow_national",
        "国家命名结果",
        "Pool_state",
        "Msg_national",
        "The State's naming result (message national_result).",
    )
    d.message_flow(
        "MsgFlow_named",
        "命名",
        "Throw_named",
        "Pool_titles",
        "A named district's title management starts (message title_named).",
    )
    d.wrap(
        "Select",
        "评审遴选",
        "统一评审遴选并发布公示（五(四)），全部由市有关部门办理。Unified review and selection, then the "
        "notice is published; every task here is the municipal departments' (市有关部门).",
        "city",
        (11, 16),
    )
    d.wrap(
        "Naming",
        "审核命名",
        "市级审批命名示范区，同时市有关部门录入国家审核命名结果（五(五)）。The approver names the districts "
        "(市级审批: 审核批准并命名) while the municipal departments record the State's naming result "
        "(市有关部门: 录入国家审核命名结果).",
        "city",
        (27, 34),
    )
    return d
