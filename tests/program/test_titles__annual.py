"""Title management of named districts: the report window opens every year on its own timer, the
district is reminded and reports, municipal staff review; a missed report escalates (outbox and a
municipal task) and is either urged with a new due date or referred for verification; a finding of
backsliding starts a revocation case, while a satisfaction figure below the local threshold only
opens a review task in which municipal staff decide whether to refer it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from tests.program.scenarios import small_cycle
from web.demo_driver import Program
from web.demo_story import annual_reports, annual_reviews
from workflow.clock import SHANGHAI
from workflow.registers import Outbox
from workflow.store import Timer


def shanghai(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def outbox(p: Program, kind: str, district: str) -> list[str]:
    with p.db.read() as s:
        return list(
            s.execute(
                select(Outbox.subject)
                .where(Outbox.kind == kind, Outbox.district == district)
                .order_by(Outbox.id)
            ).scalars()
        )


def test_yearly_reports_a_missed_report_escalates_and_findings_start_revocation(program: Program) -> None:
    p = program
    managed = small_cycle(p)
    huangpu, xuhui = managed["310101"], managed["310104"]
    with p.db.read() as s:
        opens = s.execute(
            select(Timer.due_at).where(Timer.instance_id == huangpu, Timer.state == "waiting")
        ).scalars()
        assert list(opens) == [shanghai("2023-01-04T09:00:00")]
    assert p.tasks(huangpu) == []

    # 2023: the window opens; three districts report, one does not
    p.at("2023-01-05T10:00:00")
    task = p.task(huangpu, "Task_report")
    assert (task.role, task.district, task.due_at) == (
        "区有关部门",
        "310101",
        shanghai("2023-03-31T17:00:00"),
    )
    annual_reports(p, managed, {"310101": 3_300, "310105": 3_250, "310106": 4_600}, at="2023-02-10T10:00:00")
    # 长宁's satisfaction is below the threshold of 80 (a local setting): a review task for municipal
    # staff, and nothing else — no revocation case, no register change
    annual_reviews(p, managed, {"310101": ("good", 93), "310106": ("good", 88), "310105": ("good", 72)})
    assert p.cases("revocation") == {}
    review = p.task(managed["310105"], "Task_satisfaction")
    assert (review.role, review.district) == ("市有关部门", "310105")
    assert [t.bpmn_id for t in p.tasks() if t.district == "310105"] == ["Task_satisfaction"]
    p.do(
        managed["310105"],
        "Task_satisfaction",
        {"satisfaction_action": "refer", "satisfaction_opinion": "满意度明显不高，提请核实。"},
    )
    assert list(p.cases("revocation")) == ["310105"]

    p.at("2023-04-03T09:00:00")  # reminder on 03-24, the report fell due on 03-31 at 17:00
    assert outbox(p, "reminder", "310104") == ["徐汇区年度工作情况报送提醒"]
    assert outbox(p, "escalation", "310104") == ["徐汇区逾期未报送年度工作情况"]
    escalated = p.task(xuhui, "Task_missed")
    assert escalated.role == "市有关部门"
    p.do(
        xuhui,
        "Task_missed",
        {"missed_action": "refer", "missed_opinion": "逾期未报送年度工作情况，措施不力。"},
    )
    revocations = p.cases("revocation")
    assert sorted(c for c in revocations if c) == ["310104", "310105"]
    verify = p.task(revocations["310104"], "Task_verify")
    assert (verify.role, verify.district) == ("市有关部门", "310104")

    # 2024: the next window opens by itself; a missed report is urged, then reported late
    with p.db.read() as s:
        due = s.execute(
            select(Timer.due_at).where(Timer.instance_id == huangpu, Timer.state == "waiting")
        ).scalars()
        assert list(due) == [shanghai("2024-01-04T09:00:00")]
    p.at("2024-04-01T09:00:00")
    p.do(
        huangpu,
        "Task_missed",
        {"missed_action": "urge", "new_report_due": "2024-04-15", "missed_opinion": "督促于4月15日前补报。"},
    )
    late = p.task(huangpu, "Task_report")
    assert late.due_at == shanghai("2024-04-15T17:00:00")
    annual_reports(p, managed, {"310101": 3_400}, at="2024-04-10T10:00:00")
    annual_reviews(p, managed, {"310101": ("good", 76)})  # below the threshold: reviewed, not referred
    p.do(
        huangpu,
        "Task_satisfaction",
        {"satisfaction_action": "monitor", "satisfaction_opinion": "调查样本较小，继续动态监测。"},
    )
    assert outbox(p, "escalation", "310101") == ["黄浦区逾期未报送年度工作情况"]
    assert sorted(c for c in p.cases("revocation") if c) == ["310104", "310105"]
    assert all(p.status(iid) == "running" for iid in managed.values())
    p.check_history()


def test_the_annual_report_falls_due_at_the_naming_cycles_cut_off_time(program: Program) -> None:
    """The notice gives no time of day for the annual report: it falls due at the naming cycle's
    ``cutoff_time`` (本地设定, 17:00 unless the cycle sets another), here 16:00."""
    p = program
    managed = small_cycle(p, cutoff_time="16:00")
    huangpu = managed["310101"]
    p.at("2023-01-05T10:00:00")
    assert p.task(huangpu, "Task_report").due_at == shanghai("2023-03-31T16:00:00")
    p.at("2023-03-31T15:59:00")
    assert outbox(p, "escalation", "310101") == []
    assert p.tasks(huangpu, "Task_missed") == []
    p.at("2023-03-31T16:01:00")
    assert outbox(p, "escalation", "310101") == ["黄浦区逾期未报送年度工作情况"]
    assert p.task(huangpu, "Task_missed").role == "市有关部门"
