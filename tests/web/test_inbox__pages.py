"""The staff's web pages on the demo: sign-in, the inbox each account sees, a task's page, claim,
release, drafts, completion with form errors next to their fields, English, and what a user may
not do (another district's task, a task held by someone else, a post without the CSRF token)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update

from tests.web.pages import browser, copy_sqlite, db_of, event_count, make_app, task_ids, task_of
from workflow.store import HumanTask, Instance, TaskDraft, User
from workflow.users import add_user

INTENTION = "拟定创建意向"
SELF_ASSESSMENT = "逐项自评并报送材料"
JINGAN, MINHANG, HUANGPU = "310106", "310112", "310101"
GOOD_INTENTION = {
    "f.intention_summary": "静安区拟申报创建上海市婴幼儿照护服务示范区，由区教育局牵头。",
    "f.lead_department": "区教育局",
    "f.contact_name": "李老师",
    "f.contact_phone": "021-62000000",
    "f.participating_departments": "区卫生健康委\n区发展改革委",
}


@pytest.fixture
def app(demo_app: Flask) -> Flask:
    return demo_app


def text_of(answer: object) -> str:
    return answer.get_data(as_text=True)  # type: ignore[attr-defined,no-any-return]


def fields_of(html: str) -> dict[str, str]:
    """Each form field's block on a task page (its input, note and messages), by field key."""
    return dict(re.findall(r'data-field="(\w+)">(.*?)</div>', html, re.S))


# -- sign-in -------------------------------------------------------------------------------------
def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(app: Flask) -> None:
    b = browser(app)
    b.get("/login")
    wrong = b.post("/login", {"username": "jingan-dept", "password": "not-the-password"})
    unknown = b.post("/login", {"username": "nobody-here", "password": "not-the-password"})
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码不正确。" in text_of(wrong) and "用户名或密码不正确。" in text_of(unknown)
    assert b.get("/").status_code == 302  # still signed out


def test_sign_in_leads_to_the_inbox_and_sign_out_ends_the_session(app: Flask) -> None:
    b = browser(app)
    b.get("/login?next=/tasks/1")
    answer = b.post("/login", {"username": "jingan-dept", "password": "shanyu-demo", "next": "//evil.example/x"})
    assert answer.status_code == 302 and answer.location == "/"  # never to another host
    assert b.get("/").status_code == 200
    assert b.post("/logout").status_code == 302
    assert b.get("/").status_code == 302


def test_disabled_users_and_users_without_a_password_cannot_sign_in(app: Flask) -> None:
    db = db_of(app)
    signed_in = browser(app, "jingan-dept")
    with db.write() as s:
        s.execute(update(User).where(User.name == "jingan-dept").values(disabled=True))
    assert signed_in.get("/").status_code == 302  # signed out on the next request
    assert browser(app).sign_in("jingan-dept").status_code == 401
    with db.write() as s:
        add_user(s, "no-password", ["区有关部门"], district=JINGAN, now=app.extensions["shanyu"]["clock"].now())
    assert browser(app).sign_in("no-password", "").status_code == 401


def test_a_changed_password_signs_out_other_sessions(app: Flask) -> None:
    db = db_of(app)
    signed_in = browser(app, "jingan-dept")
    with db.write() as s:
        add_user(s, "jingan-dept", ["区有关部门"], district=JINGAN, password="a-new-password",
                 now=app.extensions["shanyu"]["clock"].now())
    assert signed_in.get("/").status_code == 302
    assert browser(app).sign_in("jingan-dept", "a-new-password").status_code == 302


def test_failed_sign_ins_are_throttled_per_account(demo_template: Path, tmp_path: Path) -> None:
    app = make_app(copy_sqlite(demo_template, tmp_path), LOGIN_LIMIT_ACCOUNT="3 per 15 minutes")
    b = browser(app)
    for _ in range(3):
        assert b.sign_in("jingan-dept", "wrong-password").status_code == 401
    blocked = b.sign_in("jingan-dept")  # even the right password, until the window passes
    assert blocked.status_code == 429 and "登录尝试过于频繁" in text_of(blocked)
    assert browser(app).sign_in("minhang-dept").status_code == 302  # other accounts are not blocked
    db_of(app).dispose()


def test_cookies_are_http_only_and_same_site(app: Flask) -> None:
    b = browser(app)
    b.get("/login")
    answer = b.post("/login", {"username": "jingan-dept", "password": "shanyu-demo"})
    cookie = answer.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


