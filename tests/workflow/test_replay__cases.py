"""Replay rebuilds every case from its recorded inputs and reproduces each recorded state digest;
a history whose inputs were forged (with the chain re-hashed to hide it) fails at that event."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select, text

from tests.conftest import deploy
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.history import GENESIS, event_hash
from workflow.replay import replay
from workflow.store import Database, HistoryEvent, HumanTask, Instance
from workflow.users import Actor


def run_cases(db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor]) -> list[int]:
    deploy(engine, db, clock, "engine_basic.bpmn")
    deploy(engine, db, clock, "engine_sender.bpmn")
    hp, city = users["huangpu"], users["city"]
    with db.write() as s:
        iid = engine.start(s, "engine_basic", {"district": "310101", "score": 70}, actor=hp, now=clock.now())
    for who in (hp, city):
        with db.read() as s:
            tid = s.execute(select(HumanTask.id).where(HumanTask.instance_id == iid, HumanTask.state == "ready")).scalar_one()
        clock.advance(minutes=7)
        with db.write() as s:
            engine.claim(s, tid, actor=who, now=clock.now())
        with db.write() as s:
            engine.complete(s, tid, {"note": f"by {who.name}", "items": [1, 2, {"k": "v"}]}, actor=who, now=clock.now())
        clock.advance(hours=1, minutes=1)
        with db.write() as s:
            engine.fire_timers(s, iid, now=clock.now())
    with db.write() as s:
        sender = engine.start(s, "engine_sender", {"district": "310101", "score": 99}, actor=city, now=clock.now())
    return [iid, sender]


def test_replay_reproduces_every_recorded_state(db: Database, engine: Engine, clock: FakeClock,
                                                users: dict[str, Actor]) -> None:
    ids = run_cases(db, engine, clock, users)
    fresh = Engine()  # nothing cached: replay depends on the database alone
    with db.read() as s:
        assert s.get(Instance, ids[0]).status == "completed"  # type: ignore[union-attr]
        for iid in ids:
            result = replay(s, fresh, iid)
            assert result.ok, result.to_dict()
            assert len(result.steps) == s.get(Instance, iid).event_count  # type: ignore[union-attr]
        partial = replay(s, fresh, ids[0], upto=3)
        assert [step.seq for step in partial.steps] == [1, 2, 3]
        assert partial.case is not None
        ready = [t.task_spec.bpmn_id for t in partial.case.workflow.get_tasks(state=16)]
        assert ready == []  # after event 3 the case waits on its timer


def _rechain(db: Database, iid: int) -> None:
    """Recompute every hash of a case's chain, as a forger with database access would."""
    with db.engine.begin() as conn:
        rows = conn.execute(select(HistoryEvent.__table__).where(HistoryEvent.instance_id == iid)
                            .order_by(HistoryEvent.seq)).mappings().all()
        prev = GENESIS
        for r in rows:
            h = event_hash(iid, r["seq"], r["type"], r["at"], r["actor"], r["payload"], r["state_digest"], prev)
            conn.execute(text("UPDATE history_event SET prev_hash = :p, hash = :h WHERE id = :id"),
                         {"p": prev, "h": h, "id": r["id"]})
            prev = h
        conn.execute(text("UPDATE instance SET head_hash = :h WHERE id = :i"), {"h": prev, "i": iid})


def test_forged_input_with_a_valid_chain_is_caught_by_replay(db: Database, engine: Engine, clock: FakeClock,
                                                             users: dict[str, Actor]) -> None:
    from workflow.history import verify_instance

    iid = run_cases(db, engine, clock, users)[0]
    with db.read() as s:
        [completed] = s.execute(select(HistoryEvent).where(
            HistoryEvent.instance_id == iid, HistoryEvent.type == "task_completed")).scalars().all()[:1]
        seq, payload = completed.seq, json.loads(completed.payload)
    payload["data"]["note"] = "forged"
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE history_event SET payload = :p WHERE instance_id = :i AND seq = :s"),
                     {"p": json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
                      "i": iid, "s": seq})
    _rechain(db, iid)
    with db.read() as s:
        assert verify_instance(s, iid).ok  # the chain alone cannot tell
        result = replay(s, Engine(), iid)
    assert not result.ok
    bad = result.first_mismatch
    assert bad is not None and bad.seq == seq
    assert "differs" in bad.note


def test_forged_time_changes_timer_outcome(db: Database, engine: Engine, clock: FakeClock,
                                           users: dict[str, Actor]) -> None:
    """Moving a timer_fired event earlier than the timer's due time is caught: nothing fires on replay."""
    iid = run_cases(db, engine, clock, users)[0]
    with db.read() as s:
        fired = s.execute(select(HistoryEvent).where(HistoryEvent.instance_id == iid,
                                                     HistoryEvent.type == "timer_fired")).scalars().first()
        assert fired is not None
        seq = fired.seq
        earlier = (FakeClock(fired.at).now() - timedelta(minutes=30)).isoformat()
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE history_event SET at = :a WHERE instance_id = :i AND seq = :s"),
                     {"a": earlier, "i": iid, "s": seq})
    _rechain(db, iid)
    with db.read() as s:
        result = replay(s, Engine(), iid)
    assert result.first_mismatch is not None and result.first_mismatch.seq == seq


def test_recorded_function_results_replay_even_when_the_function_now_answers_otherwise(
        db: Database, clock: FakeClock, users: dict[str, Actor]) -> None:
    """A working-day calculation changes when an admin imports a holiday schedule; the case must
    still replay as it ran, so the engine records such results and replay reads them back."""
    live = Engine(functions={"next_deadline": lambda day: f"{day}+5"}, recorded_functions=frozenset({"next_deadline"}))
    deploy(live, db, clock, "engine_function.bpmn")
    with db.write() as s:
        iid = live.start(s, "engine_function", {"opened": "2022-09-30"}, actor=users["city"], now=clock.now())
    later = Engine(functions={"next_deadline": lambda day: f"{day}+6"}, recorded_functions=frozenset({"next_deadline"}))
    unrecorded = Engine(functions={"next_deadline": lambda day: f"{day}+6"})
    with db.read() as s:
        started = s.execute(select(HistoryEvent.payload).where(HistoryEvent.instance_id == iid)).scalar_one()
        assert json.loads(started)["function_results"] == [
            {"function": "next_deadline", "args": ["2022-09-30"], "result": "2022-09-30+5"}]
        assert replay(s, later, iid).ok
        assert not replay(s, unrecorded, iid).ok  # without the record the new answer would show
