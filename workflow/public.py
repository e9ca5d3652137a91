"""What the public may do without signing in: read the public notices (公示), object to a notice
while it is open, and report a concern about a named district (the notice's 动态监测, the situations
of its 第六条). Flask-free; ``web.public`` is the pages.

Contract
    ``file_objection`` and ``file_concern`` validate what was typed (``problems``), then send the
    message a case waits for through ``Engine.message`` as ``PUBLIC`` (a system actor without roles
    or district), store a ``PublicSubmission`` with a new receipt number, and return it. The caller
    owns the transaction: message and submission commit together or not at all, and on bad input
    (``InvalidData`` with ``details["problems"]``: field → code) or a closed notice
    (``NoticeClosed``) nothing is saved.

The objection window
    An objection becomes ``objection_received`` (key ``cycle_id``), which the cycle's 受理异议
    receives while the notice runs. The window is the diagram's: its boundary timer 公示期满
    (``Timer_notice_end``, ``deadline_at(notice_ends_on, cutoff_time)``) ends the reception. So the
    notice is open while that timer waits and its due time has not come: the due time the case
    itself computed on the working-day calendar, the cycle's cut-off time (本地设定, 17:00 unless the
    cycle sets another; cycles of earlier diagrams: 17:00) Beijing time of the last working day. Between
    the due time and the scheduler's next sweep the case would still take the message, which is why
    the time is checked here and not left to the engine.

A report is never a decision
    A concern becomes ``revocation_requested`` (key ``district``), which starts a revocation case:
    municipal staff verify it (核实情况) and a municipal approver decides. Only districts holding an
    active Shanghai title (named or rectifying) can be reported.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.titles import GROUNDS
from workflow.clock import SHANGHAI
from workflow.engine import Engine
from workflow.errors import InvalidData, MessageNotDelivered, NotFound, NoticeClosed
from workflow.registers import Notice, PublicSubmission, notice_view, titles
from workflow.store import Timer
from workflow.users import Actor

PUBLIC = Actor("system:public-web")  # the public pages' sender: no roles, no district
OBJECTION_MESSAGE = "objection_received"  # creation_cycle.bpmn, Receive_objection; key cycle_id
CONCERN_MESSAGE = "revocation_requested"  # revocation.bpmn, Start_request; key district
NOTICE_TIMER = "Timer_notice_end"  # creation_cycle.bpmn: deadline_at(notice_ends_on, cutoff_time)
NOTICE_CLOSES = time(17, 0)  # the default cut-off time, for a notice whose timer row is not found
CONCERN_GROUNDS = tuple(GROUNDS)  # 第六条: (一) safety_accident; (二) backsliding, fraud; (三) low_satisfaction
CONCERN_SOURCE = "report"  # 举报或事故报告 (handlers.titles.SOURCES)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EMAIL = re.compile(r"[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+")
_PHONE = re.compile(r"\+?[0-9][0-9 ()\-]{5,24}")


@dataclass(frozen=True)
class Limits:
    """Lengths a submission's fields may have. 本地设定 (local settings): the notice sets none."""

    name_max: int = 50
    contact_max: int = 100
    content_min: int = 10
    content_max: int = 2000


@dataclass(frozen=True)
class Submission:
    name: str
    contact: str
    content: str
    district: str = ""  # objection: the candidate it concerns (optional); concern: the named district
    ground: str = ""  # concern only: a key of CONCERN_GROUNDS

    @classmethod
    def of(cls, form: Any) -> Submission:
        """From a posted form: text trimmed, line ends made ``\\n``."""
        return cls(*(form_text(form, key) for key in ("name", "contact", "content", "district", "ground")))


