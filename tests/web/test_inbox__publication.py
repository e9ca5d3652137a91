"""What the cycle's task pages and ``GET /api/tasks/{id}`` show municipal staff from the case data
(五(四), 二): before they publish the notice, the latest publication date that lets it end and the
report go up by the selection deadline, with a warning once today (the engine's clock) is past it;
and the districts a cycle did not invite because they hold a title."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
from flask import Flask

from tests.program.scenarios import NOTICE, district_through_audit, selected_cycle
from tests.web.api_client import api_app, client_for
from tests.web.pages import BPMN_DIR, browser
from web.demo_data import DEMO_PASSWORD, DISTRICTS, cycle_data, indicators, selection
from web.demo_driver import Program, demo_users
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.registers import Title
from workflow.specs import bundle_from_paths
from workflow.store import Database
from workflow.users import Actor


@pytest.fixture
def program(db: Database) -> Iterator[Program]:
    clock = FakeClock("2021-12-10T09:00:00+08:00")
    engine = Engine()
    with db.write() as session:
        users, _created = demo_users(session, now=clock.now(), password=DEMO_PASSWORD)
        engine.deploy(session, dict(bundle_from_paths([BPMN_DIR]).files), actor=Actor("admin", frozenset({"admin"})),
                      now=clock.now())
    yield Program(db, engine, clock, users)


@pytest.fixture
def app(program: Program) -> Flask:
    return api_app(program.db, program.clock)


def text_of(page: str) -> str:
    """The page's text, tags dropped (attributes are checked on the raw page)."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def test_the_publish_task_shows_the_latest_publication_date_and_warns_once_it_is_past(
    program: Program, app: Flask
) -> None:
    p = program
    cycle = selected_cycle(p)  # on 2022-09-20; the selection deadline is 2022-09-30
    task = p.task(cycle, "Task_publish").id
    city = browser(app, "city")
    raw = city.get(f"/tasks/{task}").get_data(as_text=True)
    page = text_of(raw)
    assert 'data-publication="on-time"' in raw
    assert "最迟发布日期 2022-09-23" in page and "5 个工作日，最迟于 2022-09-29 期满" in page
    assert "公示期满后 1 个工作日，即 2022-09-30" in page and "已晚于" not in page
    api = client_for(app, "city", DEMO_PASSWORD)
    found = api.ok("GET", f"/api/tasks/{task}")["publication"]
    assert (found["latest_on"], found["today"], found["late"]) == ("2022-09-23", "2022-09-20", False)

    p.at("2022-09-26T10:00:00")
    raw = city.get(f"/tasks/{task}").get_data(as_text=True)
    page = text_of(raw)
    assert 'data-publication="late"' in raw
    assert "今天（2022-09-26）已晚于最迟公示发布日期 2022-09-23" in page
    city.get("/lang/en")
    english = text_of(city.get(f"/tasks/{task}").get_data(as_text=True))
    assert "Today (2022-09-26) is past the latest publication date 2022-09-23" in english
    city.get("/lang/zh")
    api = client_for(app, "city", DEMO_PASSWORD)  # the earlier token expired with the days that passed
    assert api.ok("GET", f"/api/tasks/{task}")["publication"]["late"] is True

    p.do(cycle, "Task_publish", NOTICE)  # once published, the later steps show no publication date
    p.message("objection_received", {"cycle_id": "2021-2022"}, {"district": "310104", "content": "有意见。"})
    objection = p.task(cycle, "Task_objection").id
    assert "data-publication" not in city.get(f"/tasks/{objection}").get_data(as_text=True)
    assert api.ok("GET", f"/api/tasks/{objection}")["publication"] is None


def test_the_next_task_lists_the_districts_left_out_for_holding_a_title(program: Program, app: Flask) -> None:
    p = program
    first = p.start("creation_cycle", cycle_data(DISTRICTS[:2]))
    with p.db.write() as s:  # 长宁 named by an earlier cycle (entered here directly)
        s.add(Title(code="SH-2019-310105", kind="shanghai", district="310105", district_name="长宁区",
                    cycle_id="2019", status="named", named_on=date(2019, 12, 30), document="沪教委〔2019〕1号",
                    instance_id=first, updated_at=p.now()))
    second = p.start("creation_cycle", cycle_data(DISTRICTS[:3], cycle_id="2022-2023"))
    task = p.task(second, "Task_indicators").id
    raw = browser(app, "city").get(f"/tasks/{task}").get_data(as_text=True)
    assert "本周期未邀请的区（已持有称号）：1 个" in text_of(raw)
    assert 'data-left-out="310105"' in raw and "SH-2019-310105" in raw
    data = client_for(app, "city", DEMO_PASSWORD).ok("GET", f"/api/tasks/{task}")["data"]
    assert [d["code"] for d in data["left_out"]] == ["310105"]
    assert [d["code"] for d in data["invitees"]] == ["310101", "310104"]


def test_the_selection_task_shows_each_districts_places_against_the_city_goal_as_information(
    program: Program, app: Flask
) -> None:
    p = program
    quotas = {"national_share": 0.5, "shanghai_share": 1.0}
    cycle = p.start("creation_cycle", cycle_data(DISTRICTS[:2], quotas=quotas))
    p.do(cycle, "Task_indicators", indicators())
    cases = p.cases("district_application", after=cycle)
    p.at("2021-12-20T10:00:00")
    district_through_audit(p, cases["310101"], "310101", 1_000)  # well below the goal of 4.5
    district_through_audit(p, cases["310104"], "310104", 6_000)
    p.at("2022-09-20T10:00:00")
    task = p.task(cycle, "Task_select").id
    raw = browser(app, "city").get(f"/tasks/{task}").get_data(as_text=True)
    assert 'data-ranked="310101"' in raw and 'data-ranked="310104"' in raw
    assert "全市2025年目标：每千人口 4.5 个托位（一）。仅供参考，不作为评审条件。" in text_of(raw)
    p.do(cycle, "Task_select", selection(["310101", "310104"], []))  # below the goal: still selectable
    assert p.tasks(cycle, "Task_publish") != []
