"""Reports of concern about named districts (the notice's 动态监测 and 第六条) on the demo: the form
offers the districts holding a Shanghai title; a report starts a revocation case whose first human
step is municipal staff's verification (核实情况), and changes no title; reports about a district
without a title, with an unknown ground or bad fields are refused with a message and save nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.web.pages import (
    browser,
    copy_sqlite,
    db_of,
    event_count,
    make_app,
    revocation_cases,
    seed_demo,
    task_ids,
    text,
    title_register,
)
from workflow.history import list_events
from workflow.registers import PublicSubmission
from workflow.store import Database, HumanTask, Instance

HUANGPU, JINGAN, HONGKOU = "310101", "310106", "310109"
GOOD = {"district": HUANGPU, "ground": "safety_accident", "name": "家长李四", "contact": "li@example.com",
        "content": "某托育机构发生婴幼儿受伤事故，区里未及时处置。"}


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path) -> Iterator[Flask]:
    app = make_app(copy_sqlite(demo_template, tmp_path))
    yield app
    app.extensions["shanyu"]["db"].dispose()


def report(app: Flask, data: dict[str, str]) -> object:
    b = browser(app)
    b.get("/report")
    return b.post("/report", data)


def check_a_report_starts_a_verification_for_city(app: Flask) -> None:
    db = db_of(app)
    before_cases, before_register = revocation_cases(db), title_register(db)
    form = text(browser(app).get("/report"))
    offered = set(re.findall(r'<option value="(\d{6})"', form))
    assert HUANGPU in offered and JINGAN not in offered and HONGKOU not in offered  # 静安 revoked, 虹口 never named
    answer = report(app, GOOD)
    assert answer.status_code == 302, text(answer)
    receipt = browser(app).get(answer.location)  # type: ignore[attr-defined]
    found = re.search(r'data-receipt="(FY-20261203-[0-9A-F]{8})"', text(receipt))
    assert found and "已收到您反映的问题" in text(receipt)
    [case] = [c for c in revocation_cases(db) if c not in before_cases]
    with db.read() as s:
        instance = s.get(Instance, case)
        assert instance is not None and (instance.district, instance.status) == (HUANGPU, "running")
        [verify] = s.execute(select(HumanTask).where(HumanTask.instance_id == case, HumanTask.state == "ready")).scalars()
        assert (verify.bpmn_id, verify.role, verify.district) == ("Task_verify", "市有关部门", HUANGPU)
        row = s.execute(select(PublicSubmission).where(PublicSubmission.receipt == found.group(1))).scalar_one()
        assert (row.kind, row.district, row.ground, row.instance_id) == ("concern", HUANGPU, "safety_accident", case)
    assert title_register(db) == before_register  # a report decides nothing
    city = browser(app, "city")
    assert verify.id in task_ids(text(city.get("/")))
    page = text(city.get(f"/tasks/{verify.id}"))
    assert "某托育机构发生婴幼儿受伤事故" in page and found.group(1) in page and "li@example.com" in page
    assert "发生重大安全责任事故" in page and "举报或事故报告" in page
    city.get("/lang/en")  # the ground and the source are the system's words, so they are translated
    english = text(city.get(f"/tasks/{verify.id}"))
    assert "<dd>A major safety liability accident</dd>" in english and "<dd>A report or an accident report</dd>" in english
    assert "某托育机构发生婴幼儿受伤事故" in english  # what the public sent stays as sent
    assert browser(app, "xuhui-dept").get(f"/tasks/{verify.id}").status_code == 404


def test_a_report_starts_a_verification_for_city(demo: Flask) -> None:
    check_a_report_starts_a_verification_for_city(demo)


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_report_starts_a_verification_for_city_on_postgres(site_url: tuple[str, str]) -> None:
    _backend, url = site_url
    seeding = Database(url)
    seed_demo(seeding)
    seeding.dispose()
    app = make_app(url)
    try:
        check_a_report_starts_a_verification_for_city(app)
    finally:
        db_of(app).dispose()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"district": JINGAN}, "district", "请从列表中选择。"),  # its title was revoked in 2025
        ({"district": "999999"}, "district", "请从列表中选择。"),
        ({"district": ""}, "district", "此项必填。"),
        ({"ground": "dislike"}, "ground", "请从列表中选择。"),
        ({"ground": ""}, "ground", "此项必填。"),
        ({"contact": "<a href=x>me</a>"}, "contact", "请填写能联系到您的手机号、电话号码或电子邮箱。"),
        ({"content": "x" * 2001}, "content", "不能超过 2000 个字。"),
    ],
)
def test_a_bad_report_is_refused_with_a_message_and_nothing_saved(
    demo: Flask, change: dict[str, str], field: str, message: str
) -> None:
    db = db_of(demo)
    before = (event_count(db), revocation_cases(db))
    answer = report(demo, {**GOOD, **change})
    assert answer.status_code == 422  # type: ignore[attr-defined]
    block = re.search(rf'data-field="{field}">(.*?)</div>', text(answer), re.S)
    assert block is not None and message in block.group(1), text(answer)
    assert "<a href=x>" not in text(answer)
    assert (event_count(db), revocation_cases(db)) == before
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(PublicSubmission)) == 0


def test_the_reported_ground_and_source_reach_the_case(demo: Flask) -> None:
    db = db_of(demo)
    answer = report(demo, {**GOOD, "ground": "low_satisfaction", "district": "310104"})
    assert answer.status_code == 302  # type: ignore[attr-defined]
    case = revocation_cases(db)[-1]
    with db.read() as s:
        events = list_events(s, case)
    started = json.dumps([e.payload for e in events], ensure_ascii=False)
    assert '"ground": "low_satisfaction"' in started and '"source": "report"' in started
    assert events[0].actor == "system:public-web"
