"""``extend_cycle_deadline``: the municipal departments' decision to move one stage's deadline of a
running cycle for every district at once (creation_cycle's 调整各区期限).

The notice sets the stages' deadlines (五(一) to 五(四)) and provides no extensions, so moving one is
local practice, and only this way: a recorded decision with its document number and reason, taken
before the deadline passes, for every district still in the cycle. A district whose deadline has
passed is not given more time afterwards; its application closes as missed (district_application's
逾期处理). The rules a decision must meet:

- the stage is one of the districts' stages: 申报 (application), 创建自评 (self_assessment) or
  现场审核 (audit); the selection deadline (9月30日) covers selection, notice and report together
  and is not moved here;
- the stage's deadline has not passed: the decision comes before the cycle's cut-off time
  (``cutoff_time``, 17:00 Beijing time unless the cycle sets another) of its day;
- the new deadline is later than the current one and earlier than the next stage's deadline;
- the new deadline's year is known to the working-day calendar (reminders count working days).

A decision that breaks one fails the completion with ``InvalidData`` (Chinese and English) and
saves nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy import select

from handlers.program import day
from handlers.registry import HandlerContext, handler
from workflow.clock import SHANGHAI
from workflow.errors import DeadlinePastCalendar, InvalidData
from workflow.store import Instance

MOVABLE = {"application": "申报", "self_assessment": "创建自评", "audit": "现场审核"}
NEXT = {"application": "self_assessment", "self_assessment": "audit", "audit": "selection"}


@dataclass(frozen=True)
class DeadlineChange:
    deadlines: dict[str, str]
    stage: str
    new_deadline: str
    doc_no: str
    reason: str
    cycle_id: str
    cutoff_time: str = "17:00"  # the cycle's cut-off (本地设定): a stage's deadline falls due at it


@handler("extend_cycle_deadline")
def extend_cycle_deadline(req: DeadlineChange, ctx: HandlerContext) -> dict[str, Any]:
    """``{"deadlines": the cycle's deadlines with the stage moved, "change": the decision, "districts":
    the districts whose application case of this cycle is still running, which are sent the change}``."""
    if req.stage not in MOVABLE:
        raise InvalidData(f"调整的阶段须为申报、创建自评或现场审核 / the stage must be one of {', '.join(MOVABLE)}, "
                          f"not {req.stage!r}. Nothing was saved.")
    name = MOVABLE[req.stage]
    current = day(req.deadlines[req.stage], f"the current {req.stage} deadline")
    new = day(req.new_deadline, "新的期限 new deadline")
    limit = day(req.deadlines[NEXT[req.stage]], "the next stage's deadline")
    cut_off = time.fromisoformat(req.cutoff_time)
    passed_at = datetime.combine(current, cut_off, tzinfo=SHANGHAI)
    if ctx.now >= passed_at:
        raise InvalidData(f"{name}期限已于 {current} {cut_off:%H:%M} 届满，不能再调整；逾期的区由逾期处理结束 / the "
                          f"{req.stage} deadline passed at {cut_off:%H:%M} on {current}: it can no longer be "
                          "moved. Nothing was saved.")
    if new <= current:
        raise InvalidData(f"新的期限 {new} 须晚于原期限 {current} / the new deadline {new} must be after the "
                          f"current one ({current}). Nothing was saved.")
    if new >= limit:
        raise InvalidData(f"新的期限 {new} 须早于下一阶段期限 {limit} / the new deadline {new} must be before the "
                          f"next stage's deadline ({limit}). Nothing was saved.")
    from workflow.calendar_store import load_calendar  # here: the store imports the engine's scripting

    if new.year not in load_calendar(ctx.session).known_years:
        raise DeadlinePastCalendar(new.year)
    change = {"stage": req.stage, "stage_name": name, "from": current.isoformat(), "to": new.isoformat(),
              "doc_no": req.doc_no, "reason": req.reason,
              "decided_on": ctx.now.astimezone(SHANGHAI).date().isoformat()}
    running = ctx.session.execute(
        select(Instance.district).where(Instance.process_id == "district_application",
                                        Instance.cycle_id == req.cycle_id, Instance.status == "running")
        .order_by(Instance.district)).scalars().all()
    return {"deadlines": {**req.deadlines, req.stage: new.isoformat()}, "change": change,
            "districts": [d for d in running if d]}
