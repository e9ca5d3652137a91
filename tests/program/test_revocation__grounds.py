"""Revocation: each of the notice's three grounds reaches a decision after verification — a major
safety accident revokes at once, backsliding is rectified and re-checked successfully, low
satisfaction is rectified and fails the re-check, fraud is rectified but nothing is reported by the
deadline — an unfounded report changes nothing; the title register and the cases' histories agree,
and a revoked title stays in the register with its history."""

from __future__ import annotations

from typing import Any

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from tests.program.scenarios import small_cycle
from web.demo_data import confirm, request, verify
from web.demo_driver import Program
from web.demo_story import start_revocation
from workflow.errors import InvalidData
from workflow.history import list_events
from workflow.registers import Outbox, Title, TitleChange, titles
from workflow.replay import replay


def proposal(p: Program, iid: int) -> dict[str, Any]:
    """What the decision table proposed to the approver: the data of the ready confirmation task, in
    the case rebuilt from its history (read only)."""
    with p.db.read() as s:
        case = replay(s, p.engine, iid).case
    assert case is not None
    [task] = [
        t for t in case.workflow.get_tasks(state=TaskState.READY) if t.task_spec.bpmn_id == "Task_confirm"
    ]
    return {k: task.data[k] for k in ("decision", "rectify_workdays", "reminder_workdays", "decision_basis")}


def test_each_ground_reaches_a_decision_and_the_register_agrees_with_history(program: Program) -> None:
    p = program
    managed = small_cycle(p)
    p.at("2023-05-08T10:00:00")

    # 黄浦: a major safety liability accident → revoke
    safety = start_revocation(p, "310101", "safety_accident", "report", "某托育机构发生婴幼儿伤亡事故。")
    p.do(safety, "Task_verify", verify("confirmed", "major", "2023-05-09"))
    assert proposal(p, safety)["decision"] == "revoke"
    p.do(safety, "Task_confirm", confirm("revoke", "2023-05-10"))
    assert p.status(safety) == "completed" and p.status(managed["310101"]) == "completed"

    # 徐汇: backsliding → rectify within 60 working days → re-check passed → title kept
    backsliding = start_revocation(p, "310104", "backsliding", "monitoring", "动态监测发现普惠托位减少。")
    p.do(backsliding, "Task_verify", verify("confirmed", "serious", "2023-05-09"))
    assert (
        proposal(p, backsliding)["decision"] == "rectify"
        and proposal(p, backsliding)["rectify_workdays"] == 60
    )
    p.do(backsliding, "Task_confirm", confirm("rectify", "2023-05-10"))
    rectify = p.task(backsliding, "Task_rectify")
    assert (rectify.district, rectify.due_at.isoformat()) == (
        "310104",
        "2023-08-03T09:00:00+00:00",
    )  # 60 working days after 05-10
    p.at("2023-07-20T10:00:00")
    p.do(
        backsliding,
        "Task_rectify",
        {
            "rectification_summary": "新增普惠托位300个，完善综合监管机制。",
            "rectification_report": "m-3c3c3c3c3c",
        },
    )
    p.do(
        backsliding,
        "Task_recheck",
        {"recheck_result": "passed", "recheck_findings": "整改到位。", "rechecked_on": "2023-07-25"},
    )

    # 长宁: low satisfaction → rectify → re-check failed → revoke
    survey = start_revocation(p, "310105", "low_satisfaction", "survey", "满意度调查为68%，低于警戒线80%。")
    p.do(survey, "Task_verify", verify("confirmed", "serious", "2023-07-21"))
    p.do(survey, "Task_confirm", confirm("rectify", "2023-07-24"))
    p.at("2023-10-09T10:00:00")
    p.do(
        survey,
        "Task_rectify",
        {
            "rectification_summary": "开展家长满意度提升行动，增设托育服务热线。",
            "rectification_report": "m-2b2b2b2b2b",
        },
    )
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
    p.do(
        survey,
        "Task_rectify",
        {
            "rectification_summary": "继续开展满意度提升行动，完善家长沟通机制。",
            "rectification_report": "m-2b2b2b2b2c",
        },
    )
    p.do(
        survey,
        "Task_recheck",
        {
            "recheck_result": "failed",
            "recheck_findings": "复查满意度仍为70%，整改不合格。",
            "rechecked_on": "2023-11-20",
        },
    )

    # 静安: fraud (minor) → rectify → nothing reported by the deadline → revoke
    fraud = start_revocation(p, "310106", "fraud", "report", "举报称自评材料存在不实数据。")
    p.do(fraud, "Task_verify", verify("confirmed", "minor", "2023-11-21"))
    assert proposal(p, fraud)["decision"] == "rectify" and proposal(p, fraud)["rectify_workdays"] == 40
    p.do(fraud, "Task_confirm", confirm("rectify", "2023-11-22"))
    p.at("2024-02-01T10:00:00")

    # an unfounded report about 徐汇 changes nothing; a district without a title is not acted on
    unfounded = start_revocation(p, "310104", "fraud", "report", "匿名举报。")
    p.do(unfounded, "Task_verify", verify("unfounded", "minor", "2024-02-02"))
    nobody = start_revocation(p, "310107", "safety_accident", "report", "普陀区某机构事故。")
    with pytest.raises(InvalidData, match="Unknown ground 'rumour'"):
        p.message("revocation_requested", {"district": "310104"}, request("rumour", "report", "传言。"))

    assert all(p.status(i) == "completed" for i in (safety, backsliding, survey, fraud, unfounded, nobody))
    with p.db.read() as s:
        register = {t.district: (t.status, [c["to"] for c in t.changes]) for t in titles(s, kind="shanghai")}
        decisions = s.execute(select(Outbox.district, Outbox.subject).where(Outbox.kind == "decision")).all()
    assert register == {
        "310101": ("revoked", ["named", "revoked"]),
        "310104": ("named", ["named", "rectifying", "named"]),
        "310105": ("revoked", ["named", "rectifying", "revoked"]),
        "310106": ("revoked", ["named", "rectifying", "revoked"]),
    }
    assert ("310104", "徐汇区核实处理结果") in decisions and ("310101", "黄浦区称号撤销决定") in decisions
    assert [p.status(managed[c]) for c in ("310101", "310104", "310105", "310106")] == [
        "completed",
        "running",
        "completed",
        "completed",
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
