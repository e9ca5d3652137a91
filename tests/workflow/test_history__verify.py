"""``verify`` passes on a normal history and fails, naming the event, after any event row is edited,
deleted, inserted or reordered directly in the database."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import text

from tests.conftest import deploy
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.history import list_events, verify_all, verify_instance
from workflow.store import Database, HumanTask
from workflow.users import Actor


@pytest.fixture
def case(db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor]) -> int:
    """A case with 5 events, plus a second, untouched case."""
    deploy(engine, db, clock, "engine_basic.bpmn")
    hp = users["huangpu"]
    ids = []
    for _ in range(2):
        with db.write() as s:
            iid = engine.start(s, "engine_basic", {"district": "310101"}, actor=hp, now=clock.now())
        with db.read() as s:
            [tid] = s.query(HumanTask.id).filter_by(instance_id=iid).all()
        for step in (engine.claim, engine.release, engine.claim):
            with db.write() as s:
                step(s, tid[0], actor=hp, now=clock.now())
        with db.write() as s:
            engine.complete(s, tid[0], {"n": 1}, actor=hp, now=clock.now())
        ids.append(iid)
    return ids[0]


def sql(db: Database, statement: str, **params: object) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(statement), params)


Tamper = Callable[[Database, int], None]

TAMPERS: dict[str, tuple[Tamper, int, str]] = {
    "payload edited": (
        lambda db, i: sql(
            db,
            "UPDATE history_event SET payload = :p WHERE instance_id = :i AND seq = 5",
            i=i,
            p='{"data":{"n":2}}',
        ),
        5,
        "altered",
    ),
    "actor edited": (
        lambda db, i: sql(
            db, "UPDATE history_event SET actor = 'mallory' WHERE instance_id = :i AND seq = 2", i=i
        ),
        2,
        "altered",
    ),
    "time edited": (
        lambda db, i: sql(
            db,
            "UPDATE history_event SET at = '2021-01-01T00:00:00+00:00' WHERE instance_id = :i AND seq = 1",
            i=i,
        ),
        1,
        "altered",
    ),
    "digest edited": (
        lambda db, i: sql(
            db,
            "UPDATE history_event SET state_digest = :d WHERE instance_id = :i AND seq = 3",
            i=i,
            d="0" * 64,
        ),
        3,
        "altered",
    ),
    "middle deleted": (
        lambda db, i: sql(db, "DELETE FROM history_event WHERE instance_id = :i AND seq = 3", i=i),
        3,
        "missing",
    ),
    "first deleted": (
        lambda db, i: sql(db, "DELETE FROM history_event WHERE instance_id = :i AND seq = 1", i=i),
        1,
        "missing",
    ),
    "last deleted": (
        lambda db, i: sql(db, "DELETE FROM history_event WHERE instance_id = :i AND seq = 5", i=i),
        5,
        "removed",
    ),
    "seq swapped": (
        lambda db, i: (
            sql(db, "UPDATE history_event SET seq = 99 WHERE instance_id = :i AND seq = 2", i=i),
            sql(db, "UPDATE history_event SET seq = 2 WHERE instance_id = :i AND seq = 3", i=i),
            sql(db, "UPDATE history_event SET seq = 3 WHERE instance_id = :i AND seq = 99", i=i),
        ),
        2,
        "follow",
    ),
    "rows reordered": (
        lambda db, i: sql(
            db, "UPDATE history_event SET id = id + 100000 WHERE instance_id = :i AND seq = 2", i=i
        ),
        3,
        "reordered",
    ),
    "forged event appended": (
        lambda db, i: sql(
            db,
            "INSERT INTO history_event (instance_id, seq, type, at, actor, payload, state_digest, prev_hash, hash) "
            "SELECT instance_id, 6, type, at, actor, payload, state_digest, hash, hash FROM history_event "
            "WHERE instance_id = :i AND seq = 5",
            i=i,
        ),
        6,
        "altered",
    ),
}


def test_normal_history_verifies(db: Database, case: int) -> None:
    with db.read() as s:
        result = verify_instance(s, case)
        assert result.ok and result.events == 5
        assert [e.type for e in list_events(s, case)] == [
            "instance_started",
            "task_claimed",
            "task_released",
            "task_claimed",
            "task_completed",
        ]
        assert all(r.ok for r in verify_all(s))


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_tampering_is_reported_at_the_event(db: Database, case: int, tamper: str) -> None:
    change, seq, word = TAMPERS[tamper]
    change(db, case)
    with db.read() as s:
        result = verify_instance(s, case)
        assert not result.ok
        assert result.broken_seq == seq, result
        assert word in result.reason
        everything = list(verify_all(s, batch=1))
    assert [r.instance_id for r in everything if not r.ok] == [case]


def test_editing_a_hash_too_breaks_the_next_link(db: Database, case: int) -> None:
    """Recomputing the edited event's hash is not enough: the next event still points at the old one."""
    from workflow.history import event_hash

    with db.read() as s:
        row = s.execute(
            text(
                "SELECT seq, type, at, actor, state_digest, prev_hash FROM history_event "
                "WHERE instance_id = :i AND seq = 2"
            ),
            {"i": case},
        ).one()
    payload = '{"forged":true}'
    new_hash = event_hash(case, row[0], row[1], row[2], row[3], payload, row[4], row[5])
    sql(
        db,
        "UPDATE history_event SET payload = :p, hash = :h WHERE instance_id = :i AND seq = 2",
        p=payload,
        h=new_hash,
        i=case,
    )
    with db.read() as s:
        result = verify_instance(s, case)
    assert (result.ok, result.broken_seq) == (False, 3)


@pytest.mark.parametrize("fields", [
    (1, 1, "instance_started", "2022-01-04T01:00:00+00:00", "huangpu", '{"data":{"district":"310101"}}', "a" * 64,
     "0" * 64),
    (2**40, 7, "task_completed", "at", "黄浦区 用户", '{"comment":"同意\\n\\"引号\\"","x":"\\u0000"}', "", ""),
    (3, 4, "t\u2028\u2029\x7f\x00\x1f", "\\", '"', "\t\r\n\b\f", "é\U0001f600", "/"),
    (True, 1, "bool id", "", "", "", "", ""),  # not an int: the encoder writes it
    (1, 2, None, "", "", "", "", ""),  # a damaged row: not a string
    (1, 2, "", 5, "", "", "", ""),
])
def test_event_hash_is_the_hash_of_the_canonical_list(fields: tuple[object, ...]) -> None:
    """``event_hash`` writes the list itself; it must be the canonical encoder's text."""
    from workflow.canonical import canonical_json, sha256
    from workflow.history import event_hash

    assert event_hash(*fields) == sha256(canonical_json(list(fields)))  # type: ignore[arg-type]
