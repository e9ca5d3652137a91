"""The in-app notification list: which ``outbox`` rows a user sees, which are unread, marking read.

A notification is addressed to a role, in a district or municipal (``district`` empty). A user sees
those of the roles they hold, in their own district if they have one; municipal users (no
district) see their roles' notifications of every district. This is the inbox's rule
(``Actor.may_act_in``), except that ``admin`` sees only the notifications of roles it holds: it is
not everybody's recipient. Read marks are per user (``notification_read``); nothing here changes
a case, and e-mail delivery (``workflow.delivery``) is independent of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from .errors import NotFound
from .registers import NotificationRead, Outbox
from .store import User
from .users import Actor

PAGE_SIZE = 25


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    subject: str
    body: str
    district: str | None
    instance_id: int
    created_at: datetime
    read_at: datetime | None


def visible_to(actor: Actor) -> ColumnElement[bool]:
    """The ``outbox`` rows ``actor`` receives (see the module doc)."""
    condition: ColumnElement[bool] = Outbox.role.in_(sorted(actor.roles))
    if actor.district is not None:
        condition = and_(condition, Outbox.district == actor.district)
    return condition


def _user_id(session: Session, actor: Actor) -> int:
    found = session.execute(select(User.id).where(User.name == actor.name)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"There is no user '{actor.name}'.")
    return int(found)


def _read_by(user_id: int) -> ColumnElement[bool]:
    mark = aliased(NotificationRead)  # an alias: inside INSERT INTO notification_read it must not correlate
    return exists().where(mark.outbox_id == Outbox.id, mark.user_id == user_id)


def unread_count(session: Session, actor: Actor) -> int:
    uid = _user_id(session, actor)
    return int(session.scalar(select(func.count(Outbox.id)).where(visible_to(actor), ~_read_by(uid))) or 0)


def notifications_page(session: Session, actor: Actor, *, page: int = 1, unread_only: bool = False,
                       size: int = PAGE_SIZE) -> tuple[list[NotificationView], int]:
    """One page of the user's notifications, newest first, and how many there are in all."""
    uid = _user_id(session, actor)
    where = [visible_to(actor)]
    if unread_only:
        where.append(~_read_by(uid))
    total = int(session.scalar(select(func.count(Outbox.id)).where(*where)) or 0)
    rows = session.execute(
        select(Outbox, NotificationRead.read_at)
        .outerjoin(NotificationRead, and_(NotificationRead.outbox_id == Outbox.id, NotificationRead.user_id == uid))
        .where(*where).order_by(Outbox.created_at.desc(), Outbox.id.desc())
        .limit(size).offset((max(page, 1) - 1) * size)).all()
    return [NotificationView(o.id, o.kind, o.subject, o.body, o.district, o.instance_id, o.created_at, read_at)
            for o, read_at in rows], total


def _insert(session: Session):  # type: ignore[no-untyped-def]
    bind = session.get_bind()
    return pg_insert if bind.dialect.name == "postgresql" else sqlite_insert


def mark_read(session: Session, actor: Actor, outbox_id: int, *, now: datetime) -> None:
    """Mark one notification read; ``NotFound`` for one the user does not receive. Idempotent."""
    uid = _user_id(session, actor)
    if session.execute(select(Outbox.id).where(Outbox.id == outbox_id, visible_to(actor))).first() is None:
        raise NotFound(f"There is no notification {outbox_id} for user '{actor.name}'.")
    insert = _insert(session)
    session.execute(insert(NotificationRead).values(outbox_id=outbox_id, user_id=uid, read_at=now)
                    .on_conflict_do_nothing())


def mark_all_read(session: Session, actor: Actor, *, now: datetime) -> int:
    """Mark every notification of the user read; returns how many were unread."""
    uid = _user_id(session, actor)
    unread = select(Outbox.id, literal(uid), literal(now, NotificationRead.read_at.type)) \
        .where(visible_to(actor), ~_read_by(uid))
    count = int(session.scalar(select(func.count()).select_from(unread.subquery())) or 0)
    if count:
        insert = _insert(session)
        session.execute(insert(NotificationRead).from_select(["outbox_id", "user_id", "read_at"], unread)
                        .on_conflict_do_nothing())
    return count
