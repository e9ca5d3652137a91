"""Deadlines as the notice puts them (五(四)) and the local settings around them (本地设定):
the selection deadline covers 评审遴选, 公示 and 上报 together, so the publish step shows the latest
publication date and a late publication is recorded; the cut-off time of deadlines and of the
objection window is cycle data; a quota cap holds "原则上", exceeded only with a recorded reason."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.program.scenarios import NOTICE, district_through_audit, selected_cycle
from web.demo_data import DISTRICTS, cycle_data, indicators, selection
from web.demo_driver import Program
from workflow.clock import SHANGHAI
from workflow.errors import InvalidData, MessageNotDelivered
from workflow.history import list_events
from workflow.store import Timer


def results(p: Program, cycle: int, operation: str) -> list[dict[str, Any]]:
    """What the cycle's history recorded for ``operation``, in order."""
    with p.db.read() as s:
        return [
            r["result"]
            for e in list_events(s, cycle)
            for r in e.payload.get("handler_results", [])
            if r["operation"] == operation
        ]


def test_the_publish_step_knows_the_latest_publication_date_and_a_late_one_is_recorded(
    program: Program,
) -> None:
    p = program
    cycle = selected_cycle(p)  # selected on 2022-09-20; the selection deadline is 2022-09-30
    [publish_by] = results(p, cycle, "latest_publication")
    # five working days 23–29 September, the report on the 30th (report_workdays: 1 by default)
    assert publish_by == {
        "latest_on": "2022-09-23",
        "notice_ends_on": "2022-09-29",
        "report_on": "2022-09-30",
        "selection_deadline": "2022-09-30",
        "notice_workdays": 5,
        "report_workdays": 1,
    }
    p.at("2022-09-26T10:00:00")  # the Monday after: too late to end the notice and report by the 30th
    p.do(cycle, "Task_publish", NOTICE)  # published all the same: the candidates must be made public
    [published] = results(p, cycle, "publish_notice")
    assert (published["published_on"], published["latest_on"], published["late"]) == (
        "2022-09-26",
        "2022-09-23",
        True,
    )
    p.check_history()


def test_a_publication_on_time_is_not_late_and_the_report_days_are_a_setting(program: Program) -> None:
    p = program
    cycle = selected_cycle(p, report_workdays=0)  # the report goes up the day the notice ends
    [publish_by] = results(p, cycle, "latest_publication")
    assert (publish_by["latest_on"], publish_by["report_on"]) == ("2022-09-26", "2022-09-30")
    p.at("2022-09-26T10:00:00")
    p.do(cycle, "Task_publish", NOTICE)
    [published] = results(p, cycle, "publish_notice")
    assert (published["late"], published["ends_on"]) == (False, "2022-09-30")
    p.check_history()


def test_the_cut_off_time_of_the_notice_and_the_stage_deadlines_is_cycle_data(program: Program) -> None:
    p = program
    cycle = selected_cycle(p, cutoff_time="12:00")
    with p.db.read() as s:
        due = {
            at.astimezone(SHANGHAI).isoformat()
            for at in s.execute(select(Timer.due_at).where(Timer.bpmn_id == "Timer_apply_deadline")).scalars()
        }
    assert due == {"2021-12-31T12:00:00+08:00"}  # both districts' application deadline
    p.at("2022-09-26T10:00:00")
    p.do(cycle, "Task_publish", NOTICE)
    p.at("2022-09-30T11:59:00")
    p.message("objection_received", {"cycle_id": "2021-2022"}, {"district": "310104", "content": "有意见。"})
    assert len(p.tasks(cycle, "Task_objection")) == 1
    p.at("2022-09-30T12:00:01")
    with pytest.raises(MessageNotDelivered):
        p.message("objection_received", {"cycle_id": "2021-2022"}, {"district": "310101", "content": "迟到。"})
    p.check_history()


def test_a_cycle_started_without_the_new_settings_gets_their_defaults(program: Program) -> None:
    p = program
    data = cycle_data(DISTRICTS[:2])
    data["quotas"] = {"national_share": 0.5, "shanghai_share": 1.0}
    cycle = p.start("creation_cycle", data)
    with p.db.read() as s:
        started = list_events(s, cycle)[0].payload["data"]
    assert (started["cutoff_time"], started["report_workdays"], started["quotas"]["rounding"]) == (
        "17:00",
        1,
        "half_up",
    )
    [quota] = results(p, cycle, "quota_caps")
    assert quota["rounding"] == "half_up"
    p.do(cycle, "Task_indicators", indicators())
    with p.db.read() as s:
        due = {
            at.astimezone(SHANGHAI).isoformat()
            for at in s.execute(select(Timer.due_at).where(Timer.bpmn_id == "Timer_apply_deadline")).scalars()
        }
    assert due == {"2021-12-31T17:00:00+08:00"}
    p.check_history()


def test_a_quota_cap_is_exceeded_only_with_a_reason_recorded_in_the_history(program: Program) -> None:
    p = program
    quotas = {"national_share": 0.5, "shanghai_share": 0.5, "rounding": "down"}  # 2 × 0.5: one of each
    cycle = p.start("creation_cycle", cycle_data(DISTRICTS[:2], quotas=quotas))
    p.do(cycle, "Task_indicators", indicators())
    cases = p.cases("district_application", after=cycle)
    p.at("2021-12-20T10:00:00")
    for code, _name, _population, places in DISTRICTS[:2]:
        district_through_audit(p, cases[code], code, places)
    p.at("2022-09-20T10:00:00")
    both = selection(["310101", "310104"], [])
    with pytest.raises(InvalidData, match="超过本周期限额 1 个.*超出限额的理由"):
        p.do(cycle, "Task_select", both)
    assert p.tasks(cycle, "Task_select") != []  # nothing was saved
    reason = "两区现场审核得分相同且均明显高于其他区，经市有关部门研究，原则上限额外一并拟命名。"
    p.do(cycle, "Task_select", {**both, "over_quota_reason": reason})
    [candidates] = results(p, cycle, "check_selection")
    assert sorted(c["code"] for c in candidates["shanghai"]) == ["310101", "310104"]  # in ranking order
    with p.db.read() as s:
        [completed] = [
            e for e in list_events(s, cycle) if e.type == "task_completed" and "shanghai_selected" in e.payload["data"]
        ]
    assert completed.payload["data"]["over_quota_reason"] == reason
    assert p.tasks(cycle, "Task_publish") != []
    p.check_history()
