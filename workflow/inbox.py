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
from typing import Any

from sqlalchemy import Select, bindparam, literal, select, union_all
from sqlalchemy.orm import Session

from .fastsql import Prepared
from .store import HumanTask, table_of
from .taskview import TaskView, human_row
from .users import Actor

HT = table_of(HumanTask)


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
