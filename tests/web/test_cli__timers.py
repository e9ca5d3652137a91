"""``shanyu calendar …``, ``shanyu timers fire``, ``shanyu scheduler`` and the scheduler inside ``shanyu
serve``, held to the ``--json`` contract; ``history show`` prints Shanghai times and timers' due times.

Cases wait for timers due in 2022 (started through the engine on a fake clock), so the CLI's system
clock finds them due. The scheduler and serve commands run as processes stopped with Ctrl-C (SIGINT).
Imported calendar data is FICTIONAL ("测试数据 test data").
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import BPMN
from tests.web.conftest import Shanyu
from web import cli_timers
from web.app import create_app
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.store import Timer
from workflow.users import Actor

REPO = Path(__file__).resolve().parents[2]
BASE = FakeClock("2022-03-01T09:00:00+08:00")
SOURCE = "测试数据 test data, not an official schedule"
UNKNOWN_2027 = "The working-day calendar does not know the year 2027"


def waiting_cases(cli: Shanyu, *hours: int) -> list[int]:
    """Deploy timers_wait and start one case per due time (BASE + hours)."""
    cli.ok("init")
    cli.ok("user", "add", "owner", "--role", "流程管理员")
    cli.ok("deploy", str(BPMN / "timers_wait.bpmn"), "--as", "owner")
    engine, admin = Engine(), Actor("admin", frozenset({"admin"}))
    ids = []
    for h in hours:
        with cli.db.write() as session:
            due = (BASE.now() + timedelta(hours=h)).isoformat()
            ids.append(engine.start(session, "timers_wait", {"due": due}, actor=admin, now=BASE.now()))
    return ids


def fired(cli: Shanyu) -> int:
    with cli.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Timer).where(Timer.state == "fired")) or 0)


# -- calendar ----------------------------------------------------------------------------------
def test_notice_end_and_add_workdays_print_iso_dates(shanyu: Shanyu) -> None:
    shanyu.ok("init")
    assert shanyu.ok("calendar", "notice-end", "2022-09-30", "5") == {"date": "2022-10-11"}
    assert shanyu.ok("calendar", "add-workdays", "2022-09-30", "1") == {"date": "2022-10-08"}
    assert shanyu.ok("calendar", "add-workdays", "2022-10-10", "-3") == {"date": "2022-09-30"}
    plain = shanyu("calendar", "notice-end", "2022-10-03", "5")
    assert (plain.code, plain.out, plain.err) == (0, "2022-10-12\n", "")


def test_an_unknown_year_exits_1_and_says_how_to_load_it(shanyu: Shanyu) -> None:
    shanyu.ok("init")
    run = shanyu.fails("calendar", "notice-end", "2026-12-30", "5")
    assert run.err.startswith(f"error: {UNKNOWN_2027}") and "`shanyu calendar import FILE`" in run.err
    error = shanyu.fails("calendar", "add-workdays", "2026-12-30", "3", "--json").error()
    assert (error["error"], error["year"]) == ("deadline_past_calendar", 2027)
    assert UNKNOWN_2027 in error["message"]


@pytest.mark.parametrize(
    "args",
    [("notice-end", "2022-9-30", "5"), ("notice-end", "2022-09-30", "0"), ("add-workdays", "soon", "1")],
)
def test_bad_arguments_exit_1(shanyu: Shanyu, args: tuple[str, ...]) -> None:
    shanyu.ok("init")
    assert shanyu.fails("calendar", *args).err.startswith("error: ")


def test_calendar_import_json_and_csv(shanyu: Shanyu, tmp_path: Path) -> None:
    shanyu.ok("init")
    path = tmp_path / "calendar_2027.json"
    path.write_text(
        json.dumps(
            {
                "year": 2027,
                "source": SOURCE,
                "days": [
                    {"date": "2027-01-01", "type": "holiday", "name": "测试元旦"},
                    {"date": "2027-01-09", "type": "workday", "name": "测试调休"},
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    result = shanyu.ok("calendar", "import", str(path))
    assert result == {
        "year": 2027,
        "source": SOURCE,
        "days": 2,
        "status": "imported",
        "previous_source": None,
        "changed": [],
        "waiting_timers": 0,
    }
    assert shanyu.ok("calendar", "notice-end", "2026-12-30", "5") == {"date": "2027-01-06"}
    again = shanyu("calendar", "import", str(path))
    assert (again.code, again.out.strip()) == (
        0,
        "The calendar for 2027 is already stored as in this file; nothing changed.",
    )

    csv = tmp_path / "other_2027.csv"
    csv.write_text(
        "# source: 另一份测试通知 another test notice\ndate,type,name\n2027-01-01,休,测试元旦\n"
        "2027-01-04,休,测试假日\n",
        encoding="utf-8",
    )
    refused = shanyu.fails("calendar", "import", str(csv))
    assert "--replace" in refused.err and SOURCE in refused.err
    replaced = shanyu("calendar", "import", str(csv), "--replace")
    assert replaced.code == 0 and replaced.out.startswith("Replaced the calendar for 2027 (2 days")
    assert shanyu.ok("calendar", "notice-end", "2026-12-30", "5") == {"date": "2027-01-07"}
    bad = tmp_path / "holidays.csv"
    bad.write_text("date,type,name\n2027-01-01,休,x\n", encoding="utf-8")
    assert "cannot tell which year" in shanyu.fails("calendar", "import", str(bad)).err


# -- timers ------------------------------------------------------------------------------------
def test_timers_fire_fires_what_is_due_once(shanyu: Shanyu) -> None:
    ids = waiting_cases(shanyu, 2, 1)
    result = shanyu.ok("timers", "fire")
    assert (result["fired"], result["cases"], result["failed"], result["already_fired"]) == (
        2,
        [ids[1], ids[0]],
        [],
        [],
    )
    assert [t["due"] for t in result["timers"]] == ["2022-03-01T10:00:00+08:00", "2022-03-01T11:00:00+08:00"]
    assert all(t["bpmn_id"] == "Timer_due" and t["name"] == "到期" for t in result["timers"])
    assert all(t["fired_at"].endswith("+08:00") and t["fired_at"] == result["now"] for t in result["timers"])
    assert result["next_due"] is None
    again = shanyu("timers", "fire")
    assert (again.code, again.out.strip()) == (0, "No timer fired. No timer is waiting.")
    assert fired(shanyu) == 2


def test_timers_fire_text_and_a_failed_case(shanyu: Shanyu) -> None:
    ids = waiting_cases(shanyu, 1, 2)
    shanyu.sql("UPDATE task_row SET body = 'broken' WHERE instance_id = :i", i=ids[1])
    run = shanyu("timers", "fire")
    assert run.code == 1  # the sweep went on, and says so
    lines = run.out.splitlines()
    assert lines[0].startswith(f"case {ids[0]:<6} Timer_due (到期)  due 2022-03-01 10:00:00+08:00  fired ")
    assert lines[1].startswith(f"case {ids[1]:<6} FAILED: ")
    assert lines[2] == "1 timer(s) fired in 1 case(s); 1 case(s) failed and stay due. No timer is waiting."


def test_history_show_prints_shanghai_time_and_the_due_time(shanyu: Shanyu) -> None:
    [iid] = waiting_cases(shanyu, 1)
    shanyu.ok("timers", "fire")
    lines = shanyu("history", "show", str(iid)).out.splitlines()
    assert lines[0].startswith("#1    2022-03-01 09:00:00+08:00  instance_started")
    assert "timer_fired" in lines[1] and lines[1].endswith("Timer_due due 2022-03-01 10:00:00+08:00")
    events = shanyu.ok("history", "show", str(iid))["events"]
    assert events[0]["at"] == "2022-03-01T01:00:00+00:00"  # JSON: the stored, hashed UTC values


# -- long-running commands ---------------------------------------------------------------------
def run_until_fired(shanyu: Shanyu, args: list[str], count: int) -> subprocess.CompletedProcess[str]:
    """Run ``shanyu ARGS`` as a process until ``count`` timers fired, then press Ctrl-C."""
    process = subprocess.Popen(
        [sys.executable, "-m", "web.cli", *args, "--database-url", shanyu.url],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while fired(shanyu) < count and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None, process.communicate()
        assert fired(shanyu) == count
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_scheduler_runs_until_ctrl_c(shanyu: Shanyu) -> None:
    waiting_cases(shanyu, 1, 2)
    done = run_until_fired(shanyu, ["scheduler", "--poll-interval", "0.2", "--standby-interval", "0.2"], 2)
    assert done.returncode == 0, done.stderr
    assert "now the active timer scheduler" in done.stderr
    assert done.stdout.startswith("Scheduler stopped after ") and done.stdout.endswith(
        "; 2 timer(s) fired.\n"
    )


def test_serve_fires_timers_in_process(shanyu: Shanyu) -> None:
    waiting_cases(shanyu, 1)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = run_until_fired(shanyu, ["serve", "--port", str(port)], 1)
    assert done.returncode == 0, done.stderr
    assert "timer scheduler stopped" in done.stderr
    assert done.stderr.rstrip().endswith("Shanyu stopped.") and "Traceback" not in done.stderr


def test_serve_on_a_port_in_use_says_so(shanyu: Shanyu) -> None:
    shanyu.ok("init")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "web.cli", "serve", "--port", str(port), "--database-url",
                               shanyu.url], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert f"Cannot listen on 127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr
    assert "scheduler" not in done.stderr  # nothing started


def test_serve_no_scheduler_runs_none(shanyu: Shanyu) -> None:
    shanyu.ok("init")
    app = create_app({"DATABASE_URL": shanyu.url})
    ctx: Any = SimpleNamespace(args=argparse.Namespace(no_scheduler=True))
    with cli_timers.scheduler_for(ctx, app) as scheduler:
        assert scheduler is None and "scheduler" not in app.extensions["shanyu"]
    ctx = SimpleNamespace(args=argparse.Namespace(no_scheduler=False))
    with cli_timers.scheduler_for(ctx, app) as scheduler:
        assert scheduler is not None and app.extensions["shanyu"]["scheduler"] is scheduler
    assert not scheduler.active


def test_shanghai_formatting() -> None:
    assert cli_timers.shanghai("2022-03-01T01:00:00.5+00:00") == "2022-03-01 09:00:00+08:00"
    assert (
        cli_timers.shanghai(datetime.fromisoformat("2022-12-31T16:00:00+00:00"))
        == "2023-01-01 00:00:00+08:00"
    )
    assert cli_timers.shanghai(None) == "-"
