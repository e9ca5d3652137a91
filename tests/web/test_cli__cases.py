"""Working a case from the command line: ``tasks``, ``claim``, ``release``, ``complete`` and ``message``,
with who may see and do what, and the error objects of ``--json``.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.web.conftest import TASK_KEYS, Shanyu, fire_timer, run_to_audit, start
from workflow.store import Instance


# -- tasks, claim, release, complete -----------------------------------------------------------
def test_tasks_lists_what_a_user_may_claim(ready: Shanyu) -> None:
    [task] = start(ready)["tasks"]
    assert ready.ok("tasks", "--as", "huangpu") == [task]
    assert ready.ok("tasks", "--as", "huangpu2") == [task]
    assert ready.ok("tasks", "--as", "xuhui") == []  # another district
    assert ready.ok("tasks", "--as", "city") == []  # another lane
    assert ready.ok("tasks") == [task]
    assert ready("tasks", "--as", "xuhui").out.strip() == "No open tasks."
    assert ready.fails("tasks", "--as", "nobody").err.startswith("error: There is no user 'nobody'")

    ready.ok("claim", str(task["id"]), "--as", "huangpu")
    assert [t["claimed_by"] for t in ready.ok("tasks", "--as", "huangpu")] == ["huangpu"]
    assert ready.ok("tasks", "--as", "huangpu2") == []  # claimed by someone else
    line = ready("tasks", "--as", "huangpu").out.strip()
    assert line.startswith(f"#{task['id']}") and line.endswith("ready  claimed by huangpu")


def test_claim_release_complete_moves_the_case_on(ready: Shanyu) -> None:
    case = start(ready)
    [task] = case["tasks"]
    tid = str(task["id"])

    claimed = ready.ok("claim", tid, "--as", "huangpu")
    assert set(claimed) == TASK_KEYS
    assert claimed == {**task, "claimed_by": "huangpu"}
    assert ready.ok("claim", tid, "--as", "huangpu") == claimed  # claiming your own task again is a no-op

    run = ready.fails("claim", tid, "--as", "huangpu2")
    assert run.err.startswith("error: ") and "already claimed by 'huangpu'" in run.err
    error = ready.fails("claim", tid, "--as", "huangpu2", "--json").error()
    assert error["error"] == "task_already_claimed"
    assert error["claimed_by"] == "huangpu" and "already claimed" in error["message"]
    assert ready.fails("complete", tid, "--as", "huangpu2", "--json").error()["error"] == "permission_denied"
    assert ready.fails("release", tid, "--as", "huangpu2", "--json").error()["error"] == "permission_denied"

    assert ready.ok("release", tid, "--as", "huangpu") == task
    assert ready.fails("release", tid, "--as", "huangpu", "--json").error()["error"] == "task_not_claimed"
    assert ready.fails("complete", tid, "--as", "huangpu", "--json").error()["error"] == "task_not_claimed"

    ready.ok("claim", tid, "--as", "huangpu2")
    bad = ready.fails("complete", tid, "--as", "huangpu2", "--data", "not json")
    assert "--data is not valid JSON" in bad.err
    assert ready.ok("tasks", "--as", "huangpu2")[0]["claimed_by"] == "huangpu2"  # unchanged

    done = ready.ok("complete", tid, "--as", "huangpu2", "--data", '{"materials": ["m-1"]}')
    assert (done["id"], done["state"], done["claimed_by"]) == (task["id"], "completed", "huangpu2")
    assert ready.fails("complete", tid, "--as", "huangpu2", "--json").error()["error"] == "task_not_ready"
    assert ready.ok("tasks") == []  # the case waits for its timer

    assert fire_timer(ready, case["id"]) == 1
    [review] = ready.ok("tasks", "--as", "city")
    assert {
        k: review[k] for k in ("instance_id", "bpmn_id", "name", "lane", "role", "district", "state")
    } == {
        "instance_id": case["id"],
        "bpmn_id": "Task_review",
        "name": "审核申报",
        "lane": "市有关部门",
        "role": "市有关部门",
        "district": "310101",
        "state": "ready",
    }
    assert ready.ok("tasks", "--as", "huangpu") == []
    assert ready.fails("claim", str(review["id"]), "--as", "huangpu", "--json").error()["error"] == (
        "permission_denied"
    )


# -- messages ----------------------------------------------------------------------------------
def test_message_reaches_the_waiting_case_of_its_district(ready: Shanyu) -> None:
    iid = run_to_audit(ready)
    other = run_to_audit(ready, "310104", "xuhui")

    result = ready.ok("message", "audit_result", "--key", "district=310101", "--data", '{"result":"pass"}', "--as", "city")
    assert result == {"name": "audit_result", "keys": {"district": "310101"}, "instance_ids": [iid]}
    with ready.db.read() as session:
        status = {row.id: row.status for row in session.execute(select(Instance.id, Instance.status))}
    assert status == {iid: "completed", other: "running"}

    events = ready.ok("history", "show", str(iid))["events"]
    assert events[-1]["type"] == "message_delivered"
    assert "pass" in json.dumps(events[-1]["payload"])

    plain = ready("message", "audit_result", "--key", "district=310104", "--as", "city")
    assert (plain.code, plain.out.strip()) == (0, f"Message 'audit_result' delivered to case(s) {other}.")


def test_message_nobody_waits_for_fails_and_changes_nothing(ready: Shanyu) -> None:
    iid = run_to_audit(ready)
    run = ready.fails("message", "audit_result", "--key", "district=310104", "--data", '{"result":"pass"}', "--as", "city")
    assert "No case is waiting for message 'audit_result' with district=310104" in run.err
    error = ready.fails("message", "no_such_message", "--key", "district=310101", "--json", "--as", "city").error()
    assert (error["error"], error["message_name"]) == ("message_not_delivered", "no_such_message")

    assert ready.ok("message", "audit_result", "--key", "district=310101", "--as", "city")["instance_ids"] == [iid]
    assert ready.fails("message", "audit_result", "--key", "district=310101", "--as", "city").code == 1  # delivered once


def test_message_refuses_a_malformed_key(ready: Shanyu) -> None:
    run_to_audit(ready)
    run = ready.fails("message", "audit_result", "--key", "district", "--as", "city")
    assert "--key 'district': write correlation keys as NAME=VALUE" in run.err
    assert (
        ready.fails("message", "audit_result", "--key", "district", "--json", "--as", "city").error()["error"]
        == "invalid_data"
    )
    assert (
        "--data is not valid JSON"
        in ready.fails("message", "audit_result", "--key", "district=310101", "--data", "{", "--as", "city").err
    )
    with ready.db.read() as session:
        assert session.scalar(select(Instance.status)) == "running"  # still waiting: nothing was delivered
