"""Every time the CLI shows a person is in Asia/Shanghai (``+08:00``): the claim conflict, ``history
replay``, ``history show``; and ``history show`` marks a payload it cut."""

from __future__ import annotations

import json

from tests.web.conftest import Shanyu, start
from workflow.clock import FakeClock

# 09:05 in Shanghai is 01:05 UTC: a UTC time would show the wrong hour
MORNING = "2022-01-04T09:05:00+08:00"


def test_the_claim_conflict_names_the_claim_time_in_shanghai(ready: Shanyu) -> None:
    ready.clock = FakeClock(MORNING)
    [task] = start(ready)["tasks"]
    ready.ok("claim", str(task["id"]), "--as", "huangpu")
    taken = ready.fails("claim", str(task["id"]), "--as", "huangpu2")
    assert "already claimed by 'huangpu' at 2022-01-04 09:05+08:00." in taken.err
    assert "UTC" not in taken.err and "01:05" not in taken.err


def test_history_replay_and_show_print_shanghai_times(ready: Shanyu) -> None:
    ready.clock = FakeClock(MORNING)
    iid = start(ready)["id"]
    replayed = ready("history", "replay", str(iid))
    assert replayed.code == 0
    first = replayed.out.splitlines()[0]
    assert first.startswith("#1    2022-01-04 09:05:00+08:00  instance_started"), first
    shown = ready("history", "show", str(iid))
    assert "2022-01-04 09:05:00+08:00" in shown.out.splitlines()[0]
    # --json keeps the stored UTC value, exactly as it was hashed
    assert ready.ok("history", "show", str(iid))["events"][0]["at"] == "2022-01-04T01:05:00+00:00"


def test_history_show_marks_a_cut_payload(ready: Shanyu) -> None:
    long_note = "说明" * 200
    iid = ready.ok("start", "engine_basic", "--data", json.dumps({"district": "310101", "note": long_note}),
                   "--as", "huangpu")["id"]
    [tid] = [t["id"] for t in ready.ok("tasks", "--as", "huangpu") if t["instance_id"] == iid]
    ready.ok("claim", str(tid), "--as", "huangpu")
    payload = ready.ok("history", "show", str(iid))["events"][0]["payload"]
    size = len(json.dumps(payload, ensure_ascii=False))
    lines = ready("history", "show", str(iid)).out.splitlines()
    assert lines[0].endswith(f"… [cut: {size} characters, `history show --json` has them all]")
    assert "cut" not in lines[1]  # the claim's payload is short and shown whole


def test_an_inbox_line_names_the_offset_of_its_due_time() -> None:
    from web.cli_cases import task_line

    line = task_line({"id": 7, "instance_id": 3, "name": "现场审核", "lane": "审核专家组", "district": "310101",
                      "state": "ready", "claimed_by": None, "due": "2022-10-11T17:00:00+08:00"})
    assert line.endswith("  due 2022-10-11 17:00+08:00")
