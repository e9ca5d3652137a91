"""``shanyu history show`` and ``history verify``: the chained events of a case, and a tampered row named
by case and event with exit status 1.
"""

from __future__ import annotations

from tests.web.conftest import EVENT_KEYS, Shanyu, run_to_audit, start
from workflow.store import HistoryEvent


def test_history_show_lists_the_chained_events(ready: Shanyu) -> None:
    iid = run_to_audit(ready)
    shown = ready.ok("history", "show", str(iid))
    assert shown["instance_id"] == iid
    events = shown["events"]
    assert [e["type"] for e in events] == [
        "instance_started",
        "task_claimed",
        "task_completed",
        "timer_fired",
        "task_claimed",
        "task_completed",
    ]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert all(set(e) == EVENT_KEYS for e in events)
    assert [e["actor"] for e in events] == ["huangpu", "huangpu", "huangpu", "scheduler", "city", "city"]
    assert events[0]["payload"]["data"] == {"district": "310101"}
    assert events[-1]["payload"]["data"] == {"opinion": "同意"}
    assert all(len(e["hash"]) == 64 and len(e["state_digest"]) == 64 for e in events)
    assert len({e["hash"] for e in events}) == len(events)
    assert shown["verified"] == {
        "instance_id": iid,
        "ok": True,
        "events": len(events),
        "broken_seq": None,
        "reason": "",
    }

    plain = ready("history", "show", str(iid))
    lines = plain.out.splitlines()
    assert plain.code == 0 and len(lines) == len(events) + 1
    assert lines[0].startswith("#1 ") and "instance_started" in lines[0] and "huangpu" in lines[0]
    assert "timer_fired" in lines[3] and "scheduler" in lines[3]
    assert lines[-1] == "chain intact"

    assert ready.fails("history", "show", "999999").err.strip() == "error: Case 999999 does not exist."


def test_history_verify_names_the_tampered_case_and_event(ready: Shanyu) -> None:
    tampered = run_to_audit(ready)
    intact = start(ready, "310104", "xuhui")["id"]
    total = ready.count(HistoryEvent.id)

    run = ready("history", "verify")
    assert (run.code, run.err) == (0, "")
    assert run.out.strip() == f"2 case(s), {total} events: all chains intact, every live state matches its history"
    verified = ready.ok("history", "verify")
    assert verified == {"ok": True, "instances": 2, "events": total, "journal_events": verified["journal_events"],
                        "broken": []}
    assert verified["journal_events"] >= 7  # the migration, five users and the deploy

    ready.sql(
        "UPDATE history_event SET payload = :p WHERE instance_id = :i AND seq = 2",
        p='{"forged": true}',
        i=tampered,
    )

    run = ready("history", "verify")
    assert run.code == 1
    lines = run.out.splitlines()
    assert lines[0].startswith(f"case {tampered}: BROKEN at event 2: event 2 (task_claimed) was altered")
    assert lines[-1].startswith("2 case(s), ") and lines[-1].endswith(" events: 1 broken chain(s), 0 altered live state(s)")

    result = ready("history", "verify", str(tampered), "--json")
    assert result.code == 1
    report = result.json()
    assert (report["ok"], report["instances"]) == (False, 1)
    [broken] = report["broken"]
    assert (broken["instance_id"], broken["ok"], broken["broken_seq"]) == (tampered, False, 2)
    assert "altered" in broken["reason"]

    assert ready.ok("history", "verify", str(intact))["ok"] is True
    shown = ready.ok("history", "show", str(tampered))
    assert (shown["verified"]["ok"], shown["verified"]["broken_seq"]) == (False, 2)
    assert shown["events"][1]["payload"] == {"forged": True}
    assert (
        ready("history", "show", str(tampered)).out.splitlines()[-1].startswith("CHAIN BROKEN at event 2: ")
    )


def test_history_replay_reproduces_the_recorded_states(ready: Shanyu) -> None:
    iid = run_to_audit(ready)
    ready.ok("message", "audit_result", "--key", "district=310101", "--data", '{"result": "pass"}', "--as", "city")
    events = ready.ok("history", "show", str(iid))["events"]

    result = ready.ok("history", "replay", str(iid))
    assert (result["instance_id"], result["ok"], result["first_mismatch"]) == (iid, True, None)
    assert [(s["seq"], s["type"], s["ok"]) for s in result["steps"]] == [
        (e["seq"], e["type"], True) for e in events
    ]
    plain = ready("history", "replay", str(iid))
    assert (plain.code, plain.out.splitlines()[-1]) == (
        0,
        f"case {iid}: replay reproduces every recorded state",
    )
    assert ready.fails("history", "replay", "999999", "--json").error()["error"] == "not_found"
