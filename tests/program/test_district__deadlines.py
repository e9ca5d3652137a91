"""A district's deadlines: a reminder before each; a deadline moves only by the cycle-wide decision of
市有关部门 (调整各区期限), taken before it passes, for every running district at once, without
interrupting the work in hand; at a missed deadline 市有关部门 record the close with an account, which
the cycle receives as the district's outcome."""

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
from workflow.drafts import save_draft
from workflow.errors import DeadlinePastCalendar, InvalidData, PermissionDenied
from workflow.history import list_events
from workflow.registers import Outbox
from workflow.store import TaskDraft
from workflow.taskview import TaskView


def shanghai(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


DECISION = {"extension_stage": "application", "new_deadline": "2022-01-14",
            "extension_doc_no": "沪教委托幼〔2021〕20号", "extension_reason": "年末集中会议较多，统一延期两周。"}


def events(p: Program, instance_id: int) -> int:
    with p.db.read() as s:
        return len(list_events(s, instance_id))


def test_a_cycle_wide_decision_moves_a_deadline_for_every_running_district_without_interrupting_work(
    program: Program,
) -> None:
    """The only extension there is: 市有关部门's recorded decision (调整各区期限), before the deadline,
    for every district still in the cycle at once. Work in progress goes on: the task someone holds
    stays theirs, with its draft; its due date moves; the reminder comes again before the new date."""
    p = program
    cycle = p.start("creation_cycle", cycle_data(DISTRICTS[:2]))
    p.do(cycle, "Task_indicators", indicators())
    cases = p.cases("district_application")
    huangpu, xuhui = cases["310101"], cases["310104"]
    p.at("2021-12-20T10:00:00")
    p.do(huangpu, "Task_intention", intention("310101"))
    held = p.task(huangpu, "Task_leadership")
    leader = p.claim(held)
    p.run(lambda s: save_draft(s, TaskView.of(p.task(huangpu, "Task_leadership")), {"leadership_opinion": "草稿"},
                               actor=leader, now=p.now()))
    assert held.due_at == shanghai("2021-12-31T17:00:00")

    decision = p.task(cycle, "Task_extend")
    assert (decision.role, decision.district) == ("市有关部门", None)
    with pytest.raises(PermissionDenied):
        p.claim(decision, p.actor("district", "310101"))
    p.do(cycle, "Task_extend", DECISION)

    after = p.task(huangpu, "Task_leadership")
    assert (after.id, after.claimed_by) == (held.id, leader.name)  # the same task, still held
    assert after.due_at == shanghai("2022-01-14T17:00:00")
    assert p.task(xuhui, "Task_intention").due_at == shanghai("2022-01-14T17:00:00")
    with p.db.read() as s:
        assert s.get(TaskDraft, (held.id, leader.name)) is not None  # the draft is kept
        [recorded] = [r for e in list_events(s, cycle) for r in e.payload.get("handler_results", [])
                      if r["operation"] == "extend_cycle_deadline"]
        delivered = [e.payload for iid in (huangpu, xuhui) for e in list_events(s, iid)
                     if e.type == "message_delivered" and e.payload["message"] == "deadlines_changed"]
    assert recorded["result"]["change"] == {
        "stage": "application", "stage_name": "申报", "from": "2021-12-31", "to": "2022-01-14",
        "doc_no": "沪教委托幼〔2021〕20号", "reason": "年末集中会议较多，统一延期两周。", "decided_on": "2021-12-20"}
    assert [d["data"]["deadlines"]["application"] for d in delivered] == ["2022-01-14", "2022-01-14"]
    assert p.task(cycle, "Task_extend").state == "ready"  # open for a further decision

    p.at("2022-01-04T09:00:00")  # the old deadline passed: nobody is closed
    assert p.tasks(xuhui, "Task_apply_overdue") == [] and p.tasks(huangpu, "Task_apply_overdue") == []
    with p.db.read() as s:  # the reminder of 12-24 was dropped with the old deadline
        assert s.execute(select(Outbox.id).where(Outbox.kind == "reminder")).first() is None

    p.do(huangpu, "Task_leadership", leadership("approve"))
    p.do(huangpu, "Task_file", application("310101", "2022-01-10"))
    assert p.task(huangpu, "Task_self").due_at == shanghai("2022-05-31T17:00:00")
    p.at("2022-01-17T09:00:00")  # the new deadline passed on 01-14 at 17:00
    assert p.tasks(xuhui, "Task_intention") == []
    assert p.task(xuhui, "Task_apply_overdue").role == "市有关部门"
    with p.db.read() as s:  # reminded 5 working days before the new deadline, of the new deadline
        reminders = s.execute(select(Outbox.district, Outbox.body).where(Outbox.kind == "reminder")).all()
    assert {d for d, body in reminders if "2022-01-14" in body} == {"310104"}  # 黄浦 filed on 01-04
    assert all("2021-12-31" not in body for _d, body in reminders)
    p.check_history()


def test_a_decision_that_comes_too_late_or_breaks_the_order_of_the_stages_is_refused(program: Program) -> None:
    p = program
    cycle = p.start("creation_cycle", cycle_data(DISTRICTS[:2]))
    p.do(cycle, "Task_indicators", indicators())
    p.at("2021-12-20T10:00:00")
    city = p.claim(p.task(cycle, "Task_extend"))
    decision = p.task(cycle, "Task_extend")
    before = events(p, cycle)
    for change, message in (
        ({"new_deadline": "2022-06-10"}, "须早于下一阶段期限 2022-05-31"),
        ({"new_deadline": "2021-12-30"}, "须晚于原期限 2021-12-31"),
        ({"extension_stage": "selection"}, "extension_stage"),  # 9月30日 is not moved here (the form says so)
        ({"extension_doc_no": ""}, "extension_doc_no"),
    ):
        with pytest.raises(InvalidData, match=message):
            p.run(lambda s, change=change: p.engine.complete(s, decision.id, {**DECISION, **change}, actor=city,
                                                               now=p.now()))
    p.at("2022-01-04T09:00:00")  # the application deadline passed on 12-31 at 17:00
    with pytest.raises(InvalidData, match="已于 2021-12-31 17:00 届满"):
        p.run(lambda s: p.engine.complete(s, decision.id, DECISION, actor=city, now=p.now()))
    assert events(p, cycle) == before
    # the self-assessment deadline has not passed: it can still be moved
    p.run(lambda s: p.engine.complete(s, decision.id, {**DECISION, "extension_stage": "self_assessment",
                                                       "new_deadline": "2022-06-15"}, actor=city, now=p.now()))
    p.check_history()


def test_a_missed_deadline_is_closed_by_municipal_staff_with_an_account_and_never_extended(program: Program) -> None:
    p = program
    cycle = p.start("creation_cycle", cycle_data(DISTRICTS[:2]))
    p.do(cycle, "Task_indicators", indicators())
    cases = p.cases("district_application")
    huangpu, xuhui = cases["310101"], cases["310104"]
    p.at("2022-01-04T09:00:00")
    overdue = p.task(xuhui, "Task_apply_overdue")
    assert (overdue.role, overdue.district) == ("市有关部门", "310104")
    with pytest.raises(PermissionDenied, match="belongs to role '市有关部门'"):
        p.claim(overdue, p.actor("district", "310104"))
    city = p.claim(overdue)
    with pytest.raises(InvalidData, match="new_deadline"):  # the form has no extension to grant
        p.run(lambda s: p.engine.complete(s, overdue.id, {"overdue_reason": "改期", "new_deadline": "2022-01-14"},
                                          actor=city, now=p.now()))
    p.do(xuhui, "Task_apply_overdue", {"overdue_reason": "未在申报期限前提出申请。"})
    assert p.status(xuhui) == "completed"
    with p.db.read() as s:
        received = [e.payload["data"] for e in list_events(s, cycle) if e.type == "message_delivered"]
    assert [(o["district"], o["result"], o["stage"]) for o in received] == [
        ("310104", "missed_deadline", "application")]
    assert received[0]["reason"] == "逾期未完成申报：未在申报期限前提出申请。"
    assert p.tasks(huangpu, "Task_apply_overdue")
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
    """五(三): 市有关部门 organise the audit, so they record the close after a missed audit deadline;
    the panel neither extends its own deadline nor closes the district's application. Once every
    district's outcome is in, the cycle's decision on deadlines closes by itself."""
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
    assert p.task(huangpu, "Task_audit").due_at == shanghai("2022-07-31T17:00:00")
    p.at("2022-08-01T09:00:00")  # the audit deadline passed on 2022-07-31 at 17:00
    assert p.tasks(huangpu, "Task_audit") == []
    overdue = p.task(huangpu, "Task_audit_overdue")
    assert (overdue.role, overdue.district) == ("市有关部门", "310101")
    with pytest.raises(PermissionDenied, match="belongs to role '市有关部门'"):
        p.claim(overdue, p.actor("audit"))
    assert p.tasks(cycle, "Task_extend")
    p.do(huangpu, "Task_audit_overdue", {"overdue_reason": "审核专家组未能在期限前完成现场审核。"})
    assert p.tasks(cycle, "Task_extend") == []  # every outcome is in
    assert p.tasks(cycle, "Task_select")
    p.check_history()
