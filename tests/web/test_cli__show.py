"""``shanyu task show`` and ``shanyu case show``: a task's form fields and the holder's draft; a
case's open tasks, what it waits for (messages with their keys, timers with due times) and its
newest notifications. District users see only their district's tasks and cases, and what they may
not see is reported as missing. Every time is in Asia/Shanghai."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import insert, select

from tests.conftest import BPMN
from tests.web.conftest import Shanyu, fire_timer, start
from web.cli_show import form_fields
from workflow.registers import Outbox
from workflow.store import HumanTask, TaskDraft, Timer

APPLY_FIELDS = [
    {"key": "intention", "title": "创建意向说明", "title_en": "Statement of intention", "type": "string",
     "required": True, "allowed": None, "widget": "textarea"},
    {"key": "places_per_1000", "title": "每千人口托位数", "title_en": "Childcare places per 1,000 residents",
     "type": "number", "required": True, "allowed": None, "widget": None},
    {"key": "materials", "title": "材料", "title_en": None, "type": "array of string", "required": False,
     "allowed": None, "widget": "upload"},
]


def forms_case(cli: Shanyu, user: str = "huangpu") -> dict[str, object]:
    cli.ok("deploy", str(BPMN / "forms_case"), "--as", "owner")
    case = cli.ok("start", "forms_case", "--data", '{"district": "310101"}', "--as", user)
    assert isinstance(case, dict)
    return case


def test_task_show_lists_the_form_s_fields_and_only_the_holder_sees_the_draft(ready: Shanyu) -> None:
    [task] = forms_case(ready)["tasks"]  # type: ignore[misc]
    tid = str(task["id"])
    shown = ready.ok("task", "show", tid, "--as", "huangpu")
    assert shown["task"] == task
    assert (shown["form"], shown["title"], shown["title_en"]) == ("forms/apply.json", "创建意向", "Intention to apply")
    assert shown["fields"] == APPLY_FIELDS
    assert shown["draft"] is None

    ready.ok("claim", tid, "--as", "huangpu")
    with ready.db.write() as session:
        session.add(TaskDraft(human_task_id=int(tid), user_name="huangpu", data=json.dumps({"intention": "草稿"}),
                              saved_at=datetime(2022, 1, 4, 1, 30, tzinfo=UTC)))
    assert ready.ok("task", "show", tid, "--as", "huangpu")["draft"] == {
        "data": {"intention": "草稿"}, "saved_at": "2022-01-04T09:30:00+08:00"}
    assert ready.ok("task", "show", tid, "--as", "huangpu2")["draft"] is None
    text = ready("task", "show", tid, "--as", "huangpu")
    assert text.code == 0
    assert "places_per_1000" in text.out and "每千人口托位数 / Childcare places per 1,000 residents" in text.out
    assert 'Your draft, saved 2022-01-04 09:30:00+08:00: {"intention": "草稿"}' in text.out

    # another district's user: as if the task did not exist
    hidden = ready.fails("task", "show", tid, "--as", "xuhui", "--json").error()
    missing = ready.fails("task", "show", "999", "--as", "xuhui", "--json").error()
    assert hidden["error"] == missing["error"] == "not_found"
    assert hidden["message"].replace(tid, "N") == missing["message"].replace("999", "N")


def test_form_fields_give_the_allowed_values() -> None:
    schema = {"required": ["result"], "x-ui": {"order": ["result", "areas"]}, "properties": {
        "areas": {"type": "array", "title": "领域", "items": {"type": "string", "enum": ["a", "b"]}},
        "result": {"type": "string", "title": "结果", "x-title-en": "Result", "enum": ["pass", "fail"],
                   "x-ui": {"widget": "radio"}},
        "agree": {"type": "boolean", "const": True}}}
    assert [(f["key"], f["type"], f["required"], f["allowed"], f["widget"]) for f in form_fields(schema)] == [
        ("result", "string", True, ["pass", "fail"], "radio"),
        ("areas", "array of string", False, ["a", "b"], None),
        ("agree", "boolean", False, [True], None)]


def test_case_show_tells_open_tasks_waits_and_notifications(ready: Shanyu) -> None:
    ready.ok("user", "add", "auditor", "--role", "auditor")
    case = start(ready)
    iid = case["id"]
    shown = ready.ok("case", "show", str(iid), "--as", "huangpu")
    assert shown["tasks"] == case["tasks"]
    assert (shown["process_id"], shown["status"], shown["district"], shown["started_by"]) == (
        "engine_basic", "running", "310101", "huangpu")
    assert shown["started_at"].endswith("+08:00")
    assert shown["waiting_for"] == {"messages": [], "timers": []}

    [submit] = case["tasks"]
    ready.ok("claim", str(submit["id"]), "--as", "huangpu")
    ready.ok("complete", str(submit["id"]), "--as", "huangpu")
    with ready.db.read() as session:
        due = session.execute(select(Timer.due_at).where(Timer.instance_id == iid)).scalar_one()
    shown = ready.ok("case", "show", str(iid), "--as", "city")
    assert shown["tasks"] == []
    [timer] = shown["waiting_for"]["timers"]
    assert (timer["bpmn_id"], timer["name"]) == ("Timer_wait", "等待一小时")
    assert timer["due"].endswith("+08:00") and datetime.fromisoformat(timer["due"]) == due

    fire_timer(ready, iid)
    [review] = ready.ok("tasks", "--as", "city")
    ready.ok("claim", str(review["id"]), "--as", "city")
    ready.ok("complete", str(review["id"]), "--as", "city", "--data", '{"opinion": "同意"}')
    with ready.db.write() as session:
        for n in range(3):
            session.execute(insert(Outbox).values(
                instance_id=iid, kind="reminder", role="区有关部门", district="310101", subject=f"提醒 {n}",
                body="", task="Task_x", created_at=datetime(2022, 1, 4, 16 + n, tzinfo=UTC),
                sent_at=None if n else datetime(2022, 1, 4, 17, tzinfo=UTC)))
    shown = ready.ok("case", "show", str(iid), "--as", "auditor", "--notifications", "2")
    assert shown["waiting_for"] == {"messages": [{"message": "audit_result", "keys": {"district": "310101"}}],
                                    "timers": []}
    assert [(n["subject"], n["created"], n["sent"]) for n in shown["notifications"]] == [
        ("提醒 2", "2022-01-05T02:00:00+08:00", None), ("提醒 1", "2022-01-05T01:00:00+08:00", None)]

    text = ready("case", "show", str(iid), "--as", "huangpu")
    assert text.code == 0
    assert "message audit_result with district=310101" in text.out
    assert "2022-01-05 02:00:00+08:00 reminder → 区有关部门 [310101]: 提醒 2 (not sent yet)" in text.out

    hidden = ready.fails("case", "show", str(iid), "--as", "xuhui", "--json").error()
    assert hidden["error"] == "not_found"
    assert ready.fails("case", "show", "999", "--as", "huangpu").err.startswith("error: There is no case 999")
    for argv in (["case", "show", str(2**40)], ["task", "show", "-1"], ["case", "show", "x"]):
        assert ready(*argv).code == 2  # a usage error, before any database is read


def test_a_municipal_case_is_hidden_from_district_users(ready: Shanyu) -> None:
    ready.ok("user", "add", "boss", "--role", "admin")
    case = ready.ok("start", "engine_basic", "--as", "boss")
    assert ready.ok("case", "show", str(case["id"]), "--as", "city")["district"] is None
    assert ready.fails("case", "show", str(case["id"]), "--as", "huangpu", "--json").error()["error"] == "not_found"
    with ready.db.read() as session:
        tid = session.execute(select(HumanTask.id).where(HumanTask.instance_id == case["id"])).scalar_one()
    assert ready.fails("task", "show", str(tid), "--as", "huangpu", "--json").error()["error"] == "not_found"