# -- the inbox -----------------------------------------------------------------------------------
def test_each_account_sees_its_own_work(app: Flask) -> None:
    db = db_of(app)
    jingan = task_of(db, INTENTION, JINGAN)
    minhang = task_of(db, SELF_ASSESSMENT, MINHANG)
    dept = text_of(browser(app, "jingan-dept").get("/"))
    assert task_ids(dept) == [jingan] and INTENTION in dept
    assert task_ids(text_of(browser(app, "minhang-dept").get("/"))) == [minhang]
    assert task_ids(text_of(browser(app, "jingan-leader").get("/"))) == []
    with db.read() as s:
        open_tasks = s.execute(select(HumanTask.id).where(HumanTask.state == "ready")).scalars().all()
    admin = browser(app, "admin")
    assert sorted(task_ids(text_of(admin.get("/")))) == sorted(open_tasks)
    assert task_ids(text_of(admin.get(f"/?district={JINGAN}"))) == [jingan]
    auditor = text_of(browser(app, "auditor").get("/"))
    assert task_ids(auditor) == [] and "审计员只读" in auditor


def test_the_inbox_shows_due_dates_in_working_days(app: Flask) -> None:
    page = text_of(browser(app, "minhang-dept").get("/"))
    # 逐项自评 is due 2026-12-21 17:00; from Thursday 2026-12-03 that is 12 working days
    assert "2026-12-21 17:00" in page and "剩余 12 个工作日" in page


def test_pages_of_the_inbox_and_unknown_filters(app: Flask) -> None:
    admin = browser(app, "admin")
    first = task_ids(text_of(admin.get("/?sort=oldest&page=1")))
    assert first == sorted(first)
    assert text_of(admin.get("/?tab=nonsense&sort=nonsense&page=abc")).count('data-task="') == len(first)
    assert admin.get("/?overdue=1").status_code == 200


def test_a_filter_the_inbox_does_not_offer_is_left_out_and_named(app: Flask) -> None:
    """A hand-made or stale address: the filter is left out (the list is the unfiltered one) and
    the page says so. A district user is offered no district but their own."""
    admin = browser(app, "admin")
    every = task_ids(text_of(admin.get("/")))
    html = text_of(admin.get("/?district=999999&process=nope"))
    assert task_ids(html) == every
    assert "筛选条件“区”没有“999999”这一项，已忽略。" in html and "筛选条件“流程”没有“nope”这一项，已忽略。" in html
    dept = browser(app, "jingan-dept")
    own = task_ids(text_of(dept.get("/")))
    assert own and task_ids(text_of(dept.get("/?district=310106"))) == own
    other = text_of(dept.get("/?district=310101"))
    assert task_ids(other) == own and "筛选条件“区”没有“310101”这一项，已忽略。" in other


def test_completed_tasks_say_whether_they_were_on_time_never_how_late_they_are_today(app: Flask) -> None:
    """The done tab measures a completed task's due time against its completion, not against
    today: the demo's 2021 tasks were completed on time, and one made late says by how much."""
    db = db_of(app)
    dept = browser(app, "jingan-dept")
    rows = dict(re.findall(r'<tr data-task="(\d+)">(.*?)</tr>', text_of(dept.get("/?tab=done")), re.S))
    assert len(rows) >= 5
    assert all("按期办结" in row and "已逾期" not in row and "剩余" not in row for row in rows.values()), rows
    late = int(min(rows, key=int))
    with db.read() as s:
        row = s.get(HumanTask, late)
        assert row is not None and row.due_at is not None
        due = row.due_at
    with db.write() as s:  # completed a week after its due date (the projection only: what the page reads)
        s.execute(update(HumanTask).where(HumanTask.id == late).values(completed_at=due + timedelta(days=7)))
    rows = dict(re.findall(r'<tr data-task="(\d+)">(.*?)</tr>', text_of(dept.get("/?tab=done")), re.S))
    assert re.search(r"逾期 [45] 个工作日办结", rows[str(late)]), rows[str(late)]
    overdue = dict(re.findall(r'<tr data-task="(\d+)">(.*?)</tr>', text_of(dept.get("/?tab=done&overdue=1")), re.S))
    assert list(overdue) == [str(late)]  # "overdue only" on the done tab: completed late
    page = text_of(dept.get(f"/tasks/{late}"))
    assert re.search(r"逾期 [45] 个工作日办结", page) and "剩余" not in page


