"""Admin pages on the demo: users (create with known roles and districts only, reset a password,
disable), the lane → role table, and reassigning a task with a reason the history keeps."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from sqlalchemy import select

from tests.web.pages import browser, db_of, event_count, task_ids, task_of
from workflow.engine import Engine
from workflow.history import list_events
from workflow.replay import replay
from workflow.store import HumanTask, LaneRole, User

INTENTION, JINGAN = "拟定创建意向", "310106"


@pytest.fixture
def app(demo_app: Flask) -> Flask:
    return demo_app


@pytest.mark.parametrize("who", ["jingan-dept", "city", "approver", "owner", "auditor"])
def test_only_admins_open_the_admin_pages(app: Flask, who: str) -> None:
    if who == "owner":  # the demo's process owner has no password: give it one to sign in
        admin = browser(app, "admin")
        admin.get("/admin/users")
        admin.post("/admin/users", {"name": "owner", "roles": "流程管理员", "password": "owner-password"})
        user = browser(app)
        assert user.sign_in("owner", "owner-password").status_code == 302
    else:
        user = browser(app, who)
    assert user.get("/admin/users").status_code == 403
    assert user.get("/admin/lanes").status_code == 403
    assert user.post("/admin/users", {"name": "intruder", "roles": "admin", "password": "intruder-pass"}).status_code == 403
    assert user.post("/admin/users/jingan-dept/disabled", {"disabled": "1"}).status_code == 403
    with db_of(app).read() as s:
        assert s.execute(select(User).where(User.name == "intruder")).first() is None
    assert browser(app).get("/admin/users").status_code == 302  # anonymous: sign in first


def test_admin_creates_a_user_who_can_then_sign_in(app: Flask) -> None:
    admin = browser(app, "admin")
    admin.get("/admin/users")
    refused = admin.post("/admin/users", {"name": "new-clerk", "roles": "不存在的角色", "district": JINGAN,
                                          "password": "a-good-password"})
    assert refused.status_code == 422 and "不存在的角色" in refused.get_data(as_text=True)
    bad_district = admin.post("/admin/users", {"name": "new-clerk", "roles": "区有关部门", "district": "999999",
                                               "password": "a-good-password"})
    assert bad_district.status_code == 422
    with db_of(app).read() as s:
        assert s.execute(select(User).where(User.name == "new-clerk")).first() is None
    short = admin.post("/admin/users", {"name": "new-clerk", "roles": "区有关部门", "district": JINGAN,
                                        "password": "short"})
    assert short.status_code == 422
    made = admin.post("/admin/users", {"name": "new-clerk", "display_name": "新同事", "roles": "区有关部门",
                                       "district": JINGAN, "password": "a-good-password"})
    assert made.status_code == 302
    clerk = browser(app)
    assert clerk.sign_in("new-clerk", "a-good-password").status_code == 302
    assert task_ids(clerk.get("/").get_data(as_text=True)) == [task_of(db_of(app), INTENTION, JINGAN)]


def test_changing_a_user_starts_from_what_the_user_has(app: Flask) -> None:
    """修改 fills the form with the user's name shown, roles and district: saving it with one more
    role ticked keeps the others (the form replaces the roles with those ticked)."""
    admin = browser(app, "admin")
    listing = admin.get("/admin/users").get_data(as_text=True)
    assert 'href="/admin/users?edit=jingan-dept#edit"' in listing
    page = admin.get("/admin/users?edit=jingan-dept").get_data(as_text=True)
    assert "修改用户 jingan-dept" in page and 'name="name" value="jingan-dept"' in page
    assert 'value="静安区有关部门（演示）"' in page
    assert 'value="区有关部门" checked' in page and 'value="区委区政府" checked' not in page
    assert f'<option value="{JINGAN}" selected>' in page
    missing = admin.get("/admin/users?edit=nobody").get_data(as_text=True)
    assert "没有用户“nobody”。" in missing and 'name="name" value=""' in missing


def test_a_disabled_user_cannot_sign_in_and_admins_cannot_disable_themselves(app: Flask) -> None:
    admin = browser(app, "admin")
    listing = admin.get("/admin/users").get_data(as_text=True)
    assert 'action="/admin/users/jingan-dept/disabled"' in listing
    assert 'action="/admin/users/admin/disabled"' not in listing  # no button to disable oneself
    assert admin.post("/admin/users/jingan-dept/disabled", {"disabled": "1"}).status_code == 302
    assert browser(app).sign_in("jingan-dept").status_code == 401
    page = admin.post("/admin/users/admin/disabled", {"disabled": "1"}, follow_redirects=True)
    assert "You cannot disable your own account." in page.get_data(as_text=True)
    admin.get("/admin/users")
    assert admin.post("/admin/users/jingan-dept/disabled", {"disabled": "0"}).status_code == 302
    assert browser(app).sign_in("jingan-dept").status_code == 302


def test_mapping_a_lane_moves_its_open_tasks_to_the_role(app: Flask) -> None:
    db = db_of(app)
    task = task_of(db, INTENTION, JINGAN)
    admin = browser(app, "admin")
    assert "区有关部门" in admin.get("/admin/lanes").get_data(as_text=True)
    assert admin.post("/admin/lanes", {"lane": "区有关部门", "role": "区委区政府"}).status_code == 302
    with db.read() as s:
        assert s.get(LaneRole, "区有关部门") is not None
        row = s.get(HumanTask, task)
        assert row is not None and row.role == "区委区政府"
    assert task in task_ids(browser(app, "jingan-leader").get("/").get_data(as_text=True))
    admin.get("/admin/lanes")
    admin.post("/admin/lanes", {"lane": "区有关部门", "role": "没有这个角色"})
    with db.read() as s:
        mapping = s.get(LaneRole, "区有关部门")
        assert mapping is not None and mapping.role == "区委区政府"


def test_reassigning_needs_a_reason_and_someone_who_may_do_the_task(app: Flask) -> None:
    db = db_of(app)
    task = task_of(db, INTENTION, JINGAN)
    dept = browser(app, "jingan-dept")
    dept.get(f"/tasks/{task}")
    dept.post(f"/tasks/{task}/claim")
    admin = browser(app, "admin")
    page = admin.get(f"/tasks/{task}").get_data(as_text=True)
    assert 'name="to"' in page
    before = event_count(db)
    admin.post(f"/admin/tasks/{task}/reassign", {"to": "admin", "reason": " "})
    admin.get(f"/tasks/{task}")
    admin.post(f"/admin/tasks/{task}/reassign", {"to": "huangpu-dept", "reason": "另一个区的人"})
    admin.get(f"/tasks/{task}")
    assert event_count(db) == before
    assert admin.post(f"/tasks/{task}/claim").status_code == 302  # a claim is no reassignment: refused
    with db.read() as s:
        row = s.get(HumanTask, task)
        assert row is not None and row.claimed_by == "jingan-dept"  # claiming a held task was refused
    admin.get(f"/tasks/{task}")
    done = admin.post(f"/admin/tasks/{task}/reassign", {"to": "admin", "reason": "经办人休假，由管理员代办"})
    assert done.status_code == 302
    with db.read() as s:
        row = s.get(HumanTask, task)
        assert row is not None and row.claimed_by == "admin"
        events = list_events(s, row.instance_id)
        last = events[-1]
        assert last.type == "task_reassigned" and last.actor == "admin"
        payload = last.payload if isinstance(last.payload, dict) else json.loads(last.payload)
        assert (payload["from"], payload["to"], payload["reason"]) == ("jingan-dept", "admin", "经办人休假，由管理员代办")
        result = replay(s, Engine(), row.instance_id)
        assert result.ok, result
    assert task in task_ids(admin.get("/?tab=mine").get_data(as_text=True))
    assert task not in task_ids(dept.get("/?tab=mine").get_data(as_text=True))
