"""The programme's registers: public notices (公示), the title register with its history of changes,
and the notification outbox.

Handlers write them in the command's transaction (``HandlerContext.session``), so a register row
exists exactly when the case step that made it was committed. Replay never writes them: it reads
the handler results from history. Nothing deletes a row here: a revoked title keeps its row (status
``revoked``) and every change of status is a ``title_change`` row, so the register's past stays
visible next to the cases' histories.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from .store import Base, UTCDateTime

TITLE_KINDS = ("shanghai", "national")  # 上海市婴幼儿照护服务示范区 / 全国婴幼儿照护服务示范城市
TITLE_STATUSES = ("named", "rectifying", "revoked")
ACTIVE_STATUSES = ("named", "rectifying")


class Notice(Base):
    """A public notice on the "中国上海" portal: the candidates as published, then as closed."""

    __tablename__ = "notice"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    cycle_id: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(500), default="")
    published_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    workdays: Mapped[int] = mapped_column(Integer)
    candidates: Mapped[str] = mapped_column(Text)  # JSON {"shanghai": [...], "national": [...]} as published
    final: Mapped[str] = mapped_column(Text, default="")  # JSON, the same after the objections
    objections: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of decided objections
    status: Mapped[str] = mapped_column(String(20))  # published | closed
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Title(Base):
    """One title held (or once held) by one district: its current status."""

    __tablename__ = "title"
    __table_args__ = (Index("ix_title_district_status", "district", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)  # e.g. SH-2021-1-310101
    kind: Mapped[str] = mapped_column(String(20))  # shanghai | national
    district: Mapped[str] = mapped_column(String(20))
    district_name: Mapped[str] = mapped_column(String(100))
    cycle_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))  # named | rectifying | revoked
    named_on: Mapped[date] = mapped_column(Date)
    document: Mapped[str] = mapped_column(String(200), default="")
    revoked_on: Mapped[date | None] = mapped_column(Date)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))  # the case that named it
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TitleChange(Base):
    """Append-only history of a title's status: who (which case and task) changed it, when, why."""

    __tablename__ = "title_change"
    __table_args__ = (UniqueConstraint("title_id", "seq", name="uq_title_change_seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("title.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_on: Mapped[date | None] = mapped_column(Date)
    document: Mapped[str] = mapped_column(String(200), default="")
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    task: Mapped[str] = mapped_column(String(200))  # BPMN id of the service task
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Outbox(Base):
    """A notification waiting to be delivered to the users holding ``role`` (in ``district``)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_unsent", "sent_at", "id"),
        Index("ix_outbox_role_district", "role", "district"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    kind: Mapped[str] = mapped_column(String(50))  # reminder | escalation | result | decision | ...
    role: Mapped[str] = mapped_column(String(200))
    district: Mapped[str | None] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    task: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # e-mail delivery (workflow.delivery): at least once, every attempt counted
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a retry's or a lease's end
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    recipients: Mapped[str | None] = mapped_column(Text)  # JSON list of the addresses it was sent to


class NotificationRead(Base):
    """That one user has read one notification (the in-app list's unread marks)."""

    __tablename__ = "notification_read"
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True, index=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PublicSubmission(Base):
    """An objection to a notice or a report about a named district, filed by a member of the public
    through the public pages: what was filed, its receipt number and the case it reached."""

    __tablename__ = "public_submission"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    receipt: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # objection | concern
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notice.id"), index=True)
    district: Mapped[str | None] = mapped_column(String(20))
    ground: Mapped[str | None] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(100))
    contact: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class TitleView:
    code: str
    kind: str
    district: str
    district_name: str
    cycle_id: str
    status: str
    named_on: str
    revoked_on: str | None
    changes: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def titles(
    session: Session, *, district: str | None = None, kind: str | None = None, active_only: bool = False
) -> list[TitleView]:
    """The title register (with each title's changes, oldest first), ordered by district and code."""
    query = select(Title).order_by(Title.district, Title.code)
    if district is not None:
        query = query.where(Title.district == district)
    if kind is not None:
        query = query.where(Title.kind == kind)
    if active_only:
        query = query.where(Title.status.in_(ACTIVE_STATUSES))
    rows = session.execute(query).scalars().all()
    changes: dict[int, list[dict[str, Any]]] = {}
    if rows:
        for change in session.execute(
            select(TitleChange)
            .where(TitleChange.title_id.in_([t.id for t in rows]))
            .order_by(TitleChange.title_id, TitleChange.seq)
        ).scalars():
            changes.setdefault(change.title_id, []).append(
                {
                    "seq": change.seq,
                    "from": change.from_status,
                    "to": change.to_status,
                    "reason": change.reason,
                    "decided_on": change.decided_on.isoformat() if change.decided_on else None,
                    "document": change.document,
                    "instance_id": change.instance_id,
                    "task": change.task,
                    "at": change.at.isoformat(),
                }
            )
    return [
        TitleView(
            t.code,
            t.kind,
            t.district,
            t.district_name,
            t.cycle_id,
            t.status,
            t.named_on.isoformat(),
            t.revoked_on.isoformat() if t.revoked_on else None,
            changes.get(t.id, []),
        )
        for t in rows
    ]


def notice_view(notice: Notice) -> dict[str, Any]:
    """A notice as the public page shows it."""
    return {
        "id": notice.id,
        "cycle_id": notice.cycle_id,
        "title": notice.title,
        "url": notice.url,
        "published_on": notice.published_on.isoformat(),
        "ends_on": notice.ends_on.isoformat(),
        "workdays": notice.workdays,
        "status": notice.status,
        "candidates": json.loads(notice.candidates),
        "final": json.loads(notice.final) if notice.final else None,
        "objections": json.loads(notice.objections),
    }
