"""Reusable stretches of the scenario tests: a short cycle over a few districts that all pass and are
all named (the starting point of the title-management and revocation scenarios), and a district's way
through the stages. The first cycle, the annual reports and the revocation steps the demo plays too
are in ``web.demo_story``."""

from __future__ import annotations

from typing import Any

from web.demo_data import (
    DISTRICTS,
    application,
    assignment,
    audit,
    cycle_data,
    indicators,
    intention,
    leadership,
    selection,
    self_assessment,
)
from web.demo_driver import Program

SMALL = DISTRICTS[:4]  # 黄浦, 徐汇, 长宁, 静安
NOTICE = {
    "notice_title": "关于示范区拟命名名单的公示",
    "notice_url": "https://www.shanghai.gov.cn/notice/2022-0926",
}


def district_through_audit(p: Program, iid: int, code: str, places: int, percent: int = 90) -> None:
    """One district applies, self-assesses and passes the audit (the clock is not moved)."""
    p.do(iid, "Task_intention", intention(code))
    p.do(iid, "Task_leadership", leadership("approve"))
    p.do(iid, "Task_file", application(code))
    p.do(iid, "Task_self", self_assessment(percent, places))
    p.do(iid, "Task_assign", assignment("2022-06-20"))
    p.do(iid, "Task_audit", audit("pass", percent, places))


def selected_cycle(p: Program, **changes: Any) -> int:
    """A cycle over 黄浦 and 徐汇, both audited and selected on 2022-09-20; the publish task is next."""
    quotas = changes.pop("quotas", {"national_share": 0.5, "shanghai_share": 1.0})
    cycle = p.start("creation_cycle", cycle_data(DISTRICTS[:2], quotas=quotas, **changes))
    p.do(cycle, "Task_indicators", indicators())
    cases = p.cases("district_application", after=cycle)
    p.at("2021-12-20T10:00:00")
    for code, _name, _population, places in DISTRICTS[:2]:
        district_through_audit(p, cases[code], code, places)
    p.at("2022-09-20T10:00:00")
    p.do(cycle, "Task_select", selection(["310101", "310104"], []))
    return cycle


def small_cycle(p: Program, **changes: Any) -> dict[str, int]:
    """A cycle over four districts, all selected and named on 2022-12-28 (黄浦 also by the State);
    returns the title-management case of each named district. ``changes`` replace top-level keys of
    the cycle's data (its steps all happen at 10:00, so a ``cutoff_time`` after that changes none)."""
    data = cycle_data(SMALL, **{"quotas": {"national_share": 0.25, "shanghai_share": 1.0}, **changes})
    cycle = p.start("creation_cycle", data)
    p.do(cycle, "Task_indicators", indicators())
    cases = p.cases("district_application", after=cycle)
    p.at("2021-12-20T10:00:00")
    for index, (code, _name, _population, places) in enumerate(SMALL):
        district_through_audit(p, cases[code], code, places, 92 - index)
    p.at("2022-09-20T10:00:00")
    codes = [code for code, *_ in SMALL]
    p.do(
        cycle,
        "Task_select",
        selection(codes, codes[:1], "综合现场审核、上报资料和数据审核情况，四个区均达到示范区标准。"),
    )
    p.at("2022-09-26T10:00:00")
    p.do(
        cycle,
        "Task_publish",
        {
            "notice_title": "关于示范区拟命名名单的公示",
            "notice_url": "https://www.shanghai.gov.cn/notice/2022-0926",
        },
    )
    p.at("2022-10-12T10:00:00")
    p.do(
        cycle,
        "Task_report",
        {
            "report_document_no": "沪教委托幼〔2022〕21号",
            "reported_on": "2022-10-12",
            "report_summary": "公示期满无异议，报请审批命名。",
        },
    )
    p.do(
        cycle,
        "Task_national",
        {
            "national_named": codes[:1],
            "national_document": "国卫人口函〔2022〕300号",
            "national_named_on": "2022-12-20",
        },
    )
    p.at("2022-12-28T10:00:00")
    p.do(
        cycle,
        "Task_name",
        {
            "naming_document_no": "沪教委托幼〔2022〕30号",
            "named_on": "2022-12-28",
            "excluded_districts": [],
            "approval_opinion": "同意命名。",
        },
    )
    p.do(
        cycle,
        "Task_commend",
        {
            "commendation_document_no": "沪教委托幼〔2022〕31号",
            "commended_on": "2022-12-30",
            "publicity_summary": "宣传推广示范区经验。",
        },
    )
    assert p.status(cycle) == "completed"
    managed = p.cases("title_management", after=cycle)
    return {str(code): iid for code, iid in managed.items()}
