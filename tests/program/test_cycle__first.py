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

from web.demo_data import DISTRICTS, NAMES
from web.demo_driver import Program
from web.demo_story import FirstCycle
from workflow.clock import SHANGHAI
from workflow.errors import InvalidData
from workflow.history import list_events
from workflow.registers import Notice, Outbox, titles
from workflow.store import Instance, Timer

DECLINE = FirstCycle.DECLINE  # 金山, 奉贤, 崇明 decide not to apply this cycle
LATE_FILER = FirstCycle.LATE_FILER  # 普陀 files after the reminder, still in time
MISSES_SELF = FirstCycle.MISSES_SELF  # 青浦 misses the self-assessment deadline
FAILS_AUDIT = FirstCycle.FAILS_AUDIT  # 宝山 fails the on-site audit


def shanghai(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def test_a_whole_first_cycle(program: Program) -> None:
    p = program
    run = FirstCycle(p)
    run.open()
    cycle, districts = run.cycle, run.districts
    assert sorted(districts) == sorted(code for code, *_ in DISTRICTS)
    first = p.task(districts["310101"], "Task_intention")
    assert (first.role, first.district, first.due_at) == (
        "区有关部门",
        "310101",
        shanghai("2021-12-31T17:00:00"),
    )

    run.applications()
    assert all(p.status(districts[code]) == "completed" for code in DECLINE)
    with p.db.read() as s:
        reminders = s.execute(select(Outbox.district).where(Outbox.kind == "reminder")).scalars().all()
    assert set(reminders) == {LATE_FILER}
    run.self_assessments()
    late = p.task(districts[MISSES_SELF], "Task_self")
    assert late.due_at == shanghai("2022-05-31T17:00:00")
    p.at("2022-06-01T09:00:00")  # reminder on 05-24, deadline passed on 05-31 at 17:00
    assert p.tasks(districts[MISSES_SELF], "Task_self") == []
    run.missed_self_assessment()
    assert p.status(districts[MISSES_SELF]) == "completed"
    run.audits()
    assert all(p.status(iid) == "completed" for iid in districts.values())
    with p.db.read() as s:  # each district is told its outcome in words, never by the outcome's code
        told = dict(s.execute(select(Outbox.district, Outbox.body).where(Outbox.kind == "result")).all())
    assert set(told) == {code for code, *_ in DISTRICTS}
    assert "申报结果：不申报。" in told[sorted(DECLINE)[0]] and "申报结果：逾期未完成。" in told[MISSES_SELF]
    assert "申报结果：现场审核未通过。" in told[FAILS_AUDIT]
    assert "申报结果：现场审核通过，进入统一评审遴选。" in told["310101"]
    assert not any(code in body for body in told.values()
                   for code in ("passed", "failed", "declined", "missed_deadline"))

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
    assert passed == FirstCycle.passed()
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
    run.select()  # passed[:6] and passed[:2], completed by the user who claimed it

    run.publish()
    with p.db.read() as s:
        notice = s.execute(select(Notice)).scalar_one()
        notice_timer = s.execute(
            select(Timer).where(Timer.bpmn_id == "Timer_notice_end", Timer.state == "waiting")
        ).scalar_one()
    # 09-29 and 09-30, National Day 10-01..10-07, adjusted working days 10-08 and 10-09, then 10-10
    assert (notice.published_on.isoformat(), notice.ends_on.isoformat()) == ("2022-09-29", "2022-10-10")
    assert notice_timer.due_at == shanghai("2022-10-10T17:00:00")

    removed = passed[5]
    assert removed == FirstCycle.removed()
    run.objections()  # about `removed` on 10-08, about passed[0] on 10-09
    run.uphold_objection()
    p.at("2022-10-10T16:59:00")
    assert p.tasks(cycle, "Task_report") == []  # the notice still runs
    run.dismiss_objection()
    assert p.tasks(cycle, "Task_report") == []
    p.at("2022-10-10T17:01:00")
    with p.db.read() as s:
        notice = s.execute(select(Notice)).scalar_one()
    final = json.loads(notice.final)
    assert notice.status == "closed"
    assert sorted(c["code"] for c in final["shanghai"]) == [c for c in passed[:6] if c != removed]
    assert sorted(c["code"] for c in final["national"]) == passed[:2]
    assert [o["result"] for o in json.loads(notice.objections)] == ["upheld", "dismissed"]

    run.report()
    run.national_result()  # the State names passed[:2] on 2022-12-20
    run.name()  # the naming reminder fell due on 2022-12-26 09:00
    run.commend()
    assert p.status(cycle) == "completed"

    with p.db.read() as s:
        register = {(t.kind, t.district): t.status for t in titles(s)}
        naming_reminder = (
            s.execute(select(Outbox).where(Outbox.kind == "reminder", Outbox.role == "市级审批"))
            .scalars()
            .all()
        )
    named = [c for c in passed[:6] if c != removed]
    assert named == FirstCycle.named()
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
    assert p.check_history() == 1 + 16 + 5


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
