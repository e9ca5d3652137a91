"""Hostile input through ``shanyu`` (issue 10, "No tracebacks" and "No hangs"), on SQLite and PostgreSQL.

Every refusal is one ``error: …`` line (``{"error": CODE, "message": …}`` with ``--json``) with exit
status 1, never a traceback, and leaves the database as it was: same rows in every table, every
history chain intact. The limits are those of ``workflow.jsondata`` (data), ``workflow.calendar_io``
(calendar files) and ``workflow.flowdepth`` (deploy); the scripts run in the sandbox.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from tests.conftest import BPMN
from tests.web.conftest import Run, Shanyu, run_to_audit, start
from tests.web.test_cli__permissions import TABLES
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.users import Actor

ALL_TABLES = (*TABLES, "calendar_day", "calendar_year")
ROOT = Path(__file__).parent.parent.parent

# --data that is not JSON data we accept, and what the refusal says
BAD_DATA = {
    "deeply nested": ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested more than 100 levels deep"),
    "nested past the limit": ('{"a": ' + "[" * 101 + "]" * 101 + "}", "nested more than 100 levels deep"),
    "lone surrogate": ('{"a": "ok \\ud800"}', "lone surrogate"),
    "lone surrogate in a key": ('{"a": {"\\udfff": 1}}', "lone surrogate"),
    "integer past the digit limit": ('{"a": ' + "9" * 5_000 + "}", "more than the limit of 1,000"),
    "NaN": ('{"a": NaN}', "NaN is not JSON"),
    "Infinity": ('{"a": [Infinity]}', "Infinity is not JSON"),
    "-Infinity": ('{"a": {"b": -Infinity}}', "-Infinity is not JSON"),
    "a number that is Infinity": ('{"a": 1e999}', "too large for a JSON number"),
}


def snapshot(cli: Shanyu) -> dict[str, list[str]]:
    return {table: sorted(repr(tuple(r)) for r in cli.sql(f"SELECT * FROM {table}").all()) for table in ALL_TABLES}


def no_traceback(run: Run) -> None:
    assert "Traceback" not in run.err and "Traceback" not in run.out, run.err[-3000:]


def refused(cli: Shanyu, *args: str, code: str, says: str, stdin: str | None = None) -> str:
    """Run twice (plain and ``--json``): exit 1, one error line or object naming ``says``, no
    traceback, nothing changed. Returns the message."""
    before = snapshot(cli)
    plain = cli(*args, stdin=stdin)
    no_traceback(plain)
    assert (plain.code, plain.out) == (1, ""), plain
    assert plain.err.startswith("error: ") and plain.err.count("\n") == 1 and says in plain.err, plain.err[:2000]
    as_json = cli(*args, "--json", stdin=stdin)
    no_traceback(as_json)
    assert (as_json.code, as_json.out) == (1, ""), as_json
    error = as_json.error()
    assert error["error"] == code and says in error["message"], error
    assert snapshot(cli) == before
    assert cli.ok("history", "verify")["ok"]
    return str(error["message"])


# -- data entering a case: start, complete, message ----------------------------------------------
@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_start_refuses_data_that_is_not_json_data_we_accept(ready: Shanyu, case: str) -> None:
    text, says = BAD_DATA[case]
    data = text.replace('{"a"', '{"district": "310101", "a"', 1)
    refused(ready, "start", "engine_basic", "--data", "-", "--as", "huangpu", code="invalid_data", says=says,
            stdin=data)


def test_complete_and_message_refuse_data_that_is_not_json_data_we_accept(ready: Shanyu) -> None:
    iid = run_to_audit(ready, "310101", "huangpu")
    [task] = start(ready)["tasks"]
    ready.ok("claim", str(task["id"]), "--as", "huangpu")
    for text, says in BAD_DATA.values():
        refused(ready, "complete", str(task["id"]), "--data", "-", "--as", "huangpu", code="invalid_data",
                says=says, stdin=text)
        refused(ready, "message", "audit_result", "--key", "district=310101", "--data", "-", "--as", "city",
                code="invalid_data", says=says, stdin=text)
    # what is refused above is not refused for being JSON: the same shapes within the limits pass
    ready.ok("message", "audit_result", "--key", "district=310101", "--as", "city", "--data",
             json.dumps({"a": [[1.5e300]], "b": "文", "c": int("9" * 1_000)}))
    assert ready.ok("history", "show", str(iid))["verified"]["ok"]


def test_history_never_holds_nan(ready: Shanyu) -> None:
    for word in ("NaN", "Infinity", "-Infinity"):
        refused(ready, "start", "engine_basic", "--data", f'{{"district": "310101", "x": {word}}}', "--as",
                "huangpu", code="invalid_data", says=f"{word} is not JSON")
    iid = start(ready)["id"]
    events = ready.ok("history", "show", str(iid))["events"]  # strict JSON: it parsed
    assert events and ready.ok("history", "verify")["ok"]


def test_a_district_code_longer_than_its_column_is_refused(ready: Shanyu) -> None:
    ready.ok("user", "add", "root", "--role", "admin")
    refused(ready, "start", "engine_basic", "--data", json.dumps({"district": "3" * 21}), "--as", "root",
            code="invalid_data", says="at most 20 printable characters")


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_value_too_long_for_its_column_is_an_error_line(ready: Shanyu) -> None:
    """PostgreSQL enforces the width of text columns (SQLite does not)."""
    refused(ready, "lane", "map", "长" * 300, "admin", code="invalid_data",
            says="The database refused a value: value too long")


def test_an_argument_that_is_not_utf8_is_refused(ready: Shanyu) -> None:
    refused(ready, "start", "engine_\udcff", "--as", "city", code="invalid_data", says="not valid UTF-8")
    refused(ready, "user", "add", "bob\udcfe", "--role", "admin", code="invalid_data", says="not valid UTF-8")


# -- calendar files ------------------------------------------------------------------------------
CSV_HEAD = "# year: 2099\n# source: 示例 example only\ndate,type,name\n"
CALENDAR_FILES = {
    "holidays_2099.json": (
        '{"year": 2099, "source": "x", "days": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "nested more than 100 levels deep",
    ),
    "nested_2099.json": ('{"year": 2099, "source": "x", "days": [' + "[" * 150 + "]" * 150 + "]}",
                         "nested more than 100 levels deep"),
    "long_2099.csv": (CSV_HEAD + "2099-01-01,holiday," + "长" * 200_000 + "\n", "longer than 10,000 characters"),
    "field_2099.csv": (CSV_HEAD + '2099-01-01,holiday,"' + "a" * 5_000 + '"\n',
                       "at most 200 printable characters"),
    "nul_2099.csv": (CSV_HEAD + "2099-01-01,holiday,假\x00日\n", "NUL character"),
    "nul_2099.json": ('{"year": 2099, "source": "x", "days": [{"date": "2099-01-01", "type": "holiday", '
                      '"name": "假\\u0000日"}]}', "at most 200 printable characters"),
    "nulsource_2099.json": ('{"year": 2099, "source": "x\\u0000", "days": [{"date": "2099-01-01", '
                            '"type": "holiday"}]}', "at most 300 printable characters"),
    "surrogate_2099.json": ('{"year": 2099, "source": "x", "days": [{"date": "2099-01-01", "type": "holiday", '
                            '"name": "\\ud800"}]}', "lone surrogate"),
    "big_2099.json": ('{"year": ' + "9" * 5_000 + ', "source": "x", "days": []}', "more than the limit of 1,000"),
}


@pytest.mark.parametrize("name", sorted(CALENDAR_FILES))
def test_calendar_import_refuses_hostile_files(ready: Shanyu, tmp_path: Path, name: str) -> None:
    content, says = CALENDAR_FILES[name]
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    message = refused(ready, "calendar", "import", str(path), code="invalid_data", says=says)
    assert str(path) in message


# -- scripts whose results are not JSON data ------------------------------------------------------
SCRIPTED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_{pid}"
                  targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{pid}" name="脚本" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1"><bpmn:lane id="Lane_city" name="市有关部门">
      <bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef><bpmn:flowNodeRef>Script_1</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>Task_1</bpmn:flowNodeRef><bpmn:flowNodeRef>EndEvent_1</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1" name="开始"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="Script_1" name="计算"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="Task_1" name="处理"><bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="EndEvent_1" name="结束"><bpmn:incoming>F3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="StartEvent_1" targetRef="Script_1" />
    <bpmn:sequenceFlow id="F2" sourceRef="Script_1" targetRef="Task_1" />
    <bpmn:sequenceFlow id="F3" sourceRef="Task_1" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>
"""
SCRIPTS = {
    "set": ("a = {1, 2}", "expression_error", "a set is not JSON data"),
    "nan": ('a = float("nan")', "expression_error", "NaN is not a JSON number"),
    "surrogate": ('a = "\\udc80"', "expression_error", "lone surrogate"),
    "int keys": ("a = {1: 2}", "expression_error", "an object key must be text"),
    "refers to itself": ("a = []\na.append(a)", "unsafe_expression", "contains itself"),
    "deeply nested": ("a = []\nfor i in range(5000):\n    a = [a]", "unsafe_expression", "nested more than 100"),
    "shared parts": ("a = [1]\nfor i in range(60):\n    a = [a, a]", "unsafe_expression", "250,000 values"),
    "memory when written out": ('s = "x" * 5000000\nt = [s] * 2', "unsafe_expression", "10,000,000 characters"),
    "many values": ("t = [0] * 5000000", "unsafe_expression", "250,000 values"),
}


