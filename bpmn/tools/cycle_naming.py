"""创建周期 creation_cycle, second half: municipal naming of the Shanghai demonstration districts, the
State's result for the national recommendations, commendation (see ``cycle.build``)."""

from __future__ import annotations

from bpmnkit import Diagram
from cycle import notify, reminder


def build(d: Diagram) -> None:
    # -- Shanghai demonstration districts ------------------------------------------------------
    d.add(
        "userTask",
        "Task_name",
        "审核批准并命名",
        "Approve and name the Shanghai demonstration districts.",
        "approver",
        28,
        0,
        form="forms/naming_approval.json",
        instructions="请审核公示后的拟命名名单，批准并命名“上海市婴幼儿照护服务示范区”。如有不予批准的区，请列出并说明理由。"
        "须在本周期命名期限（首周期为2022年年底）前完成。",
    )
    reminder(d, "name", "Task_name", "命名", "naming", "naming", 28, 1, '["市级审批", "市有关部门"]')
    d.add(
        "scriptTask",
        "Named",
        "确定命名名单",
        "The named districts: the final candidates the approver did not exclude.",
        "approver",
        29,
        0,
        script='shanghai_named = [c for c in final_candidates["shanghai"] if c["code"] not in excluded_districts]',
    )
    d.add(
        "serviceTask",
        "Register_sh",
        "登记示范区称号",
        "Enter the named districts in the title register.",
        "approver",
        30,
        0,
        op="register_titles",
        result="shanghai_titles",
        params={
            "kind": '"shanghai"',
            "cycle_id": "cycle_id",
            "districts": "shanghai_named",
            "named_on": "named_on",
            "document": "naming_document_no",
        },
    )
    with d.sub(
        "Start_management",
        "启动示范区管理",
        "For each named district: start its title management (annual reports, supervision).",
        "approver",
        multi=("shanghai_titles", "title_item", None, None),
        collapsed=True,
    ):
        d.add("startEvent", "Start_named", "", "One named district.", "approver", 31, 0)
        d.add(
            "intermediateThrowEvent",
            "Throw_named",
            "通知示范区管理",
            "Start the district's title management (message title_named).",
            "approver",
            32,
            0,
            message="title_named",
            payload='{"district": title_item["district"], "title_id": title_item["title_id"], '
            '"district_name": title_item["district_name"], "cycle_id": cycle_id, '
            '"named_on": named_on, "management": management, "reminder_workdays": reminder_workdays, '
            '"cutoff_time": cutoff_time}',
        )
        d.add("endEvent", "End_named", "", "Started.", "approver", 33, 0)
        d.chain("Start_named", "Throw_named", "End_named")
    d.flow("Split", "Task_name")
    d.chain("Task_name", "Named", "Register_sh", "Start_management")

    # -- national recommendations --------------------------------------------------------------
    d.add("exclusiveGateway", "Gw_national", "有国家推荐？", "Any national recommendation?", "city", 28, 0)
    d.add(
        "userTask",
        "Task_national",
        "录入国家审核命名结果",
        "Record the State's result, unless it arrives as a message.",
        "city",
        29,
        0,
        form="forms/national_result.json",
        instructions="全国婴幼儿照护服务示范城市由国家审核命名。收到国家命名文件后，请录入经国家命名的区、文件和日期。"
        "若国家结果以系统消息送达，本任务自动结束。",
    )
    d.boundary(
        "Msg_national",
        "收到国家命名结果",
        "The State's result arrives as a message (national_result).",
        "Task_national",
        message="national_result",
        var="national_message",
    )
    d.add(
        "scriptTask",
        "From_state",
        "采用国家通知结果",
        "Take the names from the State's message.",
        "city",
        30,
        1,
        script='national_named = national_message["named"]\nnational_document = national_message["document"]\n'
        'national_named_on = national_message["named_on"]',
    )
    d.add("exclusiveGateway", "Gw_national_in", "", "Result recorded.", "city", 31, 0)
    d.add(
        "serviceTask",
        "Register_cn",
        "登记国家命名",
        "Enter the districts named by the State in the register.",
        "city",
        32,
        0,
        op="register_titles",
        result="national_titles",
        params={
            "kind": '"national"',
            "cycle_id": "cycle_id",
            "named_on": "national_named_on",
            "districts": '[c for c in final_candidates["national"] if c["code"] in national_named]',
            "document": "national_document",
        },
    )
    d.add(
        "scriptTask",
        "No_national",
        "无国家推荐",
        "No national recommendation this cycle.",
        "city",
        32,
        1,
        script="national_titles = []",
    )
    d.add("exclusiveGateway", "Gw_national_out", "", "National part done.", "city", 33, 0)
    d.flow("Split", "Gw_national")
    d.flow("Gw_national", "Task_national", "有", "Yes.", condition='len(final_candidates["national"]) > 0')
    d.flow("Gw_national", "No_national", "无", "None.", default=True, via=[(28, "city", 1)])
    d.flow("Task_national", "Gw_national_in")
    d.flow("Msg_national", "From_state")
    d.flow("From_state", "Gw_national_in")
    d.chain("Gw_national_in", "Register_cn", "Gw_national_out")
    d.flow("No_national", "Gw_national_out")

    d.add("parallelGateway", "Join", "", "Both parts done.", "city", 34, 0)
    d.add(
        "userTask",
        "Task_commend",
        "表彰宣传",
        "Commend the titled districts and publicise their experience.",
        "city",
        35,
        0,
        form="forms/commendation.json",
        instructions="请对获评“全国婴幼儿照护服务示范城市”和“上海市婴幼儿照护服务示范区”称号的区给予表彰，并安排先进经验"
        "做法的宣传推广。",
    )
    d.add(
        "serviceTask",
        "Notify_titled",
        "通知获评各区",
        "Tell the titled districts (outbox).",
        "city",
        36,
        0,
        **notify(
            "result",
            '["区有关部门", "区委区政府"]',
            '[t["district"] for t in shanghai_titles + national_titles]',
            'f"{cycle_name}：命名与表彰"',
            'f"表彰文件：{commendation_document_no}"',
        ),
    )
    d.add("endEvent", "End_cycle", "本周期结束", "The cycle is closed.", "city", 37, 0)
    d.flow("Gw_national_out", "Join")
    d.flow("Start_management", "Join")
    d.chain("Join", "Task_commend", "Notify_titled", "End_cycle")
