"""The public notice (公示, 五(四)): it runs the notice's five working days — a cycle may set more,
never fewer — from the day the publish step is completed by the engine's clock (no date is typed,
so none can be backdated), and objections are received until 17:00 of its last working day."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.program.scenarios import NOTICE, selected_cycle
from web.demo_data import DISTRICTS, cycle_data
from web.demo_driver import Program
from workflow.errors import InvalidData, MessageNotDelivered
from workflow.history import list_events
from workflow.registers import Notice


def notice_row(p: Program, cycle: int) -> tuple[str, str, int]:
    with p.db.read() as s:
        row = s.execute(select(Notice).where(Notice.instance_id == cycle)).scalar_one()
        return row.published_on.isoformat(), row.ends_on.isoformat(), row.workdays


def test_the_publication_date_is_the_day_the_step_is_completed_and_cannot_be_backdated(
    program: Program,
) -> None:
    p = program
    cycle = selected_cycle(p)
    p.at("2022-09-26T10:00:00")
    with pytest.raises(InvalidData, match="公示发布日期|not a field of this form") as backdated:
        p.do(cycle, "Task_publish", {**NOTICE, "published_on": "2022-09-01"})
    assert [e["field"] for e in backdated.value.details["errors"]] == ["published_on"]
    assert p.tasks(cycle, "Task_publish") != []  # nothing was saved
    p.do(cycle, "Task_publish", NOTICE)
    assert notice_row(p, cycle) == ("2022-09-26", "2022-09-30", 5)  # Monday to Friday

    # objections are received until 17:00 of the last working day, and not after
    p.at("2022-09-30T16:59:00")
    p.message("objection_received", {"cycle_id": "2021-2022"}, {"district": "310104", "content": "有意见。"})
    assert len(p.tasks(cycle, "Task_objection")) == 1
    p.at("2022-09-30T17:00:01")
    with pytest.raises(MessageNotDelivered):
        p.message(
            "objection_received", {"cycle_id": "2021-2022"}, {"district": "310101", "content": "迟到的异议。"}
        )
    with p.db.read() as s:
        recorded = [
            r["result"]
            for e in list_events(s, cycle)
            for r in e.payload.get("handler_results", [])
            if r["operation"] == "publish_notice"
        ]
    assert [(r["published_on"], r["ends_on"]) for r in recorded] == [("2022-09-26", "2022-09-30")]
    p.check_history()


def test_a_notice_shorter_than_five_working_days_is_refused_and_a_longer_one_is_kept(
    program: Program,
) -> None:
    p = program
    for short in (3, 4):
        with pytest.raises(InvalidData, match="不少于5个工作日"):
            p.start("creation_cycle", cycle_data(DISTRICTS[:2], notice_workdays=short))
    assert p.cases("creation_cycle") == {}

    cycle = selected_cycle(p, notice_workdays=7)
    p.at("2022-09-26T10:00:00")
    p.do(cycle, "Task_publish", NOTICE)
    # 26–30 September, then the National Day holiday; 8 and 9 October 2022 were working weekend days
    assert notice_row(p, cycle) == ("2022-09-26", "2022-10-09", 7)
    p.check_history()


def test_a_cycle_started_without_the_local_settings_gets_the_notice_period_and_their_defaults(
    program: Program,
) -> None:
    p = program
    data = cycle_data(DISTRICTS[:2])
    for setting in ("notice_workdays", "reminder_workdays", "management"):
        del data[setting]
    cycle = p.start("creation_cycle", data)
    with p.db.read() as s:
        started = list_events(s, cycle)[0].payload["data"]
    assert (started["notice_workdays"], started["reminder_workdays"]) == (5, 5)
    assert started["management"] == {
        "annual_report_opens": "01-04",
        "annual_report_due": "03-31",
        "satisfaction_threshold": 80,
    }
    p.check_history()
