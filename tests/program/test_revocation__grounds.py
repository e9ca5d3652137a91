"""Revocation (第六条): each of the notice's grounds is verified first, and then a person decides.
The decision table only states the clause and the basis — it proposes no outcome, so a verified
major accident reaches 市级审批 with nothing proposed; every decision (rectify, revoke, no action)
is the approver's, with its own document number and reasons; a passed rectification deadline or a
failed re-check goes back to the approver and never revokes by itself. The title register and the
cases' histories agree, and a revoked title stays in the register with its history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from tests.program.scenarios import small_cycle
from web.demo_data import confirm, request, verify
from web.demo_driver import Program
from web.demo_story import start_revocation
from workflow.clock import SHANGHAI
from workflow.errors import InvalidData
from workflow.history import list_events
from workflow.registers import Outbox, Title, TitleChange, titles
from workflow.replay import replay


def decision_task_data(p: Program, iid: int) -> dict[str, Any]:
    """The data the approver's ready decision task holds, in the case rebuilt from its history."""
    with p.db.read() as s:
        case = replay(s, p.engine, iid).case
    assert case is not None
    [task] = [
        t for t in case.workflow.get_tasks(state=TaskState.READY) if t.task_spec.bpmn_id == "Task_confirm"
    ]
    return dict(task.data)


def register(p: Program, district: str) -> list[tuple[str, str]]:
    """The register's changes of the district's Shanghai title: (new status, document number)."""
    with p.db.read() as s:
        rows = s.execute(
            select(TitleChange.to_status, TitleChange.document)
            .join(Title, Title.id == TitleChange.title_id)
            .where(Title.district == district, Title.kind == "shanghai")
            .order_by(TitleChange.seq)
        ).all()
    return [(status, document) for status, document in rows]


def rectified(summary: str) -> dict[str, str]:
    return {"rectification_summary": summary, "rectification_report": "m-3c3c3c3c3c"}


def test_a_verified_major_accident_reaches_the_approver_with_no_outcome_proposed(program: Program) -> None:
    p = program
    managed = small_cycle(p)
    p.at("2023-05-08T10:00:00")
    safety = start_revocation(p, "310101", "safety_accident", "report", "某托育机构发生婴幼儿伤亡事故。")
    with pytest.raises(InvalidData, match="severity"):  # the notice has no severity scale
        p.do(safety, "Task_verify", {**verify("confirmed", "2023-05-09"), "severity": "minor"})
    p.do(safety, "Task_verify", verify("confirmed", "2023-05-09"))
    decision = p.task(safety, "Task_confirm")
    assert (decision.role, decision.district) == ("市级审批", "310101")
    data = decision_task_data(p, safety)
    assert data["clause"] == "六(一)" and "重大安全责任事故" in data["decision_basis"]
    assert "市级审批决定" in data["recommendation"] and "不予处理" not in data["recommendation"]
    assert "decision" not in data and data["decision_context"].startswith("经核实属实")
    assert register(p, "310101") == [("named", "沪教委托幼〔2022〕30号")]  # nothing happened by itself
    p.do(safety, "Task_confirm", confirm("revoke", "2023-05-10", number=7))
    assert register(p, "310101")[-1] == ("revoked", "沪教委托幼〔2023〕7号")
    assert p.status(safety) == "completed" and p.status(managed["310101"]) == "completed"
    p.check_history()


