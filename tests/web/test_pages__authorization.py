"""Who may open and do what on the pages: every route × every kind of demo account (both district
roles of two districts, each municipal role, the process owner, the auditor, an admin, and nobody
signed in). A refused change changes nothing; a district user never reads another district's task
or diagram by guessing its id."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.web.pages import Browser, browser, copy_sqlite, event_count, make_app, task_of
from workflow.store import Database, HumanTask, LaneRole, TaskDraft, User
from workflow.users import add_user

JINGAN = "310106"
ACCOUNTS = ["jingan-dept", "jingan-leader", "huangpu-dept", "huangpu-leader", "city", "approver", "expert",
            "owner", "auditor", "admin", None]
# who may see the 静安 intention task (区有关部门 of 310106): its department, the admin, the auditor
SEES_TASK = {"jingan-dept", "admin", "auditor"}
# who may claim it
CLAIMS = {"jingan-dept", "admin"}


@pytest.fixture
def app(demo_template: Path, tmp_path: Path) -> Iterator[Flask]:
    flask_app = make_app(copy_sqlite(demo_template, tmp_path))
    db: Database = flask_app.extensions["shanyu"]["db"]
    with db.write() as s:  # the demo's process owner has no password; give it one to sign in
        add_user(s, "owner", ["流程管理员"], password="owner-password", now=flask_app.extensions["shanyu"]["clock"].now())
    yield flask_app
    db.dispose()


def signed_in(app: Flask, who: str | None) -> Browser:
    if who is None:
        return browser(app)
    if who == "owner":
        b = browser(app)
        assert b.sign_in("owner", "owner-password").status_code == 302
        return b
    return browser(app, who)


def state(db: Database) -> tuple[int, int, int, int, int]:
    with db.read() as s:
        return (event_count(db),
                s.execute(select(func.count()).select_from(HumanTask).where(HumanTask.claimed_by.is_not(None)))
                .scalar_one(),
                s.execute(select(func.count()).select_from(TaskDraft)).scalar_one(),
                s.execute(select(func.count()).select_from(User).where(User.disabled.is_(True))).scalar_one(),
                s.execute(select(func.count()).select_from(LaneRole)).scalar_one())


@pytest.mark.parametrize("who", ACCOUNTS, ids=lambda w: w or "anonymous")
def test_every_route_for_every_account(app: Flask, who: str | None) -> None:
    db: Database = app.extensions["shanyu"]["db"]
    task = task_of(db, "拟定创建意向", JINGAN)
    b = signed_in(app, who)
    anonymous = who is None

    # pages anyone may open
    assert b.get("/status").status_code == 200
    assert b.get("/healthz").status_code == 200
    assert b.get("/login").status_code == (200 if anonymous else 302)

    # the inbox, the task's page and its diagram
    assert b.get("/").status_code == (302 if anonymous else 200)
    expected = 302 if anonymous else 200 if who in SEES_TASK else 404
    assert b.get(f"/tasks/{task}").status_code == expected
    assert b.get(f"/tasks/{task}/diagram.bpmn").status_code == expected
    assert b.get("/tasks/999999").status_code == (302 if anonymous else 404)

    # admin pages
    admin_page = 302 if anonymous else 200 if who == "admin" else 403
    assert b.get("/admin/users").status_code == admin_page
    assert b.get("/admin/lanes").status_code == admin_page
    # findings of 动态监测 and 督查指导: municipal staff of 市有关部门 only
    assert b.get("/monitoring").status_code == (302 if anonymous else 200 if who == "city" else 403)

    # changes: a refused one changes nothing
    before = state(db)
    b.get("/")
    claim = b.post(f"/tasks/{task}/claim")
    with db.read() as s:
        holder = s.get(HumanTask, task)
        assert holder is not None
    if who in CLAIMS:
        assert claim.status_code == 302 and holder.claimed_by == who
        b.get(f"/tasks/{task}")
        assert b.post(f"/tasks/{task}", {"action": "draft", "f.contact_name": "草稿"}).status_code == 302
        b.get(f"/tasks/{task}")
        assert b.post(f"/tasks/{task}/release").status_code == 302
        return
    assert claim.status_code == (302 if anonymous or who in SEES_TASK else 404)
    assert holder.claimed_by is None
    for path, form in [(f"/tasks/{task}", {"action": "draft", "f.contact_name": "草稿"}),
                       (f"/tasks/{task}", {"action": "complete", "f.contact_name": "x"}),
                       (f"/tasks/{task}/release", {}),
                       ("/admin/users", {"name": "intruder", "roles": "admin", "password": "intruder-password"}),
                       ("/admin/users/jingan-dept/disabled", {"disabled": "1"}),
                       ("/admin/lanes", {"lane": "区有关部门", "role": "admin"}),
                       (f"/admin/tasks/{task}/reassign", {"to": who or "admin", "reason": "试图改派"}),
                       *([] if who == "city" else [  # city may file one: tests/web/test_monitoring__findings.py
                           ("/monitoring", {"district": "310101", "ground": "fraud", "source": "monitoring",
                                            "summary": "试图登记一条监测发现，但没有权限。"})])]:
        b.get("/")
        answer = b.post(path, form)
        if anonymous:
            assert answer.status_code == 302 and "/login" in answer.location, path
        elif path.startswith(("/admin", "/monitoring")):
            assert answer.status_code == 403, path
        elif who in SEES_TASK:
            assert answer.status_code in (302, 403, 409), path  # shown the refusal on the task's page
        else:
            assert answer.status_code == 404, path
    assert state(db) == before
