"""Who may do what, through ``shanyu`` (issue 10): every refusal is ``error: …`` with exit status 1
and changes nothing; the auditor changes nothing with any command."""

from __future__ import annotations

import json

from tests.conftest import BPMN
from tests.web.conftest import Shanyu, run_to_audit, start
from workflow.store import HistoryEvent, Instance, ProcessVersion, User

TABLES = ("bundle", "process_version", "instance", "task_row", "data_blob", "human_task", "timer",
          "message_subscription", "pending_message", "history_event", "app_user", "user_role", "lane_role")


def snapshot(cli: Shanyu) -> dict[str, list[str]]:
    """Every row of every table that a command changes."""
    return {table: sorted(repr(tuple(r)) for r in cli.sql(f"SELECT * FROM {table}").all()) for table in TABLES}


def test_start_needs_the_lane_of_the_start_event(ready: Shanyu) -> None:
    ready.ok("deploy", str(BPMN / "timers_wait.bpmn"), "--as", "owner")  # started in lane 市有关部门
    run = ready.fails("start", "timers_wait", "--data", '{"due": "2030-01-01T00:00:00+08:00"}', "--as", "huangpu")
    assert "huangpu" in run.err and "市有关部门" in run.err
    assert ready.fails("start", "timers_wait", "--data", '{"_bad": 1}', "--as", "huangpu", "--json").error()["error"] \
        == "permission_denied"  # the permission comes before the data
    assert ready.count(Instance.id) == 0
    ready.ok("start", "timers_wait", "--data", '{"due": "2030-01-01T00:00:00+08:00"}', "--as", "city")


def test_a_district_user_cannot_start_a_municipal_case_nor_claim_its_tasks(ready: Shanyu) -> None:
    assert "municipal" in ready.fails("start", "engine_basic", "--as", "huangpu").err
    assert ready.count(Instance.id) == 0
    ready.ok("user", "add", "root", "--role", "admin")
    [task] = ready.ok("start", "engine_basic", "--as", "root")["tasks"]
    assert task["district"] is None
    assert ready.ok("tasks", "--as", "huangpu") == [] and ready.ok("tasks", "--as", "xuhui") == []
    assert ready.fails("claim", str(task["id"]), "--as", "xuhui", "--json").error()["error"] == "permission_denied"


def test_deploy_needs_as_and_the_process_owner(ready: Shanyu) -> None:
    assert ready("deploy", str(BPMN / "timers_wait.bpmn")).code == 2  # --as is required
    run = ready.fails("deploy", str(BPMN / "timers_wait.bpmn"), "--as", "huangpu")
    assert "流程管理员" in run.err and "huangpu" in run.err
    assert ready.count(ProcessVersion.id) == 1
    [done] = ready.ok("deploy", str(BPMN / "timers_wait.bpmn"), "--as", "owner")
    assert ready.sql("SELECT deployed_by FROM process_version WHERE id = :i", i=done["id"]).scalar() == "owner"


def test_user_add_refuses_unknown_roles_and_districts(ready: Shanyu) -> None:
    run = ready.fails("user", "add", "bob", "--role", "不存在的角色", "--district", "310101")
    assert "不存在的角色" in run.err and "Known roles" in run.err and "区有关部门" in run.err
    run = ready.fails("user", "add", "bob", "--role", "区有关部门", "--district", "999999")
    assert "999999" in run.err and "310151 崇明区" in run.err
    assert ready.count(User.id) == len({"huangpu", "huangpu2", "xuhui", "city", "owner"})
    ready.ok("user", "add", "bob", "--role", "区有关部门", "--district", "310151")


def test_message_goes_only_into_the_senders_district(ready: Shanyu) -> None:
    iid = run_to_audit(ready, "310104", "xuhui")
    events = ready.count(HistoryEvent.id)
    run = ready.fails("message", "audit_result", "--key", "district=310104", "--as", "huangpu")
    assert "huangpu" in run.err and f"case {iid}" in run.err and "310104" in run.err
    assert ready.count(HistoryEvent.id) == events
    assert ready("message", "audit_result", "--as", "huangpu").code == 1  # no keys: still the other district's
    assert ready.ok("message", "audit_result", "--key", "district=310104", "--as", "xuhui")["instance_ids"] == [iid]


def test_the_auditor_changes_nothing_with_any_command(ready: Shanyu) -> None:
    ready.ok("user", "add", "aud", "--role", "auditor")
    iid = run_to_audit(ready, "310101", "huangpu")
    [task] = start(ready)["tasks"]
    ready.ok("claim", str(task["id"]), "--as", "huangpu")
    before = snapshot(ready)
    refused = [
        ["deploy", str(BPMN / "timers_wait.bpmn")],
        ["start", "engine_basic", "--data", json.dumps({"district": "310101"})],
        ["claim", str(task["id"])],
        ["release", str(task["id"])],
        ["complete", str(task["id"])],
        ["message", "audit_result", "--key", "district=310101"],
    ]
    for args in refused:
        error = ready.fails(*args, "--as", "aud", "--json").error()
        assert error["error"] == "permission_denied", (args, error)
        assert "auditor" in error["message"]
    # user add and lane map are the database administrator's commands: they act as no user
    assert ready("user", "add", "x", "--role", "auditor", "--as", "aud").code == 2
    assert ready("lane", "map", "区有关部门", "auditor", "--as", "aud").code == 2
    assert snapshot(ready) == before
    assert ready.sql("SELECT COUNT(*) FROM history_event WHERE instance_id = :i", i=iid).scalar() > 0
    assert ready.ok("history", "verify")["ok"]