def test_every_ground_ends_in_a_persons_decision_and_the_register_agrees_with_history(
    program: Program,
) -> None:
    p = program
    managed = small_cycle(p)
    p.at("2023-05-08T10:00:00")

    # 徐汇: backsliding → rectify by a deadline the approver sets → re-check passed → title kept
    backsliding = start_revocation(p, "310104", "backsliding", "monitoring", "动态监测发现普惠托位减少。")
    p.do(backsliding, "Task_verify", verify("confirmed", "2023-05-09"))
    assert decision_task_data(p, backsliding)["clause"] == "六(二)"
    with pytest.raises(InvalidData, match="整改期限"):  # a rectification needs its deadline
        p.do(backsliding, "Task_confirm", confirm("rectify", "2023-05-10"))
    with pytest.raises(InvalidData, match="须晚于决定日期 2023-05-10 和今天 2023-05-08"):
        p.do(backsliding, "Task_confirm", confirm("rectify", "2023-05-10", rectify_due="2023-05-10"))
    p.do(backsliding, "Task_confirm", confirm("rectify", "2023-05-10", rectify_due="2023-08-03"))
    rectify = p.task(backsliding, "Task_rectify")
    assert (rectify.district, rectify.due_at.isoformat()) == ("310104", "2023-08-03T09:00:00+00:00")
    p.at("2023-07-20T10:00:00")
    p.do(backsliding, "Task_rectify", rectified("新增普惠托位300个，完善综合监管机制。"))
    p.do(
        backsliding,
        "Task_recheck",
        {"recheck_result": "passed", "recheck_findings": "整改到位。", "rechecked_on": "2023-07-25"},
    )

    # 长宁: low satisfaction → rectify → extended → the re-check fails: back to the approver, who
    # revokes under the document number of that second decision
    survey = start_revocation(p, "310105", "low_satisfaction", "survey", "满意度调查为68%。")
    p.do(survey, "Task_verify", verify("confirmed", "2023-07-21"))
    p.do(survey, "Task_confirm", confirm("rectify", "2023-07-24", number=6, rectify_due="2023-10-20"))
    p.at("2023-10-09T10:00:00")
    p.do(survey, "Task_rectify", rectified("开展家长满意度提升行动，增设托育服务热线。"))
    p.do(
        survey,
        "Task_recheck",
        {
            "recheck_result": "extend",
            "recheck_findings": "部分整改，需继续整改。",
            "rechecked_on": "2023-10-10",
            "new_rectify_due": "2023-11-30",
        },
    )
    p.do(survey, "Task_rectify", rectified("继续开展满意度提升行动，完善家长沟通机制。"))
    p.do(
        survey,
        "Task_recheck",
        {"recheck_result": "failed", "recheck_findings": "复查满意度仍为70%。", "rechecked_on": "2023-11-20"},
    )
    again = p.task(survey, "Task_confirm")
    assert again.role == "市级审批" and p.status(survey) == "running"
    assert decision_task_data(p, survey)["decision_context"] == "整改复查不合格：复查满意度仍为70%。"
    assert register(p, "310105")[-1] == (
        "rectifying",
        "沪教委托幼〔2023〕6号",
    )  # the re-check revoked nothing
    p.do(survey, "Task_confirm", confirm("revoke", "2023-11-22", number=9))
    assert register(p, "310105")[-1] == ("revoked", "沪教委托幼〔2023〕9号")

    # 静安: fraud → rectify → nothing reported by the deadline: a decision task, not a revocation;
    # the approver closes it without action, which ends the rectification
    fraud = start_revocation(p, "310106", "fraud", "report", "举报称自评材料存在不实数据。")
    p.do(fraud, "Task_verify", verify("confirmed", "2023-11-21"))
    p.do(fraud, "Task_confirm", confirm("rectify", "2023-11-22", number=10, rectify_due="2024-01-19"))
    # the time of day the deadline ends comes from the decision table, marked 本地设定 there
    assert p.task(fraud, "Task_rectify").due_at == datetime(2024, 1, 19, 17, tzinfo=SHANGHAI)
    p.at("2024-01-22T10:00:00")  # the deadline passed on 2024-01-19 at 17:00
    assert p.tasks(fraud, "Task_rectify") == []
    overdue = p.task(fraud, "Task_confirm")
    assert overdue.role == "市级审批" and register(p, "310106")[-1][0] == "rectifying"
    assert decision_task_data(p, fraud)["decision_context"] == "逾期未报送整改报告（整改期限 2024-01-19）"
    p.do(fraud, "Task_confirm", confirm("no_action", "2024-01-23", number=2))
    assert register(p, "310106")[-1] == ("named", "沪教委托幼〔2024〕2号")

    # an unfounded report about 徐汇 changes nothing; a district without a title is not acted on
    p.at("2024-02-01T10:00:00")
    unfounded = start_revocation(p, "310104", "fraud", "report", "匿名举报。")
    p.do(unfounded, "Task_verify", verify("unfounded", "2024-02-02"))
    nobody = start_revocation(p, "310107", "safety_accident", "report", "普陀区某机构事故。")
    with pytest.raises(InvalidData, match="Unknown ground 'rumour'"):
        p.message("revocation_requested", {"district": "310104"}, request("rumour", "report", "传言。"))

    assert all(p.status(i) == "completed" for i in (backsliding, survey, fraud, unfounded, nobody))
    with p.db.read() as s:
        shown = {t.district: (t.status, [c["to"] for c in t.changes]) for t in titles(s, kind="shanghai")}
        decisions = s.execute(select(Outbox.district, Outbox.subject).where(Outbox.kind == "decision")).all()
    assert shown == {
        "310101": ("named", ["named"]),
        "310104": ("named", ["named", "rectifying", "named"]),
        "310105": ("revoked", ["named", "rectifying", "revoked"]),
        "310106": ("named", ["named", "rectifying", "named"]),
    }
    assert ("310104", "徐汇区核实处理结果") in decisions and ("310105", "长宁区称号撤销决定") in decisions
    assert ("310106", "静安区核实处理结果") in decisions
    assert [p.status(managed[c]) for c in ("310101", "310104", "310105", "310106")] == [
        "running",
        "running",
        "completed",
        "running",
    ]
    assert_register_matches_history(p)
    p.check_history()


def assert_register_matches_history(p: Program) -> None:
    """Every change in the register was made by a service task whose recorded result says so, and
    every register call recorded in history left its change; each title's status is its last change."""
    with p.db.read() as s:
        changes = s.execute(
            select(TitleChange, Title.code)
            .join(Title, Title.id == TitleChange.title_id)
            .order_by(TitleChange.id)
        ).all()
        recorded = []
        for iid in sorted({change.instance_id for change, _code in changes}):
            for event in list_events(s, iid):
                for r in event.payload.get("handler_results", []):
                    if r["operation"] == "update_title_register":
                        recorded.append((iid, r["result"]["title_id"], r["result"]["to"]))
                    elif r["operation"] == "register_titles":
                        recorded += [(iid, t["title_id"], "named") for t in r["result"]]
        assert sorted(recorded) == sorted((c.instance_id, code, c.to_status) for c, code in changes)
        for title in s.execute(select(Title)).scalars():
            last = max((c for c, code in changes if code == title.code), key=lambda c: c.seq)
            assert title.status == last.to_status
            assert (title.revoked_on is not None) == (title.status == "revoked")