# -- a task's page ---------------------------------------------------------------------------------
def test_another_districts_task_is_not_found(app: Flask) -> None:
    jingan = task_of(db_of(app), INTENTION, JINGAN)
    other = browser(app, "huangpu-dept")
    assert other.get(f"/tasks/{jingan}").status_code == 404
    assert other.post(f"/tasks/{jingan}/claim").status_code == 404
    assert other.post(f"/tasks/{jingan}", {"action": "complete", **GOOD_INTENTION}).status_code == 404
    assert browser(app, "jingan-leader").get(f"/tasks/{jingan}").status_code == 404  # another role
    assert other.get("/tasks/999999").status_code == 404


def test_claim_fill_in_with_an_error_save_a_draft_fix_and_complete(app: Flask) -> None:
    db = db_of(app)
    task = task_of(db, INTENTION, JINGAN)
    dept = browser(app, "jingan-dept")
    page = text_of(dept.get(f"/tasks/{task}"))
    assert "领取" in page and INTENTION in page and "静安区" in page
    assert dept.post(f"/tasks/{task}/claim").status_code == 302
    before = event_count(db)

    bad = dict(GOOD_INTENTION, **{"f.intention_summary": "太短", "f.contact_phone": ""})
    answer = dept.post(f"/tasks/{task}", {"action": "complete", **bad})
    assert answer.status_code == 422
    html = text_of(answer)
    fields = fields_of(html)
    # the form's note already gives the limit: the message says how long the text is now
    assert fields["intention_summary"].count('class="error"') == 1 and "至少 10 字，现为 2 字" in fields["intention_summary"]
    assert "必填" in fields["contact_phone"]
    assert 'class="error"' not in fields["contact_name"]
    assert "太短" in fields["intention_summary"] and "李老师" in fields["contact_name"]  # input kept
    assert event_count(db) == before  # nothing saved

    assert dept.post(f"/tasks/{task}", {"action": "draft", **bad}).status_code == 302
    restored = text_of(dept.get(f"/tasks/{task}"))
    assert "已恢复您于" in restored and "太短" in restored and "区卫生健康委\n区发展改革委" in restored
    assert event_count(db) == before  # a draft is not part of the case

    done = dept.post(f"/tasks/{task}", {"action": "complete", **GOOD_INTENTION})
    assert done.status_code == 302 and done.location == "/"
    assert event_count(db) > before
    with db.read() as s:
        row = s.get(HumanTask, task)
        assert row is not None and (row.state, row.completed_by) == ("completed", "jingan-dept")
        assert s.execute(select(TaskDraft)).scalars().all() == []  # the draft went with the completion
    leader = text_of(browser(app, "jingan-leader").get("/"))
    assert "研究创建意向" in leader
    assert task in task_ids(text_of(dept.get("/?tab=done")))


def test_a_value_in_the_wrong_format_points_to_the_fields_note(app: Flask) -> None:
    """A field whose pattern the value misses says so and points to its note, which says the
    format; a field without a note says only that the format is wrong."""
    db = db_of(app)
    task = task_of(db, INTENTION, JINGAN)
    dept = browser(app, "jingan-dept")
    dept.post(f"/tasks/{task}/claim")
    before = event_count(db)
    answer = dept.post(f"/tasks/{task}", {"action": "complete", **dict(GOOD_INTENTION, **{"f.contact_phone": "abc"})})
    assert answer.status_code == 422
    fields = fields_of(text_of(answer))
    assert "格式不正确，请按上面的说明填写" in fields["contact_phone"]
    assert "如 021-12345678" in fields["contact_phone"]  # the note, above the message
    assert event_count(db) == before


def test_a_text_too_long_is_told_its_length_in_the_pages_language(app: Flask) -> None:
    db = db_of(app)
    task = task_of(db, INTENTION, JINGAN)
    dept = browser(app, "jingan-dept")
    dept.post(f"/tasks/{task}/claim")
    before = event_count(db)
    long_text = dict(GOOD_INTENTION, **{"f.intention_summary": "长" * 4003})
    fields = fields_of(text_of(dept.post(f"/tasks/{task}", {"action": "complete", **long_text})))
    assert "最多 4000 字，现为 4003 字" in fields["intention_summary"]
    dept.get("/lang/en")
    fields = fields_of(text_of(dept.post(f"/tasks/{task}", {"action": "complete", **long_text})))
    assert "At most 4000 characters; it has 4003" in fields["intention_summary"]
    assert event_count(db) == before


