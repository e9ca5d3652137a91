"""The inbox query: the open tasks a user may claim, plus those they have claimed.

``Actor.may_work_on`` written in SQL. Each branch of the UNION ALL is a conjunction of equalities
that one index answers: the user's own claims (``ix_human_task_claimed``, a partial index over
claimed rows only, so that it is never chosen for unclaimed ones), and the unclaimed tasks of the
user's roles in the user's district (``ix_human_task_inbox``). A district user never sees tasks of
a case without a district (a municipal case); a task without a role is for admins only. An ``OR`` inside one branch would leave the planner only
``state = 'ready'`` to seek on, and the query would slow down with the size of the whole inbox
rather than the user's share of it.

The statement depends on the user only through its shape (admin or not, the roles, whether the
user has a district) and two values (name, district). Building and compiling a UNION of SELECTs costs far more than running it, so each shape is built and compiled once and run on the
driver (``workflow.fastsql``) with the user's values.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, false, func, literal, select, union_all
from sqlalchemy.orm import Session

from .errors import InvalidData
from .fastsql import Prepared
from .store import HumanTask, Instance, table_of
from .taskview import TaskView, human_row
from .users import AUDITOR, Actor

HT = table_of(HumanTask)
INSTANCE = table_of(Instance)


def _statement(admin: bool, roles: tuple[str, ...], has_district: bool, limit: int | None) -> Select[Any]:
    """The query of one shape, with ``actor_name`` and ``actor_district`` to bind."""
    branches = [select(HT).where(HT.c.claimed_by == bindparam("actor_name"), HT.c.state == "ready")]
    free = select(HT).where(HT.c.state == "ready", HT.c.claimed_by.is_(None))
    if admin:
        branches.append(free)
    else:
        role = HT.c.role.in_([literal(r) for r in roles])
        if not has_district:
            branches.append(free.where(role))
        else:
            branches.append(free.where(role, HT.c.district == bindparam("actor_district")))
    both = union_all(*branches).subquery()
    query = select(both).order_by(both.c.id)
    return query if limit is None else query.limit(limit)


def _shape(actor: Actor, limit: int | None) -> tuple[bool, tuple[str, ...], bool, int | None]:
    return actor.is_admin, tuple(sorted(actor.roles)), actor.district is not None, limit


def claimable_query(actor: Actor, *, limit: int | None = None) -> Select[Any]:
    """The query for ``actor`` with its values bound (for EXPLAIN and for reading)."""
    return _statement(*_shape(actor, limit)).params(actor_name=actor.name, actor_district=actor.district)


@functools.lru_cache(maxsize=256)
def _prepared(shape: tuple[bool, tuple[str, ...], bool, int | None]) -> Prepared:
    return Prepared(_statement(*shape))


def claimable_tasks(session: Session, actor: Actor, *, limit: int | None = None) -> list[TaskView]:
    """Open tasks ``actor`` may claim or has claimed, oldest first (at most ``limit``)."""
    cursor = _prepared(_shape(actor, limit)).execute(session, {"actor_name": actor.name,
                                                               "actor_district": actor.district})
    views = [TaskView(**human_row(raw)) for raw in cursor.fetchall()]
    cursor.close()
    return views


# -- the web inbox's pages -----------------------------------------------------------------------
TABS = ("open", "mine", "done")
SORTS = ("due", "oldest", "newest")
PAGE_SIZE = 25
# counting stops here: past it a count costs more than a page, and "10,000+" says as much
COUNT_CAP = 10_000


@dataclass(frozen=True)
class InboxFilter:
    """What one inbox page shows. ``tab``: ``open`` (ready tasks of the user's roles and district,
    held by anyone or nobody), ``mine`` (ready tasks the user holds), ``done`` (tasks the user
    completed). ``overdue``: only tasks whose due time has passed (``now``); on ``done``, only tasks
    completed after their due time."""

    tab: str = "open"
    cycle: str | None = None
    district: str | None = None
    process_id: str | None = None
    overdue: bool = False
    sort: str = "due"
    page: int = 1
    size: int = PAGE_SIZE

    def __post_init__(self) -> None:
        if self.tab not in TABS:
            raise InvalidData(f"Unknown inbox tab {self.tab!r}: one of {', '.join(TABS)}.")
        if self.sort not in SORTS:
            raise InvalidData(f"Unknown sort {self.sort!r}: one of {', '.join(SORTS)}.")
        if not 1 <= self.page <= 100_000 or not 1 <= self.size <= 200:
            raise InvalidData("Page numbers start at 1; a page holds 1 to 200 tasks.")


@dataclass(frozen=True)
class InboxPage:
    tasks: list[TaskView]
    total: int  # at most COUNT_CAP
    filter: InboxFilter
    more: bool = False  # there are more than ``total`` (COUNT_CAP) tasks

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.filter.size))


def _visible(actor: Actor, tab: str) -> list[Any]:
    """The conditions that make a row part of ``tab`` for ``actor`` (``Actor.may_work_on`` in SQL)."""
    if tab == "mine":
        return [HT.c.claimed_by == actor.name, HT.c.state == "ready"]
    if tab == "done":
        return [HT.c.completed_by == actor.name, HT.c.state == "completed"]
    conditions: list[Any] = [HT.c.state == "ready"]
    if not actor.is_admin:
        conditions.append(HT.c.role.in_(sorted(actor.roles)) if actor.roles else false())
        if actor.district is not None:
            conditions.append(HT.c.district == actor.district)
    return conditions


def _conditions(actor: Actor, flt: InboxFilter, now: datetime) -> list[Any]:
    conditions = _visible(actor, flt.tab)
    if flt.cycle:
        conditions.append(HT.c.instance_id.in_(select(INSTANCE.c.id).where(INSTANCE.c.cycle_id == flt.cycle)))
    if flt.district:
        conditions.append(HT.c.district == flt.district)
    if flt.process_id:
        conditions.append(HT.c.process_id == flt.process_id)
    if flt.overdue:
        conditions.append(HT.c.due_at.is_not(None))
        # a completed task was overdue if it was completed late; an open one is overdue now
        conditions.append(HT.c.due_at < (HT.c.completed_at if flt.tab == "done" else now))
    return conditions


def inbox_count(session: Session, actor: Actor, flt: InboxFilter, *, now: datetime) -> tuple[int, bool]:
    """How many rows ``flt`` selects for ``actor``, up to ``COUNT_CAP``, and whether there are
    more: counting every open task (an admin's inbox) would grow with the table."""
    found = select(literal(1)).select_from(HT).where(*_conditions(actor, flt, now)).limit(COUNT_CAP + 1).subquery()
    count = int(session.execute(select(func.count()).select_from(found)).scalar_one())
    return min(count, COUNT_CAP), count > COUNT_CAP


def _by_due(conditions: list[Any], end: int) -> Select[Any]:
    """Rows with a due time, soonest first, then those without, oldest first: each part read in
    the order of an index (``ix_human_task_due``: state, due_at) and cut at ``end``, so a page
    costs its position, not the size of the inbox (``ORDER BY due_at IS NULL`` has no index).
    Only for inboxes that span every role: given a user's roles, SQLite's planner would take this
    index over ``ix_human_task_inbox`` and read every open task."""
    dated = select(HT).where(*conditions, HT.c.due_at.is_not(None)).order_by(HT.c.due_at, HT.c.id).limit(end)
    undated = select(HT).where(*conditions, HT.c.due_at.is_(None)).order_by(HT.c.id).limit(end)
    both = union_all(select(dated.subquery()), select(undated.subquery())).subquery()
    return select(both).order_by(both.c.due_at.is_(None), both.c.due_at, both.c.id)


def inbox_page(session: Session, actor: Actor, flt: InboxFilter, *, now: datetime) -> InboxPage:
    """One page of the inbox: the rows of ``flt.tab`` that ``actor`` may see, filtered and sorted.

    Every filter is an equality or a range on ``human_task`` that its indexes answer; the count
    runs over the same conditions (up to ``COUNT_CAP``). Sorting by due date puts tasks without
    one last."""
    conditions = _conditions(actor, flt, now)
    total, more = inbox_count(session, actor, flt, now=now)
    offset = (flt.page - 1) * flt.size
    if flt.tab == "done":
        order = [HT.c.completed_at.desc(), HT.c.id.desc()] if flt.sort == "due" else \
            [HT.c.id] if flt.sort == "oldest" else [HT.c.id.desc()]
        query = select(HT).where(*conditions).order_by(*order)
    elif flt.sort == "due" and flt.tab == "open" and actor.is_admin:
        # every open task: sorting them all would grow with the table
        query = _by_due(conditions, offset + flt.size)
    elif flt.sort == "due":  # the user's own share, found by ix_human_task_inbox / _claimed, then sorted
        query = select(HT).where(*conditions).order_by(HT.c.due_at.is_(None), HT.c.due_at, HT.c.id)
    else:
        query = select(HT).where(*conditions).order_by(HT.c.id if flt.sort == "oldest" else HT.c.id.desc())
    rows = session.execute(query.limit(flt.size).offset(offset)).all()
    return InboxPage([TaskView.of(row) for row in rows], total, flt, more)


def may_see_task(actor: Actor, task: TaskView) -> bool:
    """Whether ``actor`` may open the task's page: it is theirs to work on, they hold or completed
    it, or they read every case (admin, auditor)."""
    if actor.is_admin or AUDITOR in actor.roles:
        return True
    if task.claimed_by == actor.name or task.completed_by == actor.name:
        return True
    return actor.may_work_on(task.role, task.district)


def cycles(session: Session) -> list[str]:
    """The creation cycles that cases belong to, newest first (for the inbox's filter)."""
    found = session.execute(select(INSTANCE.c.cycle_id).where(INSTANCE.c.cycle_id.is_not(None)).distinct()).scalars()
    return sorted((str(c) for c in found), reverse=True)
