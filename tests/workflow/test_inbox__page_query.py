"""The inbox pages' query (``workflow.inbox.inbox_page``): the order by due date that an admin's
inbox reads in index order is the order every other inbox is sorted into, page after page; counts
stop at ``COUNT_CAP`` and say so; the tab of completed tasks is the user's own."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import insert, select

from tests.conftest import deploy
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.inbox import COUNT_CAP, InboxFilter, inbox_count, inbox_page
from workflow.store import Database, HumanTask, Instance, ProcessVersion, table_of
from workflow.users import Actor

ADMIN = Actor("admin", frozenset({"admin"}))
HUANGPU = Actor("huangpu", frozenset({"区有关部门"}), "310101")


def fill(db: Database, clock: FakeClock, count: int, *, seed: int = 3) -> None:
    """One case, ``count`` inbox rows: open or completed, some due (some on the same instant), some claimed."""
    rng = random.Random(seed)
    now = clock.now()
    deploy(Engine(), db, clock, "engine_basic.bpmn")
    with db.write() as s:
        version = s.execute(select(ProcessVersion.id)).scalar_one()
        s.connection().execute(insert(table_of(Instance)).values(
            id=1, process_version_id=version, process_id="p", status="running", district="310101", started_by="x",
            started_at=now, updated_at=now, lock_version=0, state_token="", meta="{}", event_count=0, head_hash="",
            state_digest=""))
        rows = []
        for i in range(count):
            done = rng.random() < 0.2
            rows.append({"instance_id": 1, "task_id": f"t{i}", "process_id": "p", "bpmn_id": "T", "name": f"任务{i}",
                         "lane": "区有关部门", "role": rng.choice(["区有关部门", "市有关部门"]),
                         "district": rng.choice(["310101", "310104"]), "form": None,
                         "due_at": now + timedelta(days=rng.randint(-3, 3)) if rng.random() < 0.5 else None,
                         "state": "completed" if done else "ready",
                         "claimed_by": "huangpu" if not done and rng.random() < 0.1 else None, "claimed_at": None,
                         "created_at": now, "completed_at": now + timedelta(minutes=i) if done else None,
                         "completed_by": rng.choice(["huangpu", "city"]) if done else None})
        s.connection().execute(insert(table_of(HumanTask)), rows)


def every_page(db: Database, actor: Actor, clock: FakeClock, **flt: object) -> list[int]:
    seen: list[int] = []
    with db.read() as s:
        page = 1
        while True:
            found = inbox_page(s, actor, InboxFilter(page=page, size=7, **flt), now=clock.now())  # type: ignore[arg-type]
            seen += [t.id for t in found.tasks]
            if page >= found.pages:
                return seen
            page += 1


def test_the_admins_inbox_by_due_date_is_every_open_task_in_order(db: Database, clock: FakeClock) -> None:
    fill(db, clock, 300)
    with db.read() as s:
        rows = s.query(HumanTask).filter(HumanTask.state == "ready").all()
    far = clock.now() + timedelta(days=10_000)
    expected = [r.id for r in sorted(rows, key=lambda r: (r.due_at is None, r.due_at or far, r.id))]
    assert every_page(db, ADMIN, clock) == expected
    overdue = [r.id for r in sorted(rows, key=lambda r: (r.due_at or far, r.id))
               if r.due_at is not None and r.due_at < clock.now()]
    assert every_page(db, ADMIN, clock, overdue=True) == overdue
    in_district = [i for i in expected if next(r for r in rows if r.id == i).district == "310104"]
    assert every_page(db, ADMIN, clock, district="310104") == in_district
    # a district user's inbox: the same order over the user's share
    mine = [r.id for r in sorted(rows, key=lambda r: (r.due_at is None, r.due_at or far, r.id))
            if r.role == "区有关部门" and r.district == "310101"]
    assert every_page(db, HUANGPU, clock) == mine and mine


def test_the_completed_tab_holds_the_users_own_completions(db: Database, clock: FakeClock) -> None:
    fill(db, clock, 200)
    with db.read() as s:
        done = [r.id for r in s.query(HumanTask).filter(HumanTask.completed_by == "huangpu")
                .order_by(HumanTask.completed_at.desc(), HumanTask.id.desc())]
    assert done and every_page(db, HUANGPU, clock, tab="done") == done


def test_overdue_on_the_completed_tab_means_completed_late(db: Database, clock: FakeClock) -> None:
    """On the done tab, "overdue" selects the completions made after their due time, whatever the
    time is now (a month after every due time here)."""
    fill(db, clock, 300)
    clock.advance(days=30)  # everything is past due today
    with db.read() as s:
        late = [r.id for r in s.query(HumanTask).filter(HumanTask.completed_by == "huangpu",
                                                         HumanTask.completed_at > HumanTask.due_at)
                .order_by(HumanTask.completed_at.desc(), HumanTask.id.desc())]
        on_time = s.query(HumanTask).filter(HumanTask.completed_by == "huangpu",
                                            HumanTask.completed_at <= HumanTask.due_at).count()
    assert late and on_time  # the data has both
    assert every_page(db, HUANGPU, clock, tab="done", overdue=True) == late


def test_counts_stop_at_the_cap_and_say_so(db: Database, clock: FakeClock) -> None:
    fill(db, clock, COUNT_CAP * 14 // 10)  # a fifth of them completed
    with db.read() as s:
        total, more = inbox_count(s, ADMIN, InboxFilter(), now=clock.now())
        assert (total, more) == (COUNT_CAP, True)
        page = inbox_page(s, ADMIN, InboxFilter(), now=clock.now())
        assert (page.total, page.more, len(page.tasks)) == (COUNT_CAP, True, 25)
        small, more = inbox_count(s, HUANGPU, InboxFilter(tab="mine"), now=clock.now())
        assert 0 < small < COUNT_CAP and not more