def test_a_number_that_is_not_a_number_is_reported_with_the_other_faults(app: Flask) -> None:
    db = db_of(app)
    task = task_of(db, SELF_ASSESSMENT, MINHANG)
    dept = browser(app, "minhang-dept")
    dept.post(f"/tasks/{task}/claim")
    before = event_count(db)
    answer = dept.post(f"/tasks/{task}", {"action": "complete", "f.current_places": "很多",
                                          "f.self_summary": "短", "f.self_scores.1.1": "7"})
    assert answer.status_code == 422
    fields = fields_of(text_of(answer))
    assert "请填写整数" in fields["current_places"] and "很多" in fields["current_places"]
    assert "至少 10 字" in fields["self_summary"]
    assert "必填" in fields["self_report"]
    assert event_count(db) == before


def test_a_task_held_by_someone_else_shows_who_and_cannot_be_taken(app: Flask) -> None:
    db = db_of(app)
    task = task_of(db, INTENTION, JINGAN)
    with db.write() as s:
        add_user(s, "jingan-dept2", ["区有关部门"], district=JINGAN, password="another-password",
                 now=app.extensions["shanyu"]["clock"].now())
    browser(app, "jingan-dept").post(f"/tasks/{task}/claim")
    second = browser(app)
    assert second.sign_in("jingan-dept2", "another-password").status_code == 302
    inbox = text_of(second.get("/"))
    assert "jingan-dept 已领取" in inbox and "自 2026-12-03 10:00" in inbox
    page = text_of(second.get(f"/tasks/{task}"))
    assert "jingan-dept 自 2026-12-03 10:00 起办理中" in page and 'name="claim"' not in page
    refused = second.post(f"/tasks/{task}/claim", follow_redirects=True)
    assert "该任务已被他人领取。" in text_of(refused)
    before = event_count(db)
    taken = second.post(f"/tasks/{task}", {"action": "complete", **GOOD_INTENTION})
    assert taken.status_code == 403 and event_count(db) == before
    assert second.post(f"/tasks/{task}", {"action": "draft", **GOOD_INTENTION}).status_code == 302
    with db.read() as s:
        assert s.execute(select(TaskDraft)).scalars().all() == []


def test_drafts_are_seen_only_by_their_holder(app: Flask) -> None:
    db = db_of(app)
    task = task_of(db, INTENTION, JINGAN)
    dept = browser(app, "jingan-dept")
    dept.post(f"/tasks/{task}/claim")
    dept.post(f"/tasks/{task}", {"action": "draft", "f.contact_name": "只给自己看"})
    assert "只给自己看" in text_of(dept.get(f"/tasks/{task}"))
    dept.post(f"/tasks/{task}/release")
    admin = browser(app, "admin")
    admin.post(f"/tasks/{task}/claim")
    assert "只给自己看" not in text_of(admin.get(f"/tasks/{task}"))


def test_what_users_type_is_shown_escaped(app: Flask) -> None:
    db = db_of(app)
    task = task_of(db, INTENTION, JINGAN)
    dept = browser(app, "jingan-dept")
    dept.post(f"/tasks/{task}/claim")
    script = "<script>alert('x')</script>"
    answer = dept.post(f"/tasks/{task}", {"action": "complete", **dict(GOOD_INTENTION, **{"f.contact_name": script,
                                                                                           "f.contact_phone": ""})})
    html = text_of(answer)
    assert script not in html and "&lt;script&gt;" in html
    dept.post(f"/tasks/{task}", {"action": "draft", "f.intention_summary": script})
    assert script not in text_of(dept.get(f"/tasks/{task}"))


def test_a_post_without_the_csrf_token_changes_nothing(app: Flask) -> None:
    db = db_of(app)
    task = task_of(db, INTENTION, JINGAN)
    dept = browser(app, "jingan-dept")
    answer = dept.post(f"/tasks/{task}/claim", token=False)
    assert answer.status_code == 400 and "安全校验失败" in text_of(answer)
    stale = dept.post(f"/tasks/{task}/claim", {"csrf_token": "stale-or-forged"}, token=False)
    assert stale.status_code == 400
    with db.read() as s:
        row = s.get(HumanTask, task)
        assert row is not None and row.claimed_by is None


