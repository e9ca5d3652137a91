"""创建周期 creation_cycle, middle part: the public notice on the "中国上海" portal, the objections
received while it runs, and the report upward (see ``cycle.build``)."""

from __future__ import annotations

from bpmnkit import Diagram


def build(d: Diagram) -> None:
    d.add(
        "serviceTask",
        "Publish_by",
        "计算最迟公示日期",
        "评审遴选期限同时涵盖评审遴选、公示和上报：按工作日计算能使公示期满并在期限前上报的最迟发布日期，"
        "在发布公示任务中显示。The latest publication date that lets the notice end and the report go up by the "
        "selection deadline, in PRC working days (report_workdays after the notice: a local setting).",
        "city",
        13,
        1,
        op="latest_publication",
        result="publish_by",
        params={
            "selection_deadline": 'deadlines["selection"]',
            "notice_workdays": "notice_workdays",
            "report_workdays": "report_workdays",
        },
    )
    d.add(
        "userTask",
        "Task_publish",
        "发布公示",
        "五(四)：经“中国上海”门户网站公示5个工作日。在门户网站发布拟命名、拟推荐名单的公示。"
        "Publish the candidates on the 'China Shanghai' portal; the publication date is the day this "
        "step is completed.",
        "city",
        14,
        0,
        form="forms/publish_notice.json",
        instructions="请在“中国上海”门户网站发布拟命名、拟推荐名单的公示，填写公示标题和链接。公示发布日期为完成本步骤之日，"
        "由系统记录；公示期为本周期规定的工作日数（不少于5个工作日），按国家法定节假日和调休安排计算，异议受理至公示期"
        "最后一个工作日的截止时刻（本周期设定，默认17:00）。评审遴选、公示和上报须在评审遴选期限前完成：本页显示最迟公示"
        "发布日期，已过该日期的将提示，逾期发布记入案件历史。请在门户网站发布当日完成本步骤。",
    )
    d.add(
        "serviceTask",
        "Publish",
        "登记公示",
        "登记公示：发布日期为系统时钟的当日，公示期不少于5个工作日。Record the published notice: published "
        "today by the engine's clock, ending notice_workdays (at least 5) PRC working days later.",
        "city",
        15,
        0,
        op="publish_notice",
        result="notice",
        params={
            "cycle_id": "cycle_id",
            "title": "notice_title",
            "url": "notice_url",
            "workdays": "notice_workdays",
            "candidates": "candidates",
            "latest_on": 'publish_by["latest_on"]',
        },
    )
    d.add(
        "scriptTask",
        "Notice_period",
        "公示期",
        "The notice's publication day and last working day, as recorded; no objection decided yet.",
        "city",
        16,
        0,
        script='published_on = notice["published_on"]\nnotice_ends_on = notice["ends_on"]\nobjection_log = []',
    )
    d.chain("Collect", "Rank", "Task_select", "Check", "Publish_by", "Task_publish", "Publish", "Notice_period")

    with d.sub(
        "Notice",
        "公示期",
        "The notice period: objections are received until the notice ends at the cycle's cut-off "
        "time (17:00 unless the cycle sets another) of its last working day; each objection is decided by municipal staff while the notice runs, "
        "and the period closes once every objection received is decided.",
        "city",
        collapsed=True,
    ):
        d.add("startEvent", "Start_notice", "", "Notice published.", "city", 17, 0)
        d.add("exclusiveGateway", "Gw_notice", "", "Wait for objections.", "city", 18, 0)
        d.add(
            "receiveTask",
            "Receive_objection",
            "受理异议",
            "Receive an objection (message objection_received).",
            "city",
            19,
            0,
            message="objection_received",
            var="objection",
        )
        d.add(
            "parallelGateway",
            "Fork_objection",
            "",
            "Keep receiving while this one is decided.",
            "city",
            20,
            0,
        )
        d.add(
            "userTask",
            "Task_objection",
            "处理异议",
            "Verify the objection and decide: upheld (the district is removed) or dismissed.",
            "city",
            21,
            0,
            form="forms/objection_decision.json",
            instructions="请核查公示期间收到的异议（见异议内容），作出处理结论：异议成立的，指明涉及的区，该区将从拟命名"
            "（推荐）名单中取消；异议不成立的予以说明。请填写核查情况和对异议人的答复。",
        )
        d.add(
            "serviceTask",
            "Record_objection",
            "登记异议处理结果",
            "Append the decision to the objection log.",
            "city",
            22,
            0,
            op="record_objection",
            result="objection_log",
            params={
                "log": "objection_log",
                "objection": "objection",
                "result": "objection_result",
                "district": 'objection_district if objection_result == "upheld" else None',
                "verification": "objection_verification",
                "reply": "objection_reply",
                "candidates": "candidates",
            },
        )
        d.add("endEvent", "End_objection", "异议已处理", "Objection decided.", "city", 23, 0)
        d.boundary(
            "Timer_notice_end",
            "公示期满",
            "公示期满：公示期最后一个工作日的截止时刻（cutoff_time，本地设定，默认17:00）。The notice period "
            "ends at the cycle's cut-off time of its last working day.",
            "Receive_objection",
            timer="deadline_at(notice_ends_on, cutoff_time)",
        )
        d.add("endEvent", "End_notice", "公示期满", "Notice period over.", "city", 20, 1)
        d.chain(
            "Start_notice",
            "Gw_notice",
            "Receive_objection",
            "Fork_objection",
            "Task_objection",
            "Record_objection",
            "End_objection",
        )
        d.flow("Fork_objection", "Gw_notice", "", "Receive the next objection.")
        d.flow("Timer_notice_end", "End_notice")
    d.flow("Notice_period", "Notice")
    d.data_object("objection_log", "异议处理记录")
    d.data_ref("Ref_objection_log", "objection_log", "city", 20, 2)
    d.writes("Notice_period", "Ref_objection_log")
    d.reads("Record_objection", "Ref_objection_log")
    d.writes("Record_objection", "Ref_objection_log")

    d.add(
        "serviceTask",
        "Close_notice",
        "公示结束",
        "Close the notice: candidates minus those removed by an upheld objection.",
        "city",
        25,
        0,
        op="close_notice",
        result="final_candidates",
        params={
            "notice_id": 'notice["notice_id"]',
            "candidates": "candidates",
            "objection_log": "objection_log",
        },
    )
    d.reads("Close_notice", "Ref_objection_log")
    d.add(
        "userTask",
        "Task_report",
        "汇总上报",
        "Report upward: the Shanghai list for approval, the national recommendations to the State.",
        "city",
        26,
        0,
        form="forms/report_upward.json",
        instructions="公示期满。请汇总公示结果（含异议处理情况），将拟命名名单报市级审批，并将全国婴幼儿照护服务示范城市"
        "推荐名单上报国家卫生健康委、国家发展改革委。",
    )
    d.add(
        "parallelGateway",
        "Split",
        "",
        "Shanghai naming and the national result proceed in parallel.",
        "city",
        27,
        0,
    )
    d.chain("Notice", "Close_notice", "Task_report", "Split")