def form_text(form: Any, key: str) -> str:
    """A posted field's text: trimmed, line ends made ``\\n``; ``""`` when missing."""
    return str(form.get(key) or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def has_control(text: str) -> bool:
    """Whether ``text`` holds a control character other than tab and line ends."""
    return _CONTROL.search(text) is not None


@dataclass(frozen=True)
class Filed:
    receipt: str
    kind: str
    instance_ids: list[int]
    at: datetime


@dataclass(frozen=True)
class NoticeInfo:
    """A notice as the public pages show it: ``view`` (``notice_view``), when it closes, whether it is open."""

    view: dict[str, Any]
    closes_at: datetime
    open: bool
    removed: list[dict[str, Any]]
    upcoming: bool = False  # its publication day has not come

    @property
    def id(self) -> int:
        return int(self.view["id"])


def _candidate_codes(notice: Notice | dict[str, Any]) -> set[str]:
    view = notice if isinstance(notice, dict) else notice_view(notice)
    return {str(c.get("code")) for group in view["candidates"].values() for c in group}


def problems(sub: Submission, kind: str, limits: Limits, *, districts: set[str]) -> dict[str, str]:
    """Field → what is wrong (``required``, ``too_long``, ``too_short``, ``control``, ``not_contact``,
    ``unknown``); empty when the submission may be filed. ``districts``: those it may concern."""
    found: dict[str, str] = {}
    for key, value, most in (("name", sub.name, limits.name_max), ("contact", sub.contact, limits.contact_max),
                             ("content", sub.content, limits.content_max)):
        if not value:
            found[key] = "required"
        elif len(value) > most:
            found[key] = "too_long"
        elif has_control(value) or (key != "content" and "\n" in value):
            found[key] = "control"
    if "content" not in found and len(sub.content) < limits.content_min:
        found["content"] = "too_short"
    if "contact" not in found and not (_EMAIL.fullmatch(sub.contact) or (
            _PHONE.fullmatch(sub.contact) and sum(c.isdigit() for c in sub.contact) >= 7)):
        found["contact"] = "not_contact"
    if kind == "concern":
        if not sub.district:
            found["district"] = "required"
        elif sub.district not in districts:
            found["district"] = "unknown"
        if not sub.ground:
            found["ground"] = "required"
        elif sub.ground not in CONCERN_GROUNDS:
            found["ground"] = "unknown"
    elif sub.district and sub.district not in districts:
        found["district"] = "unknown"
    return found


# -- notices -----------------------------------------------------------------------------------
def closes_at(session: Session, notice: Notice) -> datetime:
    """When reception ends: the due time of the case's 公示期满 timer (see the module doc)."""
    due = session.execute(
        select(Timer.due_at).where(Timer.instance_id == notice.instance_id, Timer.bpmn_id == NOTICE_TIMER)
        .order_by(Timer.id.desc()).limit(1)).scalar_one_or_none()
    if due is not None:
        return due
    return datetime.combine(notice.ends_on, NOTICE_CLOSES, tzinfo=SHANGHAI)


def is_open(session: Session, notice: Notice, now: datetime) -> bool:
    """Published, not closed, and before its closing time; a notice announced for a later day
    opens on its publication day."""
    if notice.status != "published":
        return False
    if now.astimezone(SHANGHAI).date() < notice.published_on:
        return False
    waiting = session.execute(
        select(Timer.state).where(Timer.instance_id == notice.instance_id, Timer.bpmn_id == NOTICE_TIMER)
        .order_by(Timer.id.desc()).limit(1)).scalar_one_or_none()
    return waiting in (None, "waiting") and now < closes_at(session, notice)


def _info(session: Session, notice: Notice, now: datetime) -> NoticeInfo:
    view = notice_view(notice)
    removed: list[dict[str, Any]] = []
    if view["final"] is not None:
        kept = {str(c.get("code")) for group in view["final"].values() for c in group if isinstance(c, dict)}
        seen: set[str] = set()
        for group in view["candidates"].values():
            for c in group:
                code = str(c.get("code"))
                if code not in kept and code not in seen:
                    seen.add(code)
                    removed.append(c)
    view.pop("objections", None)  # the objectors' names and contacts are not for the public page
    upcoming = now.astimezone(SHANGHAI).date() < notice.published_on
    return NoticeInfo(view, closes_at(session, notice), is_open(session, notice, now), removed, upcoming)


def public_notices(session: Session, now: datetime) -> list[NoticeInfo]:
    """Every notice, newest publication first."""
    rows = session.execute(select(Notice).order_by(Notice.published_on.desc(), Notice.id.desc())).scalars()
    return [_info(session, n, now) for n in rows]


def public_notice(session: Session, notice_id: int, now: datetime) -> NoticeInfo:
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NotFound(f"There is no public notice {notice_id}.")
    return _info(session, notice, now)


def named_districts(session: Session) -> list[tuple[str, str]]:
    """(code, name) of the districts holding an active Shanghai title: those a concern may name."""
    return [(t.district, t.district_name) for t in titles(session, kind="shanghai", active_only=True)]


# -- filing --------------------------------------------------------------------------------------
def _receipt(session: Session, prefix: str, now: datetime) -> str:
    day: date = now.astimezone(SHANGHAI).date()
    while True:
        candidate = f"{prefix}-{day:%Y%m%d}-{secrets.token_hex(4).upper()}"
        if session.execute(select(PublicSubmission.id).where(PublicSubmission.receipt == candidate)).first() is None:
            return candidate


def _refuse(found: dict[str, str]) -> None:
    if found:
        raise InvalidData("The submission has faults: " + ", ".join(f"{k} ({v})" for k, v in sorted(found.items()))
                          + ". Nothing was saved.", problems=found)


def file_objection(session: Session, engine: Engine, notice_id: int, sub: Submission, *, now: datetime,
                   limits: Limits = Limits()) -> Filed:
    """An objection to an open notice, delivered to the cycle case's 受理异议 (see the module doc)."""
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NotFound(f"There is no public notice {notice_id}.")
    if now.astimezone(SHANGHAI).date() < notice.published_on:
        raise NoticeClosed(f"The notice '{notice.title}' is published on {notice.published_on}; objections are "
                           "taken from then on. Nothing was saved.", upcoming=True)
    if not is_open(session, notice, now):
        raise NoticeClosed(f"The notice '{notice.title}' is not open for objections (it closed at "
                           f"{closes_at(session, notice).astimezone(SHANGHAI):%Y-%m-%d %H:%M} Beijing time). "
                           "Nothing was saved.", closes_at=closes_at(session, notice).isoformat())
    _refuse(problems(sub, "objection", limits, districts=_candidate_codes(notice)))
    receipt = _receipt(session, "YY", now)
    payload = {"district": sub.district, "content": sub.content, "contact": sub.contact, "name": sub.name,
               "receipt": receipt, "source": "public"}
    try:
        reached = engine.message(session, OBJECTION_MESSAGE, {"cycle_id": notice.cycle_id}, payload,
                                 actor=PUBLIC, now=now)
    except MessageNotDelivered:
        raise NoticeClosed(f"The notice '{notice.title}' no longer receives objections. Nothing was saved.") from None
    session.add(PublicSubmission(receipt=receipt, kind="objection", notice_id=notice.id,
                                 district=sub.district or None, name=sub.name, contact=sub.contact,
                                 content=sub.content, instance_id=reached[0], created_at=now))
    session.flush()
    return Filed(receipt, "objection", reached, now)


def file_concern(session: Session, engine: Engine, sub: Submission, *, now: datetime,
                 limits: Limits = Limits()) -> Filed:
    """A report about a named district: starts a revocation case for municipal staff to verify."""
    _refuse(problems(sub, "concern", limits, districts={code for code, _ in named_districts(session)}))
    receipt = _receipt(session, "FY", now)
    payload = {"ground": sub.ground, "source": CONCERN_SOURCE, "summary": sub.content, "name": sub.name,
               "contact": sub.contact, "receipt": receipt}
    reached = engine.message(session, CONCERN_MESSAGE, {"district": sub.district}, payload, actor=PUBLIC, now=now)
    session.add(PublicSubmission(receipt=receipt, kind="concern", district=sub.district, ground=sub.ground,
                                 name=sub.name, contact=sub.contact, content=sub.content, instance_id=reached[0],
                                 created_at=now))
    session.flush()
    return Filed(receipt, "concern", reached, now)