def test_the_auditor_reads_a_task_but_cannot_claim_it(app: Flask) -> None:
    db = db_of(app)
    task = task_of(db, INTENTION, JINGAN)
    auditor = browser(app, "auditor")
    page = text_of(auditor.get(f"/tasks/{task}"))
    assert INTENTION in page and 'name="claim"' not in page
    refused = auditor.post(f"/tasks/{task}/claim", follow_redirects=True)
    assert "您无权执行此操作。" in text_of(refused)
    with db.read() as s:
        row = s.get(HumanTask, task)
        assert row is not None and row.claimed_by is None


def test_the_pages_switch_to_english(app: Flask) -> None:
    dept = browser(app, "jingan-dept")
    assert dept.get("/lang/en?next=/").status_code == 302
    page = text_of(dept.get("/"))
    assert '<html lang="en">' in page and "My inbox" in page and "Jing&#39;an" in page
    task = task_of(db_of(app), INTENTION, JINGAN)
    form = text_of(dept.get(f"/tasks/{task}"))
    assert 'name="claim"' in form and ">Claim<" in form and "Instructions" in form
    dept.get("/lang/zh?next=/")
    assert "我的待办" in text_of(dept.get("/"))


def test_the_task_page_draws_the_cases_diagram_for_those_who_may_see_it(app: Flask) -> None:
    task = task_of(db_of(app), INTENTION, JINGAN)
    dept = browser(app, "jingan-dept")
    page = text_of(dept.get(f"/tasks/{task}"))
    assert f'data-src="/tasks/{task}/diagram.bpmn"' in page and "bpmn-navigated-viewer" in page
    diagram = dept.get(f"/tasks/{task}/diagram.bpmn")
    assert diagram.status_code == 200 and diagram.mimetype == "application/xml"
    with db_of(app).read() as s:
        row = s.get(HumanTask, task)
        assert row is not None
    assert f'id="{row.bpmn_id}"' in text_of(diagram) and "bpmndi:BPMNDiagram" in text_of(diagram)
    assert browser(app, "huangpu-dept").get(f"/tasks/{task}/diagram.bpmn").status_code == 404
    assert browser(app).get(f"/tasks/{task}/diagram.bpmn").status_code == 302  # sign in first


def test_the_inbox_filters_by_creation_cycle(app: Flask) -> None:
    admin = browser(app, "admin")
    page = text_of(admin.get("/"))
    assert '<option value="2026-demo"' in page and '<option value="2021-2022"' in page
    with db_of(app).read() as s:
        live = s.execute(select(HumanTask.id).join(Instance, Instance.id == HumanTask.instance_id)
                         .where(HumanTask.state == "ready", Instance.cycle_id == "2026-demo")).scalars().all()
        others = s.execute(select(HumanTask.id).join(Instance, Instance.id == HumanTask.instance_id)
                           .where(HumanTask.state == "ready", Instance.cycle_id.is_(None))).scalars().all()
    assert live and others  # the demo has open work in the live cycle and in title management
    assert sorted(task_ids(text_of(admin.get("/?cycle=2026-demo")))) == sorted(live)
    assert task_ids(text_of(admin.get("/?cycle=2021-2022"))) == []  # the first cycle is over


# -- materials -------------------------------------------------------------------------------------
SELF = {"f.current_places": "1200", "f.self_summary": "闵行区对照评估指标逐项自评，托位供给持续增加。"}


def scores(page: str) -> dict[str, str]:
    return {f"f.self_scores.{code}": "7" for code in re.findall(r'name="f\.self_scores\.([\w.-]+)"', page)}


def test_upload_materials_then_complete_the_self_assessment(app: Flask) -> None:
    from io import BytesIO

    db = db_of(app)
    task = task_of(db, SELF_ASSESSMENT, MINHANG)
    dept = browser(app, "minhang-dept")
    dept.get(f"/tasks/{task}")
    dept.post(f"/tasks/{task}/claim")
    page = text_of(dept.get(f"/tasks/{task}"))
    assert 'enctype="multipart/form-data"' in page and 'name="u.self_report"' in page
    form = {"action": "draft", **SELF, **scores(page),
            "u.self_report": (BytesIO("自评报告正文".encode()), "自评报告.txt"),
            "u.self_materials": [(BytesIO(b"%PDF-1.4\n%demo\n"), "a.pdf"), (BytesIO("相关资料".encode()), "b.txt")]}
    assert dept.client.post(f"/tasks/{task}", data={**form, "csrf_token": dept.token},
                            content_type="multipart/form-data").status_code == 302
    restored = text_of(dept.get(f"/tasks/{task}"))
    ids = re.findall(r'data-material="(m-[0-9a-f]+)"', restored)
    assert len(ids) == 3 and "自评报告.txt" in restored and "a.pdf" in restored
    shown = dept.get(f"/materials/{ids[1]}")
    assert shown.status_code == 200 and shown.mimetype == "application/pdf" and shown.data.startswith(b"%PDF")
    assert "inline" in shown.headers["Content-Disposition"] and shown.headers["X-Content-Type-Options"] == "nosniff"
    assert browser(app, "huangpu-dept").get(f"/materials/{ids[0]}").status_code == 404  # another district
    done = dept.post(f"/tasks/{task}", {"action": "complete", **SELF, **scores(restored),
                                        "f.self_report": ids[0], "f.self_materials": ids[1:]})
    assert done.status_code == 302, text_of(done)[:2000]
    with db.read() as s:
        row = s.get(HumanTask, task)
        assert row is not None and row.state == "completed"


