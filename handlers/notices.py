"""Handlers of the public notice (公示) and the outbox. Those with side effects write their rows
through the command's session (``HandlerContext``), so the rows commit or roll back with the case's
step; the engine records the results in history and replay reads them instead of writing again.
``latest_publication`` only reads the working-day calendar: the date it finds is recorded the same
way, so the publish step and its history show the date that was in force."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from handlers.cycle_data import DEFAULT_REPORT_WORKDAYS, MIN_NOTICE_WORKDAYS
from handlers.program import day
from handlers.registry import HandlerContext, handler
from workflow.calendar import WorkCalendar
from workflow.clock import SHANGHAI
from workflow.errors import InvalidData
from workflow.registers import Notice, Outbox


@dataclass(frozen=True)
class PublishByRequest:
    selection_deadline: str
    notice_workdays: int
    report_workdays: int = DEFAULT_REPORT_WORKDAYS


SEARCH_DAYS = 370  # a year back from the deadline: no notice and report need more


def latest_publication(
    calendar: WorkCalendar,
    deadline: date,
    notice_workdays: int,
    report_workdays: int,
) -> dict[str, str]:
    """The latest day a notice of ``notice_workdays`` may be published so that it ends and the report
    goes up ``report_workdays`` working days later, no later than ``deadline`` (五(四): 评审遴选, 公示
    and 上报 by one date). Counted on ``calendar`` backwards from the deadline, one day at a time:
    plain, and no rule of the calendar is guessed. ``DeadlinePastCalendar`` if
    the days needed fall in a year it does not know."""
    for back in range(SEARCH_DAYS):
        published = deadline - timedelta(days=back)
        ends = calendar.notice_end(published, notice_workdays)
        report = calendar.add_workdays(ends, report_workdays)
        if report <= deadline:
            return {
                "latest_on": published.isoformat(),
                "notice_ends_on": ends.isoformat(),
                "report_on": report.isoformat(),
            }
    raise InvalidData(f"No publication day within {SEARCH_DAYS} days before {deadline} fits.")


@handler("latest_publication")
def publish_by(req: PublishByRequest, ctx: HandlerContext) -> dict[str, Any]:
    """What municipal staff see before they publish: the latest publication date for the cycle's
    selection deadline, its notice period and the working days 上报 needs after the notice ends
    (本地设定, default 1: the notice ends at 17:00 of its last working day, so the report goes up
    on the next one). Recorded in the case and its history; the publish step compares it with the
    day it is completed."""
    from workflow.calendar_store import load_calendar  # here: the store imports the engine's scripting

    deadline = day(req.selection_deadline, "deadlines.selection")
    found = latest_publication(load_calendar(ctx.session), deadline, req.notice_workdays, req.report_workdays)
    return {
        **found,
        "selection_deadline": deadline.isoformat(),
        "notice_workdays": req.notice_workdays,
        "report_workdays": req.report_workdays,
    }


def publication_status(data: Mapping[str, Any], today: date) -> dict[str, Any] | None:
    """The case's ``publish_by`` (see ``latest_publication``) with ``late``: whether ``today`` (the
    engine clock's date in Shanghai) is after the latest publication date. None when the case has
    none (cases of earlier diagrams, tasks before the selection) or its notice is published already
    (``notice``: the publish step's result), so only the steps up to publishing show it."""
    found = data.get("publish_by")
    if "notice" in data or not isinstance(found, Mapping) or not isinstance(found.get("latest_on"), str):
        return None
    try:
        latest = date.fromisoformat(found["latest_on"])
    except ValueError:
        return None
    return {**found, "today": today.isoformat(), "late": today > latest}


@dataclass(frozen=True)
class NoticeRequest:
    cycle_id: str
    title: str
    url: str
    workdays: int
    candidates: dict[str, Any]
    # given only by diagrams deployed before the date came from the clock (cases pinned to them)
    published_on: str | None = None
    ends_on: str | None = None
    # given by diagrams that compute the latest publication date (``latest_publication``)
    latest_on: str | None = None


@handler("publish_notice")
def publish_notice(req: NoticeRequest, ctx: HandlerContext) -> dict[str, Any]:
    """Record the notice as published on the portal today — the day the publish step is completed,
    by the engine's clock, never a date someone types — with its candidates and its last day:
    ``workdays`` PRC working days counted from today (五(四): 公示5个工作日). Fewer than five is
    refused. The result is recorded in the case's history, so replay reads the same dates back.
    Published after ``latest_on`` (when the diagram gives it), the notice is still published — the
    candidates must be made public — and the result says ``late``, so the history shows it.

    Cases pinned to a diagram deployed before this rule still pass the date their user typed (and
    the last day their script counted from it): it must be today (and that day), or the step is
    refused, so those cases cannot backdate either."""
    from workflow.calendar_store import load_calendar  # here: the store imports the engine's scripting

    if (
        isinstance(req.workdays, bool)
        or not isinstance(req.workdays, int)
        or req.workdays < MIN_NOTICE_WORKDAYS
    ):
        raise InvalidData(
            f"公示期不少于{MIN_NOTICE_WORKDAYS}个工作日，本周期设为 {req.workdays} / a public notice runs at least "
            f"{MIN_NOTICE_WORKDAYS} working days (五(四)); this cycle gives {req.workdays}. Nothing was saved."
        )
    published = ctx.now.astimezone(SHANGHAI).date()
    if req.published_on is not None and day(req.published_on, "公示发布日期 published_on") != published:
        raise InvalidData(
            f"公示发布日期须为发布当日 {published}，不能补填或预填 {req.published_on} / a notice is published on "
            f"the day the publish step is completed ({published}), not on {req.published_on}. Nothing was saved."
        )
    ends = load_calendar(ctx.session).notice_end(published, req.workdays)
    if req.ends_on is not None and day(req.ends_on, "ends_on") != ends:
        raise InvalidData(f"The notice's last day is {ends}, not {req.ends_on}. Nothing was saved.")
    notice = Notice(
        instance_id=ctx.instance_id,
        cycle_id=req.cycle_id,
        title=req.title,
        url=req.url,
        published_on=published,
        ends_on=ends,
        workdays=req.workdays,
        candidates=json.dumps(req.candidates, ensure_ascii=False),
        final="",
        objections="[]",
        status="published",
        published_at=ctx.now,
    )
    ctx.session.add(notice)
    ctx.session.flush()
    result = {"notice_id": notice.id, "published_on": published.isoformat(), "ends_on": ends.isoformat()}
    if req.latest_on is not None:
        latest = day(req.latest_on, "latest_on")
        result.update(latest_on=latest.isoformat(), late=published > latest)
    return result


@dataclass(frozen=True)
class ObjectionRequest:
    log: list[dict[str, Any]]
    objection: dict[str, Any]
    result: str
    district: str | None
    verification: str
    reply: str
    candidates: dict[str, Any]


@handler("record_objection")
def record_objection(req: ObjectionRequest) -> list[dict[str, Any]]:
    """The objection log with this decision appended. An upheld objection must name a candidate."""
    named = {c["code"] for group in req.candidates.values() for c in group}
    if req.result == "upheld" and req.district not in named:
        raise InvalidData(
            f"异议成立时须指明公示名单中的区，{req.district} 不在名单中 / an upheld objection must name a "
            f"district on the notice; {req.district} is not on it. Nothing was saved."
        )
    entry = {
        "received": req.objection,
        "result": req.result,
        "district": req.district if req.result == "upheld" else None,
        "verification": req.verification,
        "reply": req.reply,
    }
    return [*req.log, entry]


@dataclass(frozen=True)
class CloseNoticeRequest:
    notice_id: int
    candidates: dict[str, Any]
    objection_log: list[dict[str, Any]]


@handler("close_notice")
def close_notice(req: CloseNoticeRequest, ctx: HandlerContext) -> dict[str, Any]:
    """Close the notice: the candidates minus those removed by an upheld objection."""
    removed = sorted({str(o["district"]) for o in req.objection_log if o.get("result") == "upheld"})
    final = {kind: [c for c in group if c["code"] not in removed] for kind, group in req.candidates.items()}
    notice = ctx.session.get(Notice, req.notice_id)
    if notice is None:
        raise InvalidData(f"Notice {req.notice_id} does not exist.")
    notice.final = json.dumps(final, ensure_ascii=False)
    notice.objections = json.dumps(req.objection_log, ensure_ascii=False)
    notice.status, notice.closed_at = "closed", ctx.now
    ctx.session.flush()
    return {**final, "removed": removed}


@dataclass(frozen=True)
class Notification:
    kind: str
    roles: list[str]
    districts: list[str]
    subject: str
    body: str


@handler("notify")
def notify(req: Notification, ctx: HandlerContext) -> dict[str, Any]:
    """Queue a notification for each role (in each district, if any) in the outbox."""
    districts: list[str | None] = [*sorted(set(req.districts))] or [None]
    rows = [
        Outbox(
            instance_id=ctx.instance_id,
            kind=req.kind,
            role=role,
            district=district,
            subject=req.subject,
            body=req.body,
            task=ctx.task,
            created_at=ctx.now,
        )
        for role in req.roles
        for district in districts
    ]
    ctx.session.add_all(rows)
    ctx.session.flush()
    return {"outbox": [row.id for row in rows]}
