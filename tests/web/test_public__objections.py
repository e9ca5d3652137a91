"""The public notice pages without sign-in, and objections: the first cycle's notice (published
2022-09-29, 5 working days over National Day, last day 2022-10-10) is open; an objection filed on
its page reaches municipal staff (市有关部门) as a 处理异议 task; from 17:00 Beijing time of the last
working day it is refused; bad, oversized and HTML input; the rate limit; the CSRF token. Each on
SQLite, the main paths on PostgreSQL too."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.web.pages import (
    BPMN_DIR,
    NOTICE_LAST_DAY,
    NOTICE_OPEN,
    browser,
    event_count,
    seed_notice,
    task_ids,
)
from web.app import create_app
from workflow import public
from workflow.clock import FakeClock
from workflow.registers import Notice, PublicSubmission
from workflow.store import Database, HumanTask, Timer

GOOD = {"name": "市民张三", "contact": "13800000000", "district": "310105",
        "content": "长宁区上报的托位数与实际开设情况不符，请核查。"}


def make_site(url: str, **config: object) -> Flask:
    return create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "test-secret", **config},
                      clock=FakeClock(NOTICE_OPEN))


@pytest.fixture
def site(notice_template: Path, site_url: tuple[str, str]) -> Iterator[Flask]:
    """The app on the open notice, at 2022-10-08 10:00 Beijing time (SQLite and PostgreSQL)."""
    backend, url = site_url
    if backend == "sqlite":
        shutil.copyfile(notice_template, url.removeprefix("sqlite:///"))
    else:
        seeding = Database(url)
        seed_notice(seeding)
        seeding.dispose()
    app = make_site(url)
    yield app
    app.extensions["shanyu"]["db"].dispose()


@pytest.fixture
def lite(notice_template: Path, tmp_path: Path) -> Iterator[Flask]:
    """The same on SQLite only."""
    target = tmp_path / "site.db"
    shutil.copyfile(notice_template, target)
    app = make_site(f"sqlite:///{target}")
    yield app
    app.extensions["shanyu"]["db"].dispose()


def db_of(app: Flask) -> Database:
    db = app.extensions["shanyu"]["db"]
    assert isinstance(db, Database)
    return db


def set_time(app: Flask, when: str) -> None:
    app.extensions["shanyu"]["clock"].set(when)


def notice_id(app: Flask) -> int:
    with db_of(app).read() as s:
        return int(s.execute(select(Notice.id)).scalar_one())


def submissions(app: Flask) -> int:
    with db_of(app).read() as s:
        return int(s.scalar(select(func.count()).select_from(PublicSubmission)) or 0)


def objection_tasks(app: Flask) -> list[int]:
    with db_of(app).read() as s:
        return list(s.execute(select(HumanTask.id).where(HumanTask.bpmn_id == "Task_objection",
                                                         HumanTask.state == "ready")).scalars())


def text(answer: object) -> str:
    return answer.get_data(as_text=True)  # type: ignore[attr-defined,no-any-return]


def file_objection(app: Flask, data: dict[str, str] | None = None) -> object:
    b = browser(app)
    n = notice_id(app)
    b.get(f"/notices/{n}")
    return b.post(f"/notices/{n}", data if data is not None else GOOD)


# -- reading -------------------------------------------------------------------------------------
def test_the_notices_show_candidates_period_and_end_without_sign_in(lite: Flask) -> None:
    listing = browser(lite).get("/notices")
    assert listing.status_code == 200
    page = text(listing)
    assert "关于第一批上海市婴幼儿照护服务示范区拟命名名单的公示" in page
    assert "2022-09-29 至 2022-10-10，共 5 个工作日" in page
    assert "2022-10-10 17:00（北京时间）" in page
    assert "公示中" in page and "徐汇区" in page and "黄浦区" in page
    one = browser(lite).get(f"/notices/{notice_id(lite)}")
    assert one.status_code == 200 and 'name="content"' in text(one)
    assert browser(lite).get("/notices/999").status_code == 404


def test_the_window_is_the_case_timer_and_the_cycle_cut_off_defaults_to_17_00(lite: Flask) -> None:
    with db_of(lite).read() as s:
        notice = s.execute(select(Notice)).scalar_one()
        due = s.execute(select(Timer.due_at).where(Timer.bpmn_id == public.NOTICE_TIMER)).scalar_one()
        assert public.closes_at(s, notice) == due
    assert due.isoformat() == f"{NOTICE_LAST_DAY}T09:00:00+00:00"  # 17:00 Beijing time
    diagram = (BPMN_DIR / "creation_cycle.bpmn").read_text(encoding="utf-8")
    timer = re.search(rf'id="{public.NOTICE_TIMER}".*?<bpmn:timeDate[^>]*>([^<]+)<', diagram, re.S)
    assert timer is not None and timer.group(1).strip() == "deadline_at(notice_ends_on, cutoff_time)"
    start_form = json.loads((BPMN_DIR / "forms" / "cycle_start.json").read_text(encoding="utf-8"))
    assert start_form["properties"]["cutoff_time"]["default"] == "17:00"  # 本地设定: the cycle's cut-off
    assert public.NOTICE_CLOSES.strftime("%H:%M") == "17:00"
    assert f'messageRef="Message_{public.OBJECTION_MESSAGE}"' in diagram


# -- filing --------------------------------------------------------------------------------------
def test_an_objection_during_the_notice_reaches_city(site: Flask) -> None:
    before = event_count(db_of(site))
    answer = file_objection(site)
    assert answer.status_code == 302, text(answer)
    receipt_page = browser(site).get(answer.location)  # type: ignore[attr-defined]
    found = re.search(r'data-receipt="(YY-20221008-[0-9A-F]{8})"', text(receipt_page))
    assert receipt_page.status_code == 200 and found, text(receipt_page)
    assert "13800000000" not in text(receipt_page)  # the receipt shows nothing of what was filed
    assert event_count(db_of(site)) > before
    with db_of(site).read() as s:
        row = s.execute(select(PublicSubmission)).scalar_one()
        assert (row.receipt, row.kind, row.contact) == (found.group(1), "objection", "13800000000")
    [task] = objection_tasks(site)
    city = browser(site, "city")
    assert task in task_ids(text(city.get("/")))
    page = text(city.get(f"/tasks/{task}"))
    assert "长宁区上报的托位数与实际开设情况不符，请核查。" in page and found.group(1) in page
    assert "市民张三" in page and "13800000000" in page
    assert browser(site, "huangpu-dept").get(f"/tasks/{task}").status_code == 404  # not for districts


def test_after_17_00_of_the_last_working_day_an_objection_is_refused(site: Flask) -> None:
    set_time(site, f"{NOTICE_LAST_DAY}T16:59:59+08:00")
    assert file_objection(site).status_code == 302  # still open a second before
    late = browser(site)  # read the form before 17:00, send it at 17:00
    late.get(f"/notices/{notice_id(site)}")
    set_time(site, f"{NOTICE_LAST_DAY}T17:00:00+08:00")
    before = event_count(db_of(site))
    refused = late.post(f"/notices/{notice_id(site)}", GOOD)
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert "公示期已结束" in text(refused) and "17:00" in text(refused)
    assert event_count(db_of(site)) == before and submissions(site) == 1
    assert len(objection_tasks(site)) == 1
    listing = text(browser(site).get("/notices"))
    assert "已结束" in listing and "公示中" not in listing
    assert 'name="content"' not in text(browser(site).get(f"/notices/{notice_id(site)}"))


def test_an_objection_before_the_publication_day_is_refused(lite: Flask) -> None:
    early = browser(lite)
    early.get(f"/notices/{notice_id(lite)}")
    set_time(lite, "2022-09-28T10:00:00+08:00")  # the row exists (played at 09-29), the day has not come
    refused = early.post(f"/notices/{notice_id(lite)}", GOOD)
    assert refused.status_code == 409 and "公示尚未开始" in text(refused)
    assert "尚未开始" in text(browser(lite).get("/notices"))
    assert submissions(lite) == 0


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": ""}, "name", "此项必填。"),
        ({"name": "张" * 51}, "name", "不能超过 50 个字。"),
        ({"contact": "随便"}, "contact", "请填写能联系到您的手机号、电话号码或电子邮箱。"),
        ({"contact": "12345"}, "contact", "请填写能联系到您的手机号、电话号码或电子邮箱。"),
        ({"content": "太短"}, "content", "请至少写 10 个字，说明具体情况。"),
        ({"content": "很" * 2001}, "content", "不能超过 2000 个字。"),
        ({"name": "张三\x07"}, "name", "含有不能使用的字符（如换行或控制字符）。"),
        ({"district": "310113"}, "district", "请从列表中选择。"),  # 宝山 is not on the notice
    ],
)
def test_bad_input_gets_a_message_next_to_its_field_and_nothing_is_saved(
    lite: Flask, change: dict[str, str], field: str, message: str
) -> None:
    before = event_count(db_of(lite))
    answer = file_objection(lite, {**GOOD, **change})
    assert answer.status_code == 422  # type: ignore[attr-defined]
    block = re.search(rf'data-field="{field}">(.*?)</div>', text(answer), re.S)
    assert block is not None and message in block.group(1)
    assert "提交内容有误" in text(answer)
    assert event_count(db_of(lite)) == before and submissions(lite) == 0 and objection_tasks(lite) == []


def test_an_oversized_post_is_refused_whole(lite: Flask) -> None:
    lite.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    answer = file_objection(lite, {**GOOD, "content": "异" * 100_000})
    assert answer.status_code == 413  # type: ignore[attr-defined]
    assert submissions(lite) == 0


def test_html_in_every_field_is_kept_as_text_and_shown_escaped(lite: Flask) -> None:
    script = "<script>alert(1)</script>"
    refused = file_objection(lite, {"name": f"{script}", "contact": "x<b>", "content": f"{script}短", "district": ""})
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert script not in text(refused) and "&lt;script&gt;alert(1)&lt;/script&gt;" in text(refused)
    filed = file_objection(lite, {**GOOD, "name": f"<b>{script}</b>", "content": f"托位数据不实 {script} <img src=x>"})
    assert filed.status_code == 302  # type: ignore[attr-defined]
    [task] = objection_tasks(lite)
    page = text(browser(lite, "city").get(f"/tasks/{task}"))
    assert script not in page and "<img src=x>" not in page and "<b>" not in page
    assert "托位数据不实 &lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x&gt;" in page


def test_objections_are_rate_limited_per_address(notice_template: Path, tmp_path: Path) -> None:
    target = tmp_path / "site.db"
    shutil.copyfile(notice_template, target)
    app = make_site(f"sqlite:///{target}", PUBLIC_SUBMIT_LIMIT="2 per hour")
    try:
        assert file_objection(app, {**GOOD, "name": ""}).status_code == 422  # type: ignore[attr-defined]
        assert file_objection(app).status_code == 302  # type: ignore[attr-defined]
        before = event_count(db_of(app))
        limited = file_objection(app)
        assert limited.status_code == 429  # type: ignore[attr-defined]
        assert "提交过于频繁" in text(limited) and "未保存任何内容" in text(limited)
        assert event_count(db_of(app)) == before and submissions(app) == 1
        assert browser(app).get("/notices").status_code == 200  # reading is not limited
        other = browser(app)
        other.get(f"/notices/{notice_id(app)}")  # a token of this session (no district is named yet)
        assert other.post("/report", {"district": "310101"}).status_code == 429  # one budget for both forms
    finally:
        db_of(app).dispose()


def test_an_objection_without_the_csrf_token_changes_nothing(lite: Flask) -> None:
    b = browser(lite)
    answer = b.post(f"/notices/{notice_id(lite)}", GOOD, token=False)
    assert answer.status_code == 400 and "页面已过期" in text(answer)
    assert submissions(lite) == 0 and objection_tasks(lite) == []


def test_the_public_pages_switch_to_english(lite: Flask) -> None:
    b = browser(lite)
    b.get("/lang/en")
    page = text(b.get("/notices"))
    assert "2022-09-29 to 2022-10-10, 5 working days" in page and "2022-10-10 17:00 (Beijing time)" in page
    assert "Xuhui" in page
    form = text(b.get(f"/notices/{notice_id(lite)}"))
    assert "Submit the objection" in form
    refused = b.post(f"/notices/{notice_id(lite)}", {**GOOD, "contact": "?"})
    assert "Give a mobile or telephone number" in text(refused)
