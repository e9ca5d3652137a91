"""``validate_cycle``: the check a cycle's data passes before the cycle starts.

The cycle data (see ``bpmn/forms/cycle_start.json`` for its JSON Schema) is what municipal staff give
when they open a cycle: its districts, the deadline of each stage, the quota rules, the indicator
set and the management settings handed to named districts. The schema checks shapes and fills in
the defaults of the settings the notice does not fix (本地设定); this handler checks what a schema
cannot: the deadlines in the order of the stages, district codes unique, the indicator items unique
with positive maxima, a public notice of at least the notice's five working days, and the local
settings (本地设定) in range: the cut-off time of deadlines, the working days 上报 needs after the
notice and the rounding rule of the quota shares. A fault fails the start command with every problem
listed, and nothing is saved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from handlers.program import ROUNDINGS, day
from handlers.registry import HandlerContext, handler
from workflow.errors import DeadlinePastCalendar, InvalidData

STAGES = ("application", "self_assessment", "audit", "selection", "naming")
MIN_NOTICE_WORKDAYS = 5  # 五(四): "公示5个工作日"; a cycle may set more, never fewer
MONTH_DAY = re.compile(r"(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")
TIME_OF_DAY = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
# 本地设定 (local settings): the notice gives neither; the cycle's start form has the same defaults
DEFAULT_CUTOFF = "17:00"  # the time of day a deadline or the notice's last working day ends
DEFAULT_REPORT_WORKDAYS = 1  # working days 上报 needs after the notice ends, within 五(四)'s deadline


@dataclass(frozen=True)
class CycleData:
    cycle_id: str
    cycle_name: str
    eligible_districts: list[dict[str, Any]]
    deadlines: dict[str, str]
    quotas: dict[str, Any]
    indicators: dict[str, Any]
    notice_workdays: int
    reminder_workdays: int
    management: dict[str, Any]
    # given by diagrams whose start form has them (cycles of earlier versions: the defaults)
    cutoff_time: str = DEFAULT_CUTOFF
    report_workdays: int = DEFAULT_REPORT_WORKDAYS


def _problems(cycle: CycleData) -> list[str]:
    problems: list[str] = []
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,40}", str(cycle.cycle_id)):
        problems.append(f"cycle_id {cycle.cycle_id!r}: letters, digits, '-' and '_' only")
    codes = [str(d.get("code")) for d in cycle.eligible_districts]
    if not codes:
        problems.append("eligible_districts: at least one district")
    if len(set(codes)) != len(codes):
        problems.append("eligible_districts: a district is listed twice")
    for d in cycle.eligible_districts:
        if not re.fullmatch(r"31\d{4}", str(d.get("code"))) or not d.get("name"):
            problems.append(f"eligible_districts: {d.get('code')!r} needs a code like 310101 and a name")
        population, places = d.get("population"), d.get("childcare_places")
        if not isinstance(population, int) or population <= 0 or not isinstance(places, int) or places < 0:
            problems.append(f"eligible_districts {d.get('code')}: population > 0 and childcare_places >= 0")
    try:
        dates = [day(cycle.deadlines.get(stage), f"deadlines.{stage}") for stage in STAGES]
    except InvalidData as exc:
        problems.append(exc.message)
    else:
        for i in range(len(STAGES) - 1):
            if not dates[i] < dates[i + 1]:
                problems.append(
                    f"deadlines: {STAGES[i]} ({dates[i]}) must come before {STAGES[i + 1]} ({dates[i + 1]})"
                )
    for kind in ("national", "shanghai"):
        share, cap = cycle.quotas.get(f"{kind}_share"), cycle.quotas.get(f"{kind}_cap")
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
            problems.append(f"quotas.{kind}_share: a fraction such as 0.4")
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 0):
            problems.append(f"quotas.{kind}_cap: a whole number >= 0, or leave it out")
    rounding = cycle.quotas.get("rounding", "half_up")
    if rounding not in ROUNDINGS:
        problems.append(f"quotas.rounding: {rounding!r} is not one of {', '.join(ROUNDINGS)}")
    items = [item for area in cycle.indicators.get("areas") or [] for item in area.get("items") or []]
    if not items:
        problems.append("indicators.areas: at least one area with items")
    item_codes = [str(item.get("code")) for item in items]
    if len(set(item_codes)) != len(item_codes):
        problems.append("indicators: an item code is used twice")
    if any(not isinstance(item.get("max_score"), int | float) or item["max_score"] <= 0 for item in items):
        problems.append("indicators: every item needs max_score > 0")
    target = cycle.indicators.get("target_places_per_1000")
    if not isinstance(target, int | float) or target <= 0:
        problems.append("indicators.target_places_per_1000: a positive number (4.5 in the first cycle)")
    notice = cycle.notice_workdays
    if isinstance(notice, bool) or not isinstance(notice, int) or not MIN_NOTICE_WORKDAYS <= notice <= 60:
        problems.append(
            f"notice_workdays: 公示期不少于{MIN_NOTICE_WORKDAYS}个工作日（五(四)）/ the public notice runs at "
            f"least {MIN_NOTICE_WORKDAYS} working days (a whole number, {MIN_NOTICE_WORKDAYS}–60)"
        )
    reminder = cycle.reminder_workdays
    if isinstance(reminder, bool) or not isinstance(reminder, int) or not 1 <= reminder <= 60:
        problems.append("reminder_workdays: a whole number of working days, 1–60")
    if not isinstance(cycle.cutoff_time, str) or not TIME_OF_DAY.fullmatch(cycle.cutoff_time):
        problems.append(f"cutoff_time: a time of day such as {DEFAULT_CUTOFF}")
    report = cycle.report_workdays
    if isinstance(report, bool) or not isinstance(report, int) or not 0 <= report <= 30:
        problems.append("report_workdays: a whole number of working days, 0–30")
    for name in ("annual_report_opens", "annual_report_due"):
        if not MONTH_DAY.fullmatch(str(cycle.management.get(name))):
            problems.append(f"management.{name}: a month and day such as 03-31")
    threshold = cycle.management.get("satisfaction_threshold")
    if not isinstance(threshold, int | float) or not 0 < threshold <= 100:
        problems.append("management.satisfaction_threshold: a percentage, 0–100")
    return problems


@handler("validate_cycle")
def validate_cycle(cycle: CycleData, ctx: HandlerContext | None = None) -> dict[str, Any]:
    """Every problem of the cycle data at once, or a summary of it. With a context (always, in a
    case), a deadline in a year the working-day calendar does not know is refused up front with
    ``DeadlinePastCalendar``, whose message tells the municipal user to import that year's official
    schedule: reminders and notices are counted in working days, and nothing is guessed."""
    problems = _problems(cycle)
    if problems:
        raise InvalidData(
            "周期数据有误 / the cycle data is not valid: " + "; ".join(problems) + ". Nothing was saved.",
            errors=problems,
        )
    if ctx is not None:
        from workflow.calendar_store import load_calendar  # here: the store imports the engine's scripting

        known = load_calendar(ctx.session).known_years
        for stage in STAGES:
            year = day(cycle.deadlines[stage], stage).year
            if year not in known:
                raise DeadlinePastCalendar(year)
    return {
        "cycle_id": cycle.cycle_id,
        "eligible_count": len(cycle.eligible_districts),
        "districts": [d["code"] for d in cycle.eligible_districts],
        "deadlines": {stage: cycle.deadlines[stage] for stage in STAGES},
        "indicator_items": sum(len(area["items"]) for area in cycle.indicators["areas"]),
    }
