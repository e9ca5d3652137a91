"""``shanyu demo`` and the pieces of ``bash quickstart.sh serve`` (init → demo, which deploys bpmn/ → the web app):
the command seeds once and says "already seeded" afterwards, the accounts find their work, the status
page counts the demo's cases, and the calendar error reaches the user with its fix.

The CLI runs on the system clock; here ``web.cli.SystemClock`` is replaced by a fixed clock so that
nothing depends on the day the tests run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.web.conftest import Shanyu
from tests.web.pages import browser
from web.app import create_app
from web.demo_data import DEMO_PASSWORD, cycle_data
from workflow.clock import FakeClock
from workflow.store import User
from workflow.users import check_password

REPO = Path(__file__).resolve().parents[2]


def fixed_clock(monkeypatch: pytest.MonkeyPatch, when: str) -> None:
    monkeypatch.setattr("web.cli.SystemClock", lambda: FakeClock(when))


def test_quickstart_pieces_init_deploy_demo_then_the_app_serves_the_demo(
    shanyu: Shanyu, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed_clock(monkeypatch, "2026-11-30T10:00:00+08:00")
    shanyu.ok("init")
    first = shanyu.ok("demo")  # deploys bpmn/ as its process owner `owner`
    assert (first["already_seeded"], first["users_created"], first["history"]) == (False, 38, "seeded")
    assert sorted(first["deployed"]) == ["creation_cycle", "district_application", "revocation", "title_management"]
    live = first["live_cycle"]
    assert live["opened"] and live["cycle_id"] == "2026-demo"
    assert list(live["deadlines"]) == ["application", "self_assessment", "audit", "selection", "naming"]
    assert all("2026-11-30" < day <= "2026-12-31" for day in live["deadlines"].values())

    again = shanyu("demo")
    assert (again.code, again.err) == (0, "")
    assert "already seeded" in again.out and "nothing changed" in again.out

    [leader_task] = shanyu.ok("tasks", "--as", "songjiang-leader")
    assert (leader_task["name"], leader_task["district"]) == ("研究创建意向", "310117")
    [audit_task] = shanyu.ok("tasks", "--as", "expert")
    assert audit_task["name"] == "现场审核"
    assert shanyu.ok("tasks", "--as", "auditor") == []
    with shanyu.db.read() as session:
        stored = session.query(User).filter(User.name == "city").one()
        assert check_password(stored.password_hash, DEMO_PASSWORD)
    verify = shanyu.ok("history", "verify")
    assert verify["ok"] and verify["instances"] == first["cases"]

    app = create_app({"DATABASE_URL": shanyu.url, "TESTING": True})
    page = app.test_client().get("/status").get_data(as_text=True)
    figures = {label: int(value) for label, value in re.findall(r'data-count="(\w+)">(\d+)<', page)}
    assert figures["processes"] == 4
    assert figures["running"] > 16 and figures["open_tasks"] == first["open_tasks"] == 14
    leader = browser(app, "songjiang-leader")  # the demo's accounts sign in with the demo password
    assert "研究创建意向" in leader.get("/").get_data(as_text=True)


def test_a_cycle_reaching_2027_shows_the_calendar_error_and_its_fix(
    shanyu: Shanyu, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed_clock(monkeypatch, "2026-12-28T10:00:00+08:00")
    failed = shanyu.fails("demo")  # too few known working days left in 2026 for the live cycle
    assert "2027" in failed.err and "shanyu calendar import" in failed.err
    assert "history is seeded" in failed.err
    later = {
        "application": "2026-12-31",
        "self_assessment": "2027-05-31",
        "audit": "2027-07-30",
        "selection": "2027-09-30",
        "naming": "2027-12-31",
    }
    data = json.dumps(cycle_data(cycle_id="2026-2027", deadlines=later), ensure_ascii=False)
    refused = shanyu.fails("start", "creation_cycle", "--as", "city", "--data", data, "--json")
    assert refused.error()["error"] == "deadline_past_calendar" and refused.error()["year"] == 2027
    assert "shanyu calendar import" in refused.error()["message"]
