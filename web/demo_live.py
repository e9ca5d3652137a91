"""The demo's live part: a second cycle opened at the current time, its district cases taken to
different stages so that every role finds work in its inbox, and a revocation case waiting for the
approver. The districts that hold a title are not invited (the cycle records them as left out).

Why the live cycle's deadlines are squeezed
    A cycle's reminders and notices count PRC working days, and a year whose official holiday
    schedule is not known is never guessed: ``validate_cycle`` refuses a cycle whose deadlines fall
    in such a year (``DeadlinePastCalendar``, naming the year and ``shanyu calendar import``). So the
    live cycle spreads its five deadlines over the next ``LIVE_WORKDAYS`` working days, or over the
    working days left in the years the calendar knows when fewer are left. With fewer than
    ``MIN_WORKDAYS`` left it asks for the timeline a cycle would normally have, and starting the
    cycle fails with that error, which is the honest answer: import the next year's official
    schedule, then run ``shanyu demo`` again.

Resuming
    ``open_live_cycle`` finds what an earlier run opened and only does what is missing: a case is
    moved forward only while it is behind its target stage, so work done since by people in the
    inbox is never redone or undone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from web.demo_data import (
    DISTRICTS,
    NAMES,
    application,
    assignment,
    cycle_data,
    indicators,
    intention,
    leadership,
    self_assessment,
    verify,
)
from web.demo_driver import DemoFailed, Program
from web.demo_story import start_revocation
from workflow.calendar import WorkCalendar
from workflow.calendar_store import load_calendar
from workflow.clock import SHANGHAI
from workflow.errors import DeadlinePastCalendar
from workflow.history import list_events
from workflow.store import Instance

LIVE_WORKDAYS = 60
MIN_WORKDAYS = 10
STAGE_SHARES = {"application": 0.4, "self_assessment": 0.6, "audit": 0.75, "selection": 0.9, "naming": 1.0}
NORMAL_DAYS = 90  # the calendar-day span asked for when too few known working days are left

# The stage (ready task) each invited district's case of the live cycle is taken to. The districts
# that hold a title from the first cycle (黄浦, 徐汇, 长宁, 普陀) are not invited (``screen_invitees``):
# the live cycle's case data lists them under ``left_out`` with their titles.
STAGES = ("Task_intention", "Task_leadership", "Task_file", "Task_self", "Task_assign", "Task_audit")
TARGETS = {
    "310106": "Task_intention",  # 静安 (its title was revoked in 2025; it may apply again)
    "310109": "Task_audit",  # 虹口: the audit panel's on-site audit
    "310110": "Task_assign",  # 杨浦: municipal staff assign the audit panel
    "310112": "Task_self",  # 闵行
    "310113": "Task_file",  # 宝山
    "310114": "Task_file",  # 嘉定
    "310115": "Task_self",  # 浦东新区
    "310116": "Task_intention",  # 金山
    "310117": "Task_leadership",  # 松江
    "310118": "Task_intention",  # 青浦
    "310120": "Task_leadership",  # 奉贤
    "310151": "Task_leadership",  # 崇明
}
TITLED = ("310101", "310104", "310105", "310107")  # named in the first cycle, still holding the title
REVOCATION = ("310104", "safety_accident", "report", "举报称辖区内某托育机构发生安全责任事故。")


def live_deadlines(today: date, calendar: WorkCalendar) -> dict[str, str]:
    """The live cycle's deadlines from ``today`` (see the module doc)."""
    try:
        _first, last = calendar.known_range(today)
        available = calendar.workdays_between(today, last)
    except DeadlinePastCalendar:
        available = 0
    span = min(LIVE_WORKDAYS, available)
    if span < MIN_WORKDAYS:
        return {
            s: (today + timedelta(days=round(NORMAL_DAYS * f))).isoformat() for s, f in STAGE_SHARES.items()
        }
    return {s: calendar.add_workdays(today, round(span * f)).isoformat() for s, f in STAGE_SHARES.items()}


def live_cycle_data(today: date, calendar: WorkCalendar) -> dict[str, Any]:
    """Cycle data for the live (second) cycle: the 16 districts' demo figures, the first cycle's
    quotas and indicator set, deadlines from ``live_deadlines``."""
    year = today.year
    return cycle_data(
        cycle_id=f"{year}-demo",
        cycle_name=f"第二批上海市婴幼儿照护服务示范区创建（演示周期，{year}年）",
        deadlines=live_deadlines(today, calendar),
        reminder_workdays=3,
    )


