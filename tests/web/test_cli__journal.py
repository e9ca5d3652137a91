"""Nothing happens unrecorded: deployments (with the reason given), calendar imports, user and
lane changes, schema migrations and anchors are appended to the hash-chained system journal with
their actor; ``history system`` lists it and ``history verify`` catches an edited journal event."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BPMN
from tests.web.conftest import Shanyu
from web.app import create_app


def test_every_change_outside_the_cases_is_journaled(ready: Shanyu, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHANYU_ANCHOR_KEY", str(tmp_path / "anchor.pem"))
    monkeypatch.setenv("SHANYU_ANCHOR_DIR", str(tmp_path / "anchors"))
    ready.ok("deploy", str(BPMN / "timers_wait.bpmn"), "--as", "owner", "--reason", "新增等待流程")
    ready.ok("deploy", str(BPMN / "timers_wait.bpmn"), "--as", "owner")  # unchanged: nothing deployed, nothing journaled
    ready.ok("lane", "map", "区有关部门", "市有关部门")
    calendar = tmp_path / "2099.csv"
    calendar.write_text("# year: 2099\n# source: 示例 example only\ndate,type,name\n2099-01-01,休,示例假日\n",
                        encoding="utf-8")
    ready.ok("calendar", "import", str(calendar))
    ready.ok("history", "anchor", "--as", "city")
    events = ready.ok("history", "system")["events"]
    types = [e["type"] for e in reversed(events)]
    assert types[0] == "schema_migrated" and types.count("user_saved") == 5
    deployed = [e for e in events if e["type"] == "process_deployed"]
    assert [d["payload"]["processes"][0]["process_id"] for d in deployed] == ["timers_wait", "engine_basic"]
    assert deployed[0]["actor"] == "owner" and deployed[0]["payload"]["reason"] == "新增等待流程"
    assert "reason" not in deployed[1]["payload"]
    lane = next(e for e in events if e["type"] == "lane_mapped")
    assert lane["payload"]["lane"] == "区有关部门" and lane["payload"]["role"] == "市有关部门"
    [cal] = [e for e in events if e["type"] == "calendar_imported"]
    assert (cal["payload"]["year"], cal["payload"]["status"], cal["actor"]) == (2099, "imported", "cli")
    assert events[0]["type"] == "anchor_made" and events[0]["actor"] == "city"
    assert all("password" not in str(e["payload"]).replace("password_set", "") for e in events)
    assert ready.ok("history", "verify")["ok"]


def test_admin_changes_on_the_pages_are_journaled_with_the_admin(ready: Shanyu) -> None:
    ready.ok("user", "add", "boss", "--role", "admin", "--password-stdin", stdin="boss-password\n")
    from tests.web.pages import Browser

    app = create_app({"DATABASE_URL": ready.url, "TESTING": True, "SECRET_KEY": "k"})
    admin = Browser(app.test_client())
    assert admin.sign_in("boss", "boss-password").status_code == 302
    admin.get("/admin/users")
    admin.post("/admin/users/huangpu2/disabled", {"disabled": "1"})
    events = ready.ok("history", "system")["events"]
    assert (events[0]["type"], events[0]["actor"], events[0]["payload"]) == ("user_disabled", "boss",
                                                                            {"user": "huangpu2"})
    app.extensions["shanyu"]["db"].dispose()


def test_an_edited_journal_event_is_named(ready: Shanyu) -> None:
    ready.sql("UPDATE system_event SET actor = 'nobody' WHERE seq = 2")
    run = ready("history", "verify")
    assert run.code == 1 and "SYSTEM JOURNAL BROKEN at event 2: journal event 2 (user_saved) was altered" in run.out
    assert ready("history", "system").code == 1
