"""The inbox query: the open tasks a user may claim, plus those they have claimed.

``Actor.may_work_on`` written in SQL. Each branch of the UNION ALL is a conjunction of equalities
that one index answers: the user's own claims (``ix_human_task_claimed``, a partial index over
claimed rows only, so that it is never chosen for unclaimed ones), and the unclaimed tasks of each
of the user's roles (or of no lane) in the user's district (or of no district)
(``ix_human_task_inbox``). An ``OR`` inside one branch would leave the planner only
``state = 'ready'`` to seek on, and the query would slow down with the size of the whole inbox
rather than the user's share of it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select, union_all
from sqlalchemy.orm import Session

from .engine import TaskView
from .store import HumanTask, table_of
from .users import Actor

HT = table_of(HumanTask)


def claimable_query(actor: Actor) -> Select[Any]:
    branches = [select(HT).where(HT.c.claimed_by == actor.name, HT.c.state == "ready")]
    free = select(HT).where(HT.c.state == "ready", HT.c.claimed_by.is_(None))
    if actor.is_admin:
        branches.append(free)
    else:
        for role in (HT.c.role.in_(sorted(actor.roles)), HT.c.role.is_(None)):
            if actor.district is None:
                branches.append(free.where(role))
            else:
                for district in (HT.c.district == actor.district, HT.c.district.is_(None)):
                    branches.append(free.where(role, district))
    both = union_all(*branches).subquery()
    return select(both).order_by(both.c.id)


def claimable_tasks(session: Session, actor: Actor, *, limit: int | None = None) -> list[TaskView]:
    """Open tasks ``actor`` may claim or has claimed, oldest first (at most ``limit``)."""
    query = claimable_query(actor)
    if limit is not None:
        query = query.limit(limit)
    return [TaskView.of(row) for row in session.execute(query)]