def deploy_script(cli: Shanyu, tmp_path: Path, pid: str, script: str) -> None:
    path = tmp_path / f"{pid}.bpmn"
    path.write_text(SCRIPTED.format(pid=pid, script=escape(script)), encoding="utf-8")
    cli.ok("deploy", str(path), "--as", "owner")


@pytest.mark.parametrize("case", sorted(SCRIPTS))
def test_a_script_result_that_is_not_json_data_is_refused(ready: Shanyu, tmp_path: Path, case: str) -> None:
    script, code, says = SCRIPTS[case]
    deploy_script(ready, tmp_path, "scripted", script)
    message = refused(ready, "start", "scripted", "--as", "city", code=code, says=says)
    assert "计算" in message  # the task's name


def test_shared_parts_count_as_often_as_they_are_written(ready: Shanyu, tmp_path: Path) -> None:
    """Doubling a list 17 times makes 2**18 - 1 lists and 2**17 numbers once written out: over the
    limit of 250,000 values, refused; 16 times (196,607 values) runs."""
    doubling = "a = [1]\nfor i in range(levels):\n    a = [a, a]\nb = (1, 2)"
    deploy_script(ready, tmp_path, "scripted", doubling)
    refused(ready, "start", "scripted", "--data", '{"levels": 17}', "--as", "city", code="unsafe_expression",
            says="variable a: it has more than 250,000 values")
    case = ready.ok("start", "scripted", "--data", '{"levels": 16}', "--as", "city")
    assert [t["bpmn_id"] for t in case["tasks"]] == ["Task_1"]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_script_that_runs_out_of_memory_is_an_error_line(ready: Shanyu, tmp_path: Path) -> None:
    """A real out-of-memory: the command runs in a process whose address space is capped a little
    above what it uses once loaded, and the script asks for a list of 9 million elements (72 MB)."""
    deploy_script(ready, tmp_path, "hungry", "a = [0] * 9000000")
    before = snapshot(ready)
    program = (
        "import resource, sys\n"
        "import web.cli, workflow.engine, workflow.specs, workflow.sandbox\n"
        "size = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmSize:')) * 1024\n"
        "resource.setrlimit(resource.RLIMIT_AS, (size + 48 * 2**20, size + 48 * 2**20))\n"
        "sys.exit(web.cli.main(sys.argv[1:]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", program, "start", "hungry", "--as", "city", "--json", "--database-url", ready.url],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert (done.returncode, done.stdout) == (1, "")
    error = json.loads(done.stderr)
    assert error["error"] in ("unsafe_expression", "resource_exhausted") and "memory" in error["message"], error
    assert snapshot(ready) == before