@dataclass
class LiveCycle:
    cycle: int  # the live creation cycle's case
    cycle_id: str
    deadlines: dict[str, str]
    districts: dict[str, int]
    revocation: int
    opened: bool  # this run started the cycle
    steps: int  # tasks this run completed, messages it sent

    def to_dict(self) -> dict[str, Any]:
        return {
            "instance_id": self.cycle,
            "cycle_id": self.cycle_id,
            "deadlines": self.deadlines,
            "districts": self.districts,
            "revocation_instance_id": self.revocation,
            "opened": self.opened,
            "steps": self.steps,
        }


def cycle_ids(session: Session) -> dict[int, str]:
    """Every creation cycle's case and its cycle id (from the data it was started with)."""
    ids = session.execute(
        select(Instance.id).where(Instance.process_id == "creation_cycle").order_by(Instance.id)
    ).scalars()
    return {iid: str(list_events(session, iid)[0].payload["data"].get("cycle_id")) for iid in ids}


def open_live_cycle(p: Program) -> LiveCycle:
    """Open (or finish opening) the live cycle at ``p``'s current time; see the module doc."""
    today = p.now().astimezone(SHANGHAI).date()
    before = p.commands
    with p.db.read() as session:
        live = [iid for iid, cid in cycle_ids(session).items() if cid.endswith("-demo")]
    opened = not live
    if opened:
        with p.db.read() as session:
            data = live_cycle_data(today, load_calendar(session))
        try:
            cycle = p.start("creation_cycle", data)
        except DeadlinePastCalendar as exc:
            raise DeadlinePastCalendar(
                int(exc.details.get("year", 0)),
                f"{exc.message} The demo's history is seeded; the live cycle ({data['deadlines']['application']} "
                f"→ {data['deadlines']['naming']}) opens when `shanyu demo` runs again after the import.",
            ) from exc
    else:
        cycle = live[-1]
    with p.db.read() as session:
        cycle_id = cycle_ids(session)[cycle]
    if p.tasks(cycle, "Task_indicators"):
        p.do(cycle, "Task_indicators", indicators(f"沪教委托幼〔{today.year}〕9号", today.isoformat()))
    districts = {str(code): iid for code, iid in p.cases("district_application", after=cycle).items()}
    places = {code: k for code, _n, _p, k in DISTRICTS}
    for code, iid in districts.items():
        _advance(p, iid, code, TARGETS.get(code, STAGES[0]), today, places[code])
    revocation = _live_revocation(p, cycle, today)
    with p.db.read() as session:
        recorded = list_events(session, cycle)[0].payload["data"]["deadlines"]
    deadlines = {stage: recorded[stage] for stage in STAGE_SHARES}
    return LiveCycle(cycle, cycle_id, deadlines, districts, revocation, opened, p.commands - before)


def _advance(p: Program, iid: int, code: str, target: str, today: date, places: int) -> None:
    """Complete the case's stages, in order, while it is behind ``target``."""
    day = today.isoformat()
    data = {
        "Task_intention": lambda: intention(code),
        "Task_leadership": lambda: leadership("approve", day),
        "Task_file": lambda: application(code, day),
        "Task_self": lambda: self_assessment(88, round(places * 1.15)),
        "Task_assign": lambda: assignment((today + timedelta(days=7)).isoformat()),
    }
    for _ in STAGES:
        ready = [t.bpmn_id for t in p.tasks(iid) if t.bpmn_id in STAGES]
        if not ready or STAGES.index(ready[0]) >= STAGES.index(target):
            return
        p.do(iid, ready[0], data[ready[0]]())
    raise DemoFailed(f"{NAMES[code]}'s case {iid} did not reach {target}.")


def _live_revocation(p: Program, cycle: int, today: date) -> int:
    """A report about 徐汇, verified by municipal staff: the approver decides (the table proposes nothing)."""
    code, ground, source, summary = REVOCATION
    existing = p.cases("revocation", after=cycle).get(code)
    iid = existing if existing is not None else start_revocation(p, code, ground, source, summary)
    if p.tasks(iid, "Task_verify"):
        p.do(iid, "Task_verify", verify("confirmed", today.isoformat()))
    return iid
