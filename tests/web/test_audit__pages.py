"""The auditors' workbench on the demo: only auditors and admins open it; cases are found by
cycle, district, process, actor, event type and date; a case's page verifies it (chain, live
state, replay, anchor) and says so when its stored state was edited; the replay endpoint gives
the diagram's completed and active elements at any event; the bundle downloads and checks."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from sqlalchemy import select, text

from tests.web.pages import browser, db_of
from workflow.engine import Engine
from workflow.evidence import check_bundle, read_bundle
from workflow.store import Database, Instance


@pytest.fixture
def app(demo_app: Flask) -> Flask:
    return demo_app


def case_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-case="(\d+)"', html)]


def jingan_revocation(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(Instance.id).where(Instance.process_id == "revocation",
                                                       Instance.district == "310106")).scalar_one())


@pytest.mark.parametrize("who", ["jingan-dept", "city", "approver", "expert", None])
def test_only_auditors_and_admins_open_the_workbench(app: Flask, who: str | None) -> None:
    case = jingan_revocation(db_of(app))
    b = browser(app, who) if who else browser(app)
    expected = 302 if who is None else 403
    for path in ["/audit", f"/audit/cases/{case}", f"/audit/cases/{case}/at/1.json",
                 f"/audit/cases/{case}/bundle.json", f"/audit/cases/{case}/diagram.bpmn"]:
        assert b.get(path).status_code == expected, path
    for who_may in ("auditor", "admin"):
        assert browser(app, who_may).get(f"/audit/cases/{case}").status_code == 200


def test_cases_are_found_by_what_happened_in_them(app: Flask) -> None:
    db = db_of(app)
    auditor = browser(app, "auditor")
    with db.read() as s:
        every = set(s.execute(select(Instance.id)).scalars())
        jingan = set(s.execute(select(Instance.id).where(Instance.district == "310106")).scalars())
        live = set(s.execute(select(Instance.id).where(Instance.cycle_id == "2026-demo")).scalars())
        by_approver = set(s.execute(text("SELECT DISTINCT instance_id FROM history_event WHERE actor = 'approver'"))
                          .scalars())
        fired = set(s.execute(text("SELECT DISTINCT instance_id FROM history_event WHERE type = 'timer_fired'"))
                    .scalars())
    assert set(case_ids(auditor.get("/audit").get_data(as_text=True))) <= every
    assert set(case_ids(auditor.get("/audit?district=310106").get_data(as_text=True))) == jingan
    assert set(case_ids(auditor.get("/audit?cycle=2026-demo").get_data(as_text=True))) == live
    assert set(case_ids(auditor.get("/audit?actor=approver").get_data(as_text=True))) == by_approver
    assert set(case_ids(auditor.get("/audit?type=timer_fired").get_data(as_text=True))) == fired
    assert case_ids(auditor.get("/audit?type=task_reassigned").get_data(as_text=True)) == []  # none in the demo
    # the revocation of 静安 was started on 2025-06-10 (Beijing time); the day before finds nothing of it
    case = jingan_revocation(db)
    assert case in case_ids(auditor.get("/audit?process=revocation&from=2025-06-10&to=2025-06-10")
                            .get_data(as_text=True))
    assert case not in case_ids(auditor.get("/audit?process=revocation&from=2025-06-01&to=2025-06-09")
                                .get_data(as_text=True))


def test_a_filter_the_page_does_not_offer_is_left_out_and_named(app: Flask) -> None:
    """An address with a district, cycle, process or event the page does not offer, or a date
    that is not one, lists cases as if that filter were not there, and says which was left out;
    a period ending before it starts says why it finds nothing."""
    auditor = browser(app, "auditor")
    every = case_ids(auditor.get("/audit").get_data(as_text=True))
    answer = auditor.get("/audit?district=999999&cycle=1999&process=nope&type=nonsense&from=2026-13-45")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and case_ids(html) == every
    notes = re.findall(r'<p class="flash error" role="status">(.*?)</p>', html)
    assert notes == ["筛选条件“创建周期”没有“1999”这一项，已忽略。", "筛选条件“区”没有“999999”这一项，已忽略。",
                     "筛选条件“流程”没有“nope”这一项，已忽略。", "筛选条件“事件”没有“nonsense”这一项，已忽略。",
                     "筛选条件“自”的“2026-13-45”不是日期（年-月-日），已忽略。"]
    backwards = auditor.get("/audit?from=2025-06-10&to=2025-06-01").get_data(as_text=True)
    assert case_ids(backwards) == [] and "“至”早于“自”：没有能同时满足的记录，请调整日期。" in backwards
    assert 'name="from" value="2025-06-10"' in backwards and 'name="to" value="2025-06-01"' in backwards  # as typed
    assert 'class="flash error"' not in auditor.get("/audit?district=310106&from=2025-06-10").get_data(as_text=True)


def test_a_case_page_verifies_the_case_and_shows_an_edit(app: Flask) -> None:
    db = db_of(app)
    case = jingan_revocation(db)
    auditor = browser(app, "auditor")
    page = auditor.get(f"/audit/cases/{case}").get_data(as_text=True)
    checks = dict(re.findall(r'data-check="(\w+)" class="(\w+)"', page))
    assert checks == {"chain": "ok", "live": "ok", "replay": "ok", "anchor": "none"}  # no anchor made yet
    with db.write() as s:
        s.execute(text("UPDATE data_blob SET body = replace(body, '310106', '310105') WHERE hash IN "
                       "(SELECT data_hash FROM task_row WHERE instance_id = :i)"), {"i": case})
    page = auditor.get(f"/audit/cases/{case}").get_data(as_text=True)
    checks = dict(re.findall(r'data-check="(\w+)" class="(\w+)"', page))
    assert checks["chain"] == "ok" and checks["live"] == "bad"


def test_the_slider_endpoint_replays_the_case_to_any_event(app: Flask) -> None:
    db = db_of(app)
    case = jingan_revocation(db)
    auditor = browser(app, "auditor")
    first = auditor.get(f"/audit/cases/{case}/at/1.json").get_json()
    assert first["ok"] and first["event"]["type"] == "instance_started"
    with db.read() as s:
        count = s.execute(select(Instance.event_count).where(Instance.id == case)).scalar_one()
    last = auditor.get(f"/audit/cases/{case}/at/{count}.json").get_json()
    assert last["ok"] and last["active"] == [] and set(first["completed"]) < set(last["completed"])
    assert "Task_verify" in last["completed"] and "Task_verify" not in first["completed"]
    diagram = auditor.get(f"/audit/cases/{case}/diagram.bpmn").get_data(as_text=True)
    assert all(f'id="{element}"' in diagram for element in last["completed"] if element.startswith("Task_"))


def test_the_bundle_downloads_and_checks(app: Flask) -> None:
    case = jingan_revocation(db_of(app))
    answer = browser(app, "auditor").get(f"/audit/cases/{case}/bundle.json")
    assert answer.status_code == 200 and "attachment" in answer.headers["Content-Disposition"]
    bundle = read_bundle(answer.get_data(as_text=True))
    assert bundle["exported_by"] == "auditor"
    result = check_bundle(bundle, Engine())
    assert result.ok and result.replayed == len(json.loads(answer.get_data(as_text=True))["events"])


def test_the_system_journal_page_lists_what_changed_outside_the_cases(app: Flask) -> None:
    auditor = browser(app, "auditor")
    page = auditor.get("/audit/system").get_data(as_text=True)
    assert 'data-check="journal" class="ok"' in page
    assert "process_deployed" in page and "user_saved" in page and "schema_migrated" in page
    assert browser(app, "city").get("/audit/system").status_code == 403
