"""A whole first cycle over the 16 districts with the notice's real dates (2021-12 → 2022-12) on a
fake clock: three districts decline, one misses the self-assessment deadline, one fails the audit,
eleven pass; a selection over quota is refused with the cap; six Shanghai districts and two
national recommendations are selected; the public notice published on 2022-09-29 runs through the
National Day holiday and ends on 2022-10-10; an upheld objection removes one candidate; the approver
names five districts, the State names two; the register shows the titles and every case replays."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from tests.program.conftest import Program
from tests.program.data import (
    ASSIGNMENT,
    DISTRICTS,
    NAMES,
    application,
    audit,
    cycle_data,
    intention,
    leadership,
    self_assessment,
)
from workflow.clock import SHANGHAI
from workflow.errors import InvalidData
from workflow.history import list_events
from workflow.registers import Notice, Outbox, titles
from workflow.store import Instance, Timer

DECLINE = {"310116", "310120", "310151"}  # 金山, 奉贤, 崇明 decide not to apply this cycle
LATE_FILER = "310107"  # 普陀 files after the reminder, still in time
MISSES_SELF = "310118"  # 青浦 misses the self-assessment deadline
FAILS_AUDIT = "310113"  # 宝山 fails the on-site audit
CYCLE_KEY = {"cycle_id": "2021-2022"}


def shanghai(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def applicants() -> list[tuple[str, int]]:
    return [(code, places) for code, _n, _p, places in DISTRICTS if code not in DECLINE]


def audit_percent(code: str) -> int:
    """A distinct audit result per district, so that the ranking is clear: earlier codes score higher."""
    return 96 - 2 * [c for c, _n, _p, _k in DISTRICTS].index(code)


def run_applications(p: Program, districts: dict[str | None, int]) -> None:
    p.at("2021-12-13T10:00:00")
    for code, iid in districts.items():
        p.do(iid, "Task_intention", intention(str(code)))
    p.at("2021-12-15T15:00:00")
    for code, iid in districts.items():
        p.do(iid, "Task_leadership", leadership("decline" if code in DECLINE else "approve"))
    p.at("2021-12-20T10:00:00")
    for code, iid in districts.items():
        if code not in DECLINE and code != LATE_FILER:
            p.do(iid, "Task_file", application(str(code)))
    p.at("2021-12-27T10:00:00")  # the application reminder fell due on 2021-12-24 09:00
    p.do(districts[LATE_FILER], "Task_file", application(LATE_FILER, "2021-12-27"))


def run_self_assessments_and_audits(p: Program, districts: dict[str | None, int]) -> None:
    p.at("2022-05-10T10:00:00")
    for code, places in applicants():
        if code != MISSES_SELF:
            p.do(districts[code], "Task_self", self_assessment(audit_percent(code) + 1, places))
    late = p.task(districts[MISSES_SELF], "Task_self")
    assert late.due_at == shanghai("2022-05-31T17:00:00")
    p.at("2022-06-01T09:00:00")  # reminder on 05-24, deadline passed on 05-31 at 17:00
    assert p.tasks(districts[MISSES_SELF], "Task_self") == []
    p.do(
        districts[MISSES_SELF],
        "Task_self_overdue",
        {"overdue_action": "close", "overdue_reason": "未在创建自评期限前报送自评报告和相关资料。"},
    )
    assert p.status(districts[MISSES_SELF]) == "completed"
    p.at("2022-06-15T10:00:00")
    for code, _places in applicants():
        if code != MISSES_SELF:
            p.do(districts[code], "Task_assign", ASSIGNMENT)
    p.at("2022-06-28T16:00:00")
    for code, places in applicants():
        if code != MISSES_SELF:
            conclusion = "fail" if code == FAILS_AUDIT else "pass"
            p.do(districts[code], "Task_audit", audit(conclusion, audit_percent(code), places))


def test_a_whole_first_cycle(program: Program) -> None:
    p = program
    cycle = p.start("creation_cycle", cycle_data())
    p.do(
        cycle,
        "Task_indicators",
        {
            "indicators_document_no": "沪教委托幼〔2021〕9号",
            "indicators_published_on": "2021-12-10",
            "indicators_confirmed": True,
        },
    )
    districts = p.cases("district_application")
    assert sorted(districts) == sorted(code for code, *_ in DISTRICTS)
    first = p.task(districts["310101"], "Task_intention")
    assert (first.role, first.district, first.due_at) == (
        "区有关部门",
        "310101",
        shanghai("2021-12-31T17:00:00"),
    )

    run_applications(p, districts)
    assert all(p.status(districts[code]) == "completed" for code in DECLINE)
    with p.db.read() as s:
        reminders = s.execute(select(Outbox.district).where(Outbox.kind == "reminder")).scalars().all()
    assert set(reminders) == {LATE_FILER}
    run_self_assessments_and_audits(p, districts)
    assert all(p.status(iid) == "completed" for iid in districts.values())

    select_task = p.task(cycle, "Task_select")
    ranking = handler_result(p, cycle, "rank_candidates")
    assert ranking["counts"] == {
        "invited": 16,
        "passed": 11,
        "failed": 1,
        "declined": 3,
        "missed_deadline": 1,
    }
    passed = [code for code, *_ in DISTRICTS if code not in DECLINE | {MISSES_SELF, FAILS_AUDIT}]
    p.at("2022-09-20T10:00:00")
    city = p.claim(select_task)
    before = _event_count(p, cycle)
    review = {
        "review_summary": "综合现场审核、上报资料和数据审核情况，按得分择优遴选。",
        "data_check_done": True,
    }
    with pytest.raises(InvalidData, match="超过本周期限额 6 个.*cap for this cycle is 6 \\(40% of 16"):
        p.run(
            lambda s: p.engine.complete(
                s,
                select_task.id,
                {**review, "shanghai_selected": passed[:7], "national_selected": passed[:2]},
                actor=city,
                now=p.now(),
            )
        )
    with pytest.raises(InvalidData, match="cap for this cycle is 2 \\(10% of 16"):
        p.run(
            lambda s: p.engine.complete(
                s,
                select_task.id,
                {**review, "shanghai_selected": passed[:6], "national_selected": passed[:3]},
                actor=city,
                now=p.now(),
            )
        )
    with pytest.raises(InvalidData, match=f"{FAILS_AUDIT} did not pass the on-site audit"):
        p.run(
            lambda s: p.engine.complete(
                s,
                select_task.id,
                {**review, "shanghai_selected": [FAILS_AUDIT], "national_selected": []},
                actor=city,
                now=p.now(),
            )
        )
    assert _event_count(p, cycle) == before and p.task(cycle, "Task_select").claimed_by == city.name
    p.run(
        lambda s: p.engine.complete(
            s,
            select_task.id,
            {**review, "shanghai_selected": passed[:6], "national_selected": passed[:2]},
            actor=city,
            now=p.now(),
        )
    )

    p.at("2022-09-29T10:00:00")
    p.do(
        cycle,
        "Task_publish",
        {
            "published_on": "2022-09-29",
            "notice_title": "关于第一批上海市婴幼儿照护服务示范区拟命名名单的公示",
            "notice_url": "https://www.shanghai.gov.cn/notice/2022-0929",
        },
    )
    with p.db.read() as s:
        notice = s.execute(select(Notice)).scalar_one()
        notice_timer = s.execute(
            select(Timer).where(Timer.bpmn_id == "Timer_notice_end", Timer.state == "waiting")
        ).scalar_one()
    # 09-29 and 09-30, National Day 10-01..10-07, adjusted working days 10-08 and 10-09, then 10-10
    assert (notice.published_on.isoformat(), notice.ends_on.isoformat()) == ("2022-09-29", "2022-10-10")
    assert notice_timer.due_at == shanghai("2022-10-10T17:00:00")

    p.at("2022-10-08T10:00:00")
    removed, kept = passed[5], passed[0]
    p.message(
        "objection_received",
        CYCLE_KEY,
        {"district": removed, "content": "该区托位数据存在虚报。", "contact": "市民甲"},
    )
    p.at("2022-10-09T10:00:00")
    p.message(
        "objection_received",
        CYCLE_KEY,
        {"district": kept, "content": "对该区托育服务有意见。", "contact": "市民乙"},
    )
    first_objection, second_objection = p.tasks(cycle, "Task_objection")
    p.complete(
        first_objection,
        {
            "objection_result": "upheld",
            "objection_district": removed,
            "objection_verification": "经核查，托位数据与实际不符，异议成立。",
            "objection_reply": "异议成立，取消该区拟命名资格。",
        },
    )
    p.at("2022-10-10T16:59:00")
    assert p.tasks(cycle, "Task_report") == []  # the notice still runs
    p.complete(
        second_objection,
        {
            "objection_result": "dismissed",
            "objection_verification": "经核查，反映问题不属实。",
            "objection_reply": "经核查不属实，异议不成立。",
        },
    )
    assert p.tasks(cycle, "Task_report") == []
    p.at("2022-10-10T17:01:00")
    with p.db.read() as s:
        notice = s.execute(select(Notice)).scalar_one()
    final = json.loads(notice.final)
    assert notice.status == "closed"
    assert sorted(c["code"] for c in final["shanghai"]) == [c for c in passed[:6] if c != removed]
    assert sorted(c["code"] for c in final["national"]) == passed[:2]
    assert [o["result"] for o in json.loads(notice.objections)] == ["upheld", "dismissed"]

    p.at("2022-10-12T10:00:00")
    p.do(
        cycle,
        "Task_report",
        {
            "report_document_no": "沪教委托幼〔2022〕21号",
            "reported_on": "2022-10-12",
            "report_summary": "公示期满，拟命名5个区，推荐2个区申报全国婴幼儿照护服务示范城市。",
        },
    )
    p.at("2022-12-20T10:00:00")
    p.message(
        "national_result",
        CYCLE_KEY,
        {"named": passed[:2], "document": "国卫人口函〔2022〕300号", "named_on": "2022-12-20"},
    )
    p.at("2022-12-28T10:00:00")  # the naming reminder fell due on 2022-12-26 09:00
    p.do(
        cycle,
        "Task_name",
        {
            "naming_document_no": "沪教委托幼〔2022〕30号",
            "named_on": "2022-12-28",
            "excluded_districts": [],
            "approval_opinion": "同意命名第一批上海市婴幼儿照护服务示范区。",
        },
    )
    p.at("2022-12-30T10:00:00")
    p.do(
        cycle,
        "Task_commend",
        {
            "commendation_document_no": "沪教委托幼〔2022〕31号",
            "commended_on": "2022-12-30",
            "publicity_summary": "召开推进会，宣传推广示范区先进经验做法。",
        },
    )
    assert p.status(cycle) == "completed"

    with p.db.read() as s:
        register = {(t.kind, t.district): t.status for t in titles(s)}
        naming_reminder = (
            s.execute(select(Outbox).where(Outbox.kind == "reminder", Outbox.role == "市级审批"))
            .scalars()
            .all()
        )
    named = [c for c in passed[:6] if c != removed]
    assert register == {
        **{("shanghai", c): "named" for c in named},
        **{("national", c): "named" for c in passed[:2]},
    }
    assert len(naming_reminder) == 1
    managed = p.cases("title_management")
    assert sorted(c for c in managed if c) == sorted(named)
    with p.db.read() as s:
        opens = (
            s.execute(
                select(Timer.due_at).where(Timer.instance_id == managed[named[0]], Timer.state == "waiting")
            )
            .scalars()
            .all()
        )
        assert s.execute(select(Instance).where(Instance.status == "running")).scalars().all()
    assert opens == [shanghai("2023-01-04T09:00:00")]
    assert [NAMES[c] for c in named] == ["黄浦区", "徐汇区", "长宁区", "静安区", "普陀区"]
    assert p.assert_history_sound() == 1 + 16 + 5


def handler_result(p: Program, instance_id: int, operation: str) -> Any:
    """The latest recorded result of a handler in a case's history."""
    with p.db.read() as s:
        results = [
            r["result"]
            for e in list_events(s, instance_id)
            for r in e.payload.get("handler_results", [])
            if r["operation"] == operation
        ]
    assert results, f"case {instance_id} never called {operation}"
    return results[-1]


def _event_count(p: Program, instance_id: int) -> int:
    with p.db.read() as s:
        inst = s.get(Instance, instance_id)
        assert inst is not None
        return inst.event_count
