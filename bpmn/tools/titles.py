"""示范区管理 title_management: one case per named Shanghai demonstration district."""

from __future__ import annotations

from bpmnkit import Diagram

LANES = [
    (
        "district",
        "区有关部门",
        "District departments of the named district: report the year's childcare work.",
    ),
    (
        "city",
        "市有关部门",
        "Municipal departments: review the annual reports, supervise and monitor dynamically "
        "(动态监测), refer findings for verification.",
    ),
]


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


def build() -> Diagram:
    d = Diagram(
        "title_management",
        "示范区管理",
        "Management of a named Shanghai demonstration district: every year the district reports its "
        "childcare work to the municipal departments, which review it; a finding of backsliding, fraud "
        "or low satisfaction, or a missed report, is referred for verification (revocation case). The "
        "case ends when the title is revoked.",
        LANES,
    )
    d.message("title_named", {"district": "district", "title_id": "title_id"})
    d.message("revocation_requested", {"district": "district"})
    d.message("title_revoked", {"title_id": "title_id"})
    d.pool("Pool_cycle", "创建周期", "The creation cycle that named the district.", cols=(0, 3))
    d.pool(
        "Pool_revocation",
        "撤销称号",
        "Revocation cases (verification and decision).",
        "bottom",
        cols=(11, 18),
    )

    d.add(
        "startEvent",
        "Start_named",
        "命名为示范区",
        "The cycle named the district (message title_named).",
        "city",
        0,
        0,
        message="title_named",
        var="naming",
    )
    d.add(
        "scriptTask",
        "Init",
        "登记示范区",
        "The title, the management settings and the first report year.",
        "city",
        1,
        0,
        script="\n".join(
            [
                'district_name = naming["district_name"]',
                'management = naming["management"]',
                'reminder_workdays = naming["reminder_workdays"]',
                '# 本地设定: the naming cycle\'s cut-off time; cycles of earlier versions sent none (17:00)',
                'cutoff_time = naming.get("cutoff_time", "17:00")',
                'report_year = int(naming["named_on"][0:4]) + 1',
            ]
        ),
    )
    d.chain("Start_named", "Init")

    with d.sub(
        "Annual",
        "年度报送与监督",
        "Every year: the report window opens, the district reports by the due "
        "date (reminded before it), municipal staff review; findings are referred for verification.",
        None,
        collapsed=True,
    ):
        d.add("startEvent", "Start_annual", "", "Management starts.", "city", 2, 0)
        d.add("exclusiveGateway", "Gw_year", "", "Next report year.", "city", 3, 0)
        d.add(
            "scriptTask",
            "Plan",
            "确定本年度报送期限",
            "This year's report window from the management settings.",
            "city",
            4,
            0,
            script="\n".join(
                [
                    "report_opens = f\"{report_year}-{management['annual_report_opens']}\"",
                    "report_due = f\"{report_year}-{management['annual_report_due']}\"",
                ]
            ),
        )
        d.add(
            "intermediateCatchEvent",
            "Timer_open",
            "年度报送开启",
            "The report window opens (yearly).",
            "city",
            5,
            0,
            timer='deadline_at(report_opens, "09:00")',
        )
        d.add("exclusiveGateway", "Gw_report", "", "Report (again after an urge).", "district", 6, 0)
        d.add(
            "userTask",
            "Task_report",
            "报送年度工作情况",
            "Report the year's childcare work.",
            "district",
            7,
            0,
            form="forms/annual_report.json",
            instructions="作为“上海市婴幼儿照护服务示范区”，请向市有关部门报送上一年度婴幼儿照护服务相关工作情况：工作概况、"
            "年末托位数和年度报告。须在报送期限前提交。",
        )
        d.add(
            "userTask",
            "Task_review",
            "审核年度报告",
            "Review the annual report (supervision, dynamic monitoring).",
            "city",
            8,
            0,
            form="forms/annual_review.json",
            instructions="请审核示范区报送的年度工作情况，结合督查指导和动态监测，给出审核结论和托育机构、婴幼儿家庭满意度。"
            "存在措施不力、工作退步或弄虚作假的，将提请核实处理；满意度低于本周期设定的警戒线（本地设定）的，转市有关部门"
            "研判是否提请核实。",
        )
        d.add("exclusiveGateway", "Gw_finding", "审核结论", "Any finding?", "city", 9, 0)
        d.add(
            "scriptTask",
            "Ground",
            "确定核实事由",
            "The ground to verify.",
            "city",
            12,
            1,
            script="\n".join(
                [
                    'ground = "fraud" if review_conclusion == "fraud" else ("backsliding" if review_conclusion == '
                    '"backsliding" else "low_satisfaction")',
                    'revocation_request = {"district": district, "title_id": title_id, "ground": ground, '
                    '"source": "annual_review", "report_year": report_year, "summary": annual_review_opinion, '
                    '"satisfaction_rate": satisfaction_rate, "reminder_workdays": reminder_workdays}',
                ]
            ),
        )
        d.add("exclusiveGateway", "Gw_refer", "", "Refer.", "city", 13, 1)
        d.add(
            "intermediateThrowEvent",
            "Throw_refer",
            "提请核实处理",
            "Refer for verification: starts a revocation case (message revocation_requested).",
            "city",
            14,
            1,
            message="revocation_requested",
            payload="revocation_request",
        )
        d.add("exclusiveGateway", "Gw_next", "", "Year done.", "city", 15, 0)
        d.add(
            "scriptTask",
            "Next",
            "进入下一年度",
            "The next report year.",
            "city",
            16,
            0,
            script="report_year = report_year + 1",
        )
        d.chain(
            "Start_annual",
            "Gw_year",
            "Plan",
            "Timer_open",
            "Gw_report",
            "Task_report",
            "Task_review",
            "Gw_finding",
        )
        d.add(
            "userTask",
            "Task_satisfaction",
            "研判满意度情况",
            "第六条(三)“满意度不高”：满意度低于本地设定的警戒线时，由市有关部门研判是否提请核实；数字本身不启动撤销。"
            "A satisfaction figure below the local threshold: municipal staff decide whether to refer it for "
            "verification; the figure alone starts nothing.",
            "city",
            10,
            1,
            form="forms/satisfaction_review.json",
            instructions="年度审核的满意度低于本周期设定的警戒线（本地设定，通知未规定具体数值）。请结合督查指导、动态监测和"
            "调查情况研判：是否属于通知第六条(三)“托育机构、婴幼儿家庭对政策环境和服务管理满意度不高”的情形。属于的，"
            "提请核实处理；不属于的，说明理由，继续动态监测。",
        )
        d.add("exclusiveGateway", "Gw_satisfaction", "是否提请核实？", "Refer?", "city", 11, 1)
        d.flow(
            "Gw_finding",
            "Gw_next",
            "保持良好",
            "Good, satisfaction at or above the threshold.",
            condition='review_conclusion == "good" and satisfaction_rate >= management["satisfaction_threshold"]',
        )
        d.flow(
            "Gw_finding",
            "Task_satisfaction",
            "满意度低于警戒线",
            "Good otherwise, satisfaction below the local threshold: a review, not a referral.",
            condition='review_conclusion == "good"',
        )
        d.flow(
            "Gw_finding",
            "Ground",
            "存在问题",
            "A finding of backsliding or fraud.",
            default=True,
            via=[(9, "city", 0.55), (12, "city", 0.55)],
        )
        d.chain("Task_satisfaction", "Gw_satisfaction")
        d.flow(
            "Gw_satisfaction",
            "Ground",
            "提请核实",
            "Refer: low satisfaction (六(三)).",
            condition='satisfaction_action == "refer"',
        )
        d.flow(
            "Gw_satisfaction",
            "Gw_next",
            "继续监测",
            "No referral; monitoring goes on.",
            default=True,
            via=[(11, "city", 1.55), (15, "city", 1.55)],
        )
        d.chain("Ground", "Gw_refer", "Throw_refer", "Gw_next", "Next")
        d.flow("Next", "Gw_year", "", "Next year.", below=150)

        d.boundary(
            "Timer_report_remind",
            "报送截止前提醒",
            "Reminder before the report is due (non-interrupting).",
            "Task_report",
            cancel=False,
            slot=1,
            timer='deadline_at(add_workdays(report_due, -reminder_workdays), "09:00")',
        )
        d.add(
            "serviceTask",
            "Notify_remind",
            "提醒报送",
            "Remind the district (outbox).",
            "district",
            8,
            1,
            **notify(
                "reminder",
                '["区有关部门"]',
                'f"{district_name}年度工作情况报送提醒"',
                'f"{report_year}年度报送期限为 {report_due}。"',
            ),
        )
        d.add("endEvent", "End_reminded", "已提醒", "Reminder sent.", "district", 9, 1)
        d.chain("Timer_report_remind", "Notify_remind", "End_reminded")
        d.boundary(
            "Timer_report_due",
            "报送期限届满",
            "报送期限当日的截止时刻（命名周期的 cutoff_time，本地设定，默认17:00）已过。The report is overdue "
            "(interrupting; at the naming cycle's cut-off time, a local setting): escalate.",
            "Task_report",
            slot=0,
            timer="deadline_at(report_due, cutoff_time)",
        )
        d.add(
            "serviceTask",
            "Escalate",
            "逾期未报升级",
            "Escalate the missed report to municipal staff (outbox).",
            "city",
            8,
            2,
            **notify(
                "escalation",
                '["市有关部门"]',
                'f"{district_name}逾期未报送年度工作情况"',
                'f"{report_year}年度报送期限 {report_due} 已过，请处理。"',
            ),
        )
        d.add(
            "userTask",
            "Task_missed",
            "逾期未报处理",
            "Decide on the missed report: urge with a new due date, or refer for verification.",
            "city",
            9,
            2,
            form="forms/missed_report.json",
            instructions="该示范区未在期限内报送年度工作情况。请决定：督促其限期补报（填写补报期限），或以措施不力为由提请核实处理。",
        )
        d.add("exclusiveGateway", "Gw_missed", "", "Urge or refer?", "city", 10, 2)
        d.add(
            "scriptTask",
            "Urge",
            "督促限期补报",
            "The new due date.",
            "city",
            11,
            3,
            script="report_due = new_report_due",
        )
        d.add(
            "scriptTask",
            "Missed_ground",
            "以措施不力提请核实",
            "Refer: ineffective measures (missed report).",
            "city",
            11,
            2,
            script=(
                'revocation_request = {"district": district, "title_id": title_id, "ground": "backsliding", '
                '"source": "missed_annual_report", "report_year": report_year, "summary": missed_opinion, '
                '"satisfaction_rate": None, "reminder_workdays": reminder_workdays}'
            ),
        )
        d.chain("Timer_report_due", "Escalate", "Task_missed", "Gw_missed")
        d.flow("Gw_missed", "Urge", "督促补报", "Urge.", condition='missed_action == "urge"')
        d.flow("Gw_missed", "Missed_ground", "提请核实", "Refer.", default=True)
        d.flow("Urge", "Gw_report", "", "Report again.", below=40)
        d.flow("Missed_ground", "Gw_refer")
    d.flow("Init", "Annual")
    d.boundary(
        "Msg_revoked",
        "称号被撤销",
        "The title was revoked (message title_revoked): management ends.",
        "Annual",
        message="title_revoked",
        var="revocation",
    )
    d.add(
        "endEvent",
        "End_revoked",
        "停止管理（称号已撤销）",
        "Management ends: the title was revoked.",
        "city",
        17,
        4,
    )
    d.flow("Msg_revoked", "End_revoked")
    d.message_flow(
        "MsgFlow_named",
        "命名",
        "Pool_cycle",
        "Start_named",
        "The cycle named the district (message title_named).",
    )
    d.message_flow(
        "MsgFlow_refer",
        "提请核实",
        "Throw_refer",
        "Pool_revocation",
        "A finding referred for verification (message revocation_requested).",
    )
    d.message_flow(
        "MsgFlow_revoked",
        "撤销称号",
        "Pool_revocation",
        "Msg_revoked",
        "The title was revoked (message title_revoked).",
    )
    return d
