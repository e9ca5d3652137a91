"""A district's deadlines: a reminder before each, and at a missed one municipal staff either grant a
recorded extension (later than the missed deadline and today, earlier than the next stage's) or close
the case with that reason, which the cycle receives as the district's outcome."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from web.demo_data import (
    DISTRICTS,
    application,
    assignment,
    cycle_data,
    indicators,
    intention,
    leadership,
    self_assessment,
)
from web.demo_driver import Program
from workflow.clock import SHANGHAI
from workflow.errors import DeadlinePastCalendar, InvalidData, PermissionDenied
from workflow.history import list_events
from workflow.registers import Outbox


def shanghai(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def test_an_extension_is_granted_within_limits_and_a_missed_deadline_ends_the_case(program: Program) -> None:
    p = program
    cycle = p.start("creation_cycle", cycle_data(DISTRICTS[:2]))
    p.do(cycle, "Task_indicators", indicators())
    cases = p.cases("district_application")
    huangpu, xuhui = cases["310101"], cases["310104"]
    p.at("2021-12-20T10:00:00")
    p.do(huangpu, "Task_intention", intention("310101"))
    p.do(huangpu, "Task_leadership", leadership("approve"))
    p.at("2022-01-04T09:00:00")  # reminders on 12-24; the application deadline passed on 12-31 at 17:00
    with p.db.read() as s:
        reminded = s.execute(select(Outbox.district, Outbox.role).where(Outbox.kind == "reminder")).all()
    assert {d for d, _role in reminded} == {"310101", "310104"}
    assert p.tasks(huangpu, "Task_file") == [] and p.tasks(xuhui, "Task_intention") == []

    with pytest.raises(PermissionDenied, match="belongs to role '市有关部门'"):
        p.claim(p.task(xuhui, "Task_apply_overdue"), p.actor("district", "310104"))
    with pytest.raises(PermissionDenied, match="district 310104"):
        p.run(
            lambda s: p.engine.start(
                s, "creation_cycle", {"district": "310101"}, actor=p.actor("district", "310104"), now=p.now()
            )
        )
    overdue = p.task(huangpu, "Task_apply_overdue")
    assert (overdue.role, overdue.district) == ("市有关部门", "310101")
    city = p.claim(overdue)
    for new, message in (
        ("2022-06-10", "须早于下一阶段期限 2022-05-31"),
        ("2021-12-30", "须晚于原期限 2021-12-31"),
    ):
        with pytest.raises(InvalidData, match=message):
            p.run(
                lambda s, new=new: p.engine.complete(
                    s,
                    overdue.id,
                    {
                        "overdue_action": "extend",
                        "new_deadline": new,
                        "overdue_reason": "区政府常务会议改期。",
                    },
                    actor=city,
                    now=p.now(),
                )
            )
    with pytest.raises(InvalidData, match="新的期限"):  # the form requires the new deadline
        p.run(
            lambda s: p.engine.complete(
                s,
                overdue.id,
                {"overdue_action": "extend", "overdue_reason": "改期。"},
                actor=city,
                now=p.now(),
            )
        )
    p.run(
        lambda s: p.engine.complete(
            s,
            overdue.id,
            {
                "overdue_action": "extend",
                "new_deadline": "2022-01-14",
                "overdue_reason": "区政府常务会议改期，申请延期两周。",
            },
            actor=city,
            now=p.now(),
        )
    )
    refile = p.task(huangpu, "Task_file")  # the intention was approved already: straight to filing
    assert refile.due_at == shanghai("2022-01-14T17:00:00")
    with pytest.raises(PermissionDenied, match="belongs to district 310101"):
        p.claim(refile, p.actor("district", "310104"))
    p.do(huangpu, "Task_file", application("310101", "2022-01-10"))
    assert p.task(huangpu, "Task_self").due_at == shanghai("2022-05-31T17:00:00")

    p.do(
        xuhui, "Task_apply_overdue", {"overdue_action": "close", "overdue_reason": "未在申报期限前提出申请。"}
    )
    assert p.status(xuhui) == "completed"
    with p.db.read() as s:
        extension = [
            r
            for e in list_events(s, huangpu)
            for r in e.payload.get("handler_results", [])
            if r["operation"] == "grant_extension"
        ]
        sent = [e for e in list_events(s, xuhui) if e.payload.get("messages_sent")]
        received = [e.payload["data"] for e in list_events(s, cycle) if e.type == "message_delivered"]
    assert [r["result"]["application"] for r in extension] == ["2022-01-14"]
    assert sent[-1].actor == "city"
    assert [(o["district"], o["result"], o["stage"]) for o in received] == [
        ("310104", "missed_deadline", "application")
    ]
    assert received[0]["reason"] == "逾期未完成申报：未在申报期限前提出申请。"
    p.check_history()


def test_a_cycle_with_deadlines_in_a_year_the_calendar_does_not_know_is_refused_with_the_fix(
    program: Program,
) -> None:
    p = program
    later = {
        "application": "2026-12-31",
        "self_assessment": "2027-05-31",
        "audit": "2027-07-30",
        "selection": "2027-09-30",
        "naming": "2027-12-31",
    }
    with pytest.raises(DeadlinePastCalendar, match="does not know the year 2027.*shanyu calendar import"):
        p.start("creation_cycle", cycle_data(DISTRICTS[:2], cycle_id="2026-2027", deadlines=later))
    assert p.cases("creation_cycle") == {}


def test_a_missed_audit_deadline_is_decided_by_municipal_staff_not_the_audit_panel(program: Program) -> None:
    """五(三): 市有关部门 organise the audit, so they decide on a missed audit deadline; the panel
    neither extends its own deadline nor closes the district's application."""
    p = program
    cycle = p.start("creation_cycle", cycle_data(DISTRICTS[:1]))
    p.do(cycle, "Task_indicators", indicators())
    huangpu = p.cases("district_application")["310101"]
    p.at("2021-12-20T10:00:00")
    p.do(huangpu, "Task_intention", intention("310101"))
    p.do(huangpu, "Task_leadership", leadership("approve"))
    p.do(huangpu, "Task_file", application("310101"))
    p.do(huangpu, "Task_self", self_assessment(90, 3_000))
    p.do(huangpu, "Task_assign", assignment("2022-06-20"))
    p.at("2022-08-01T09:00:00")  # the audit deadline passed on 2022-07-31 at 17:00
    assert p.tasks(huangpu, "Task_audit") == []
    overdue = p.task(huangpu, "Task_audit_overdue")
    assert (overdue.role, overdue.district) == ("市有关部门", "310101")
    with pytest.raises(PermissionDenied, match="belongs to role '市有关部门'"):
        p.claim(overdue, p.actor("audit"))
    p.do(
        huangpu,
        "Task_audit_overdue",
        {
            "overdue_action": "extend",
            "new_deadline": "2022-08-12",
            "overdue_reason": "专家组成员调整，延期两周。",
        },
    )
    audit_task = p.task(huangpu, "Task_audit")  # assigned already: back to the panel's audit
    assert (audit_task.role, audit_task.due_at) == ("审核专家组", shanghai("2022-08-12T17:00:00"))
    p.check_history()