# -- deploy ---------------------------------------------------------------------------------------
def chain(pid: str, tasks: int) -> str:
    """A process whose start event, ``tasks`` user tasks and end event follow one another."""
    ids = ["StartEvent_1", *(f"Task_{i}" for i in range(tasks)), "EndEvent_1"]
    nodes = ['<bpmn:startEvent id="StartEvent_1" name="开始"><bpmn:outgoing>F_0</bpmn:outgoing></bpmn:startEvent>']
    nodes += [f'<bpmn:userTask id="Task_{i}" name="第{i}步"><bpmn:incoming>F_{i}</bpmn:incoming>'
              f"<bpmn:outgoing>F_{i + 1}</bpmn:outgoing></bpmn:userTask>" for i in range(tasks)]
    nodes.append(f'<bpmn:endEvent id="EndEvent_1" name="结束"><bpmn:incoming>F_{tasks}</bpmn:incoming></bpmn:endEvent>')
    flows = [f'<bpmn:sequenceFlow id="F_{i}" sourceRef="{a}" targetRef="{b}" />'
             for i, (a, b) in enumerate(zip(ids, ids[1:], strict=False))]
    refs = "".join(f"<bpmn:flowNodeRef>{i}</bpmn:flowNodeRef>" for i in ids)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/'
            f'BPMN/20100524/MODEL" id="Definitions_{pid}" targetNamespace="http://bpmn.io/schema/bpmn">'
            f'<bpmn:process id="{pid}" name="长链" isExecutable="true"><bpmn:laneSet id="LaneSet_1">'
            f'<bpmn:lane id="Lane_city" name="市有关部门">{refs}</bpmn:lane></bpmn:laneSet>'
            + "\n".join(nodes + flows) + "</bpmn:process></bpmn:definitions>")


