"""The in-app notifications on the demo: each user sees the outbox rows of their roles (in their
district; municipal users in every district), an unread count in every page's header, marking one
or all read (per user), another user's notification answers 404, text is shown escaped, and a post
without the CSRF token changes nothing. SQLite, and the counts on PostgreSQL too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.web.pages import browser, copy_sqlite, make_app, seed_demo
from workflow.registers import NotificationRead, Outbox
from workflow.store import Database
from workflow.users import add_user

JINGAN = "310106"


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path) -> Iterator[Flask]:
    app = make_app(copy_sqlite(demo_template, tmp_path))
    yield app
    app.extensions["shanyu"]["db"].dispose()


def db_of(app: Flask) -> Database:
    db = app.extensions["shanyu"]["db"]
    assert isinstance(db, Database)
    return db


def text(answer: object) -> str:
    return answer.get_data(as_text=True)  # type: ignore[attr-defined,no-any-return]


def unread_in_header(html: str) -> int:
    found = re.search(r'data-unread="(\d+)"', html)
    return int(found.group(1)) if found else 0


def expected(db: Database, roles: list[str], district: str | None) -> int:
    with db.read() as s:
        query = select(func.count()).select_from(Outbox).where(Outbox.role.in_(roles))
        if district is not None:
            query = query.where(Outbox.district == district)
        return int(s.scalar(query) or 0)


def rows_shown(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-notification="(\d+)"', html)]


def check_counts(app: Flask) -> None:
    db = db_of(app)
    for name, roles, district in (("jingan-dept", ["区有关部门"], JINGAN), ("city", ["市有关部门"], None),
                                  ("huangpu-leader", ["区委区政府"], "310101")):
        n = expected(db, roles, district)
        assert n > 0
        b = browser(app, name)
        assert unread_in_header(text(b.get("/"))) == n, name
        assert len(rows_shown(text(b.get("/notifications")))) == min(n, 25)
    for name in ("auditor", "admin", "owner"):
        assert unread_in_header(text(browser(app, name).get("/"))) == 0


def test_each_user_sees_their_roles_notifications_and_an_unread_count(demo: Flask) -> None:
    check_counts(demo)
    assert unread_in_header(text(browser(demo).get("/notices"))) == 0  # signed out: no count, no link
    assert browser(demo).get("/notifications").status_code == 302


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_each_user_sees_their_roles_notifications_on_postgres(site_url: tuple[str, str]) -> None:
    _backend, url = site_url
    seeding = Database(url)
    seed_demo(seeding)
    seeding.dispose()
    app = make_app(url)
    try:
        check_counts(app)
        mark_one_then_all(app)
    finally:
        db_of(app).dispose()


def mark_one_then_all(app: Flask) -> None:
    db = db_of(app)
    total = expected(db, ["区有关部门"], JINGAN)
    with db.write() as s:
        add_user(s, "jingan-dept2", ["区有关部门"], district=JINGAN, password="shanyu-demo",
                 now=app.extensions["shanyu"]["clock"].now())
    b = browser(app, "jingan-dept")
    first = rows_shown(text(b.get("/notifications")))[0]
    answer = b.post(f"/notifications/{first}/read")
    assert answer.status_code == 302
    page = text(b.get("/notifications"))
    assert unread_in_header(page) == total - 1
    assert re.search(rf'<tr class="" data-notification="{first}">', page)
    assert rows_shown(text(b.get("/notifications?unread=1"))) == [n for n in rows_shown(page) if n != first]
    assert b.post(f"/notifications/{first}/read").status_code == 302  # again: no change, no error
    assert unread_in_header(text(browser(app, "jingan-dept2").get("/"))) == total  # marks are per user
    b.get("/notifications")
    assert b.post("/notifications/read-all").status_code == 302
    done = b.get("/notifications")
    assert unread_in_header(text(done)) == 0 and f"已将 {total - 1} 条通知标为已读。" in text(done)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(NotificationRead)) == total


def test_mark_one_read_then_all(demo: Flask) -> None:
    mark_one_then_all(demo)


def test_another_users_notification_is_not_found_and_stays_unread(demo: Flask) -> None:
    db = db_of(demo)
    b = browser(demo, "jingan-dept")
    theirs = rows_shown(text(b.get("/notifications")))[0]
    other = browser(demo, "xuhui-dept")
    assert other.post(f"/notifications/{theirs}/read").status_code == 404
    assert other.post("/notifications/999999/read").status_code == 404
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(NotificationRead)) == 0


def test_a_mark_read_without_the_csrf_token_changes_nothing(demo: Flask) -> None:
    b = browser(demo, "city")
    first = rows_shown(text(b.get("/notifications")))[0]
    assert b.post(f"/notifications/{first}/read", token=False).status_code == 400
    assert b.post("/notifications/read-all", token=False).status_code == 400
    with db_of(demo).read() as s:
        assert s.scalar(select(func.count()).select_from(NotificationRead)) == 0


def test_notification_text_is_shown_escaped(demo: Flask) -> None:
    db = db_of(demo)
    with db.write() as s:
        instance_id = s.execute(select(Outbox.instance_id)).scalars().first()
        s.add(Outbox(instance_id=instance_id, kind="result", role="市有关部门", district=None,
                     subject="<script>alert(1)</script>", body="<img src=x onerror=alert(2)>", task="T",
                     created_at=demo.extensions["shanyu"]["clock"].now()))
    page = text(browser(demo, "city").get("/notifications"))
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