def test_a_refused_file_keeps_everything_else_on_the_page(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from io import BytesIO

    monkeypatch.setenv("SHANYU_MATERIAL_MAX_BYTES", "100")
    db = db_of(app)
    task = task_of(db, SELF_ASSESSMENT, MINHANG)
    dept = browser(app, "minhang-dept")
    dept.get(f"/tasks/{task}")
    dept.post(f"/tasks/{task}/claim")
    dept.get(f"/tasks/{task}")
    before = event_count(db)
    answer = dept.client.post(f"/tasks/{task}", content_type="multipart/form-data", data={
        "csrf_token": dept.token, "action": "complete", **SELF,
        "u.self_report": (BytesIO(b"x" * 500), "big.txt"),
        "u.self_materials": [(BytesIO(b"\x00\x01\x02binary"), "virus.exe")]})
    assert answer.status_code == 422
    fields = fields_of(text_of(answer))
    assert "at most 100 bytes" in fields["self_report"]
    assert "not" in fields["self_materials"].lower() or "接受" in fields["self_materials"]
    assert "闵行区对照评估指标" in fields["self_summary"]  # what was typed stays
    assert event_count(db) == before


def test_a_material_of_another_case_is_refused_at_completion(app: Flask) -> None:
    from io import BytesIO

    db = db_of(app)
    task = task_of(db, SELF_ASSESSMENT, MINHANG)
    intention = task_of(db, INTENTION, JINGAN)
    other = browser(app, "jingan-dept")
    other.get(f"/tasks/{intention}")
    other.post(f"/tasks/{intention}/claim")
    other.get(f"/tasks/{intention}")
    other.client.post(f"/tasks/{intention}", content_type="multipart/form-data", data={
        "csrf_token": other.token, "action": "draft",
        "u.intention_materials": [(BytesIO("静安材料".encode()), "jingan.txt")]})
    foreign = re.findall(r'data-material="(m-[0-9a-f]+)"', text_of(other.get(f"/tasks/{intention}")))[0]
    dept = browser(app, "minhang-dept")
    dept.get(f"/tasks/{task}")
    dept.post(f"/tasks/{task}/claim")
    page = text_of(dept.get(f"/tasks/{task}"))
    before = event_count(db)
    answer = dept.post(f"/tasks/{task}", {"action": "complete", **SELF, **scores(page),
                                          "f.self_report": foreign, "f.self_materials": foreign})
    assert answer.status_code == 422 and event_count(db) == before
    assert "未找到该材料" in text_of(answer)  # the page lists it as no material this user may see


def test_the_task_page_names_the_clause_of_the_notice_it_carries_out(app: Flask) -> None:
    task = task_of(db_of(app), INTENTION, JINGAN)
    page = text_of(browser(app, "jingan-dept").get(f"/tasks/{task}"))
    clauses = re.findall(r'<span class="clause" title="([^"]*)">\s*([^<]*?)\s*</span>', page)
    assert clauses and all(text.strip() for _title, text in clauses)
    assert any("五(一)" in text for _title, text in clauses)  # 拟定创建意向 is part of the application stage
    card = page.split('class="card instructions"')[1].split("</section>")[0]
    assert "【" not in card
    # what the diagram tells the officer (instructionsForEndUser), in Chinese, before the description
    guidance = re.findall(r'<p class="guidance">([^<]*)</p>', card)
    assert guidance and guidance[0].startswith("请区有关部门") and "拟定创建意向" in guidance[0]