@pytest.mark.parametrize("tasks", [299, 2_000])
def test_deploy_refuses_a_sequence_too_long_naming_the_limit(ready: Shanyu, tmp_path: Path, tasks: int) -> None:
    path = tmp_path / "chain.bpmn"
    path.write_text(chain("chain", tasks), encoding="utf-8")
    message = refused(ready, "deploy", str(path), "--as", "owner", code="invalid_spec", says="at most 300")
    assert f"{tasks + 2} elements one after another" in message and "Recursion" not in message
    assert "element 'EndEvent_1'" in message  # where the sequence reaches past the limit

    path.write_text(chain("chain", 298), encoding="utf-8")  # 300 elements with its start and end
    [deployed] = ready.ok("deploy", str(path), "--as", "owner")
    assert deployed["created"]
    [first] = ready.ok("start", "chain", "--as", "city")["tasks"]
    ready.ok("claim", str(first["id"]), "--as", "city")
    assert ready.ok("complete", str(first["id"]), "--as", "city")["state"] == "completed"


# -- timers ---------------------------------------------------------------------------------------
def test_timers_fire_skips_a_case_over_its_budget_and_fires_the_others(ready: Shanyu) -> None:
    """``timers fire`` uses the wall clock: the cases are started (through the engine) on a clock
    in 2022, so their timers are long due now."""
    ready.ok("deploy", str(BPMN / "hostile_timer.bpmn"), "--as", "owner")
    clock, engine, admin = FakeClock("2022-03-01T09:00:00+08:00"), Engine(), Actor("admin", frozenset({"admin"}))
    due = (clock.now() + timedelta(hours=1)).isoformat()
    with ready.db.write() as session:
        heavy = engine.start(session, "hostile_timer", {"due": due, "levels": 21}, actor=admin, now=clock.now())
        light = engine.start(session, "hostile_timer", {"due": due, "levels": 2}, actor=admin, now=clock.now())
    run = ready("timers", "fire", "--json")
    no_traceback(run)
    assert run.code == 1 and run.err == ""
    result = run.json()
    assert result["cases"] == [light]
    [failure] = result["failed"]
    assert (failure["instance_id"], failure["error"]) == (heavy, "unsafe_expression")
    assert "250,000 values" in failure["message"]
    assert ready.ok("history", "verify")["ok"]
    before = snapshot(ready)
    again = ready("timers", "fire")  # it stays due and fails again, alone; nothing changes
    no_traceback(again)
    assert again.code == 1 and f"case {heavy:<6} FAILED" in again.out
    assert snapshot(ready) == before
    failing = ready.ok("case", "show", str(heavy), "--as", "city")["timer_failure"]
    assert (failing["failures"], failing["error"]) == (2, "unsafe_expression")  # kept where operators look
    assert "250,000 values" in failing["message"]
    shown = ready("case", "show", str(heavy), "--as", "city").out
    assert "Timers FAILING: 2 sweep(s) in a row since" in shown and "unsafe_expression" in shown
    assert ready.ok("case", "show", str(light), "--as", "city")["timer_failure"] is None
