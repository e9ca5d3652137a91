"""``Database.write()``: one transaction on a Core connection, shared by the engine's driver-level
statements (``workflow.fastsql``) and the ORM session, committed only at the block's end and
rolled back whole on any exception. ``UTCDateTime.fast_bind`` stores what the ORM stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import bindparam, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from workflow.errors import DatabaseNotReady
from workflow.fastsql import DRIVER, Prepared
from workflow.store import Database, LaneRole, PendingMessage, UTCDateTime, table_of

PENDING = table_of(PendingMessage)
_INSERT = Prepared(insert(PENDING).values(
    message_name=bindparam("name"), keys="{}", payload="{}", sent_at=bindparam("at"), sent_by="test"))
AT = datetime(2026, 11, 29, 20, 21, 22, 123456, tzinfo=UTC)


def names(db: Database) -> list[str]:
    with db.read() as session:
        return list(session.execute(select(PendingMessage.message_name).order_by(PendingMessage.id)).scalars())


def add_orm(session: object, name: str) -> None:
    session.add(PendingMessage(message_name=name, keys="{}", payload="{}", sent_at=AT,  # type: ignore[attr-defined]
                               sent_by="test"))


def test_driver_and_orm_statements_commit_together(db: Database) -> None:
    with db.write() as session:
        _INSERT.execute(session, {"name": "driver-1", "at": AT})
        add_orm(session, "orm-1")
        session.flush()  # the ORM joins the same transaction and sees the driver's row
        assert session.execute(select(func.count()).select_from(PendingMessage)).scalar_one() == 2
        _INSERT.execute(session, {"name": "driver-2", "at": AT})
        add_orm(session, "orm-2")  # not flushed here: the block's end flushes it
    assert names(db) == ["driver-1", "orm-1", "driver-2", "orm-2"]


@pytest.mark.parametrize("use_orm", [False, True])
def test_an_exception_rolls_back_everything(db: Database, use_orm: bool) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        with db.write() as session:
            _INSERT.execute(session, {"name": "driver", "at": AT})
            if use_orm:
                add_orm(session, "orm")
                session.flush()
            raise RuntimeError("boom")
    assert names(db) == []
    with db.write() as session:  # the connection went back to the pool clean
        _INSERT.execute(session, {"name": "after", "at": AT})
    assert names(db) == ["after"]


def test_session_commit_inside_the_block_does_not_end_the_transaction(db: Database) -> None:
    """The block owns the transaction: an inner ``commit()`` only flushes, so a later failure
    still loses nothing half-done."""
    with pytest.raises(RuntimeError):
        with db.write() as session:
            add_orm(session, "orm")
            session.commit()
            _INSERT.execute(session, {"name": "driver", "at": AT})
            raise RuntimeError("later failure")
    assert names(db) == []


def test_the_driver_handle_lives_only_inside_the_block(db: Database) -> None:
    with db.write() as session:
        assert DRIVER in session.info
    assert DRIVER not in session.info
    with db.read() as session:  # other sessions are asked for their connection
        assert DRIVER not in session.info


@pytest.mark.parametrize("moment", [
    AT,
    datetime(2026, 1, 1, tzinfo=UTC),  # no microseconds: still written with six digits
    datetime(2022, 10, 8, 9, 30, tzinfo=timezone(timedelta(hours=8))),  # Shanghai time, stored as UTC
    datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
])
def test_fast_bind_stores_what_the_orm_stores(db: Database, moment: datetime) -> None:
    with db.write() as session:
        _INSERT.execute(session, {"name": "driver", "at": moment})
        add_orm(session, "orm")
        session.flush()
        session.execute(PENDING.update().where(PENDING.c.message_name == "orm").values(sent_at=moment))
    with db.read() as session:
        raw = session.execute(select(PENDING.c.sent_at).order_by(PENDING.c.id)).scalars().all()
        loaded = session.execute(select(PendingMessage.sent_at).order_by(PendingMessage.id)).scalars().all()
    assert raw[0] == raw[1]
    assert loaded == [moment.astimezone(UTC)] * 2


def test_fast_bind_remembers_only_the_same_instant() -> None:
    """The processor keeps its last answer for the very same datetime object; an equal instant in
    another zone, or the next instant, is converted afresh."""
    from zoneinfo import ZoneInfo

    for dialect in ("sqlite", "postgresql"):
        process = UTCDateTime.fast_bind(dialect)
        expected = UTCDateTime().process_bind_param
        moments = [AT, AT + timedelta(microseconds=1), AT.astimezone(ZoneInfo("Asia/Shanghai")), AT,
                   AT.replace(tzinfo=ZoneInfo("UTC")), AT.replace(tzinfo=timezone(timedelta(0)))]
        for moment in moments + moments[::-1]:
            naive = expected(moment, None)
            assert naive is not None
            assert process(moment) == (naive.isoformat(" ", "microseconds") if dialect == "sqlite" else naive)


def test_fast_bind_refuses_naive_datetimes() -> None:
    for dialect in ("sqlite", "postgresql"):
        with pytest.raises(ValueError, match="naive datetime"):
            UTCDateTime.fast_bind(dialect)(datetime(2026, 1, 1))


def test_objects_only_added_are_written_at_the_end(db: Database) -> None:
    with db.write() as session:
        add_orm(session, "added, never flushed")
    assert names(db) == ["added, never flushed"]


def test_every_connection_goes_back_to_the_pool(db: Database) -> None:
    for round_ in range(30):  # more than the pool holds
        with db.write() as session:
            _INSERT.execute(session, {"name": f"driver-{round_}", "at": AT})
            if round_ % 2:
                add_orm(session, f"orm-{round_}")
                session.flush()
        if round_ % 3 == 0:
            with pytest.raises(RuntimeError), db.write() as session:
                add_orm(session, "lost")
                session.flush()
                raise RuntimeError
    assert db.engine.pool.checkedout() == db.idle_connections()  # type: ignore[attr-defined]
    assert len(names(db)) == 45


@pytest.mark.parametrize(("setting", "explicit", "pragma"), [
    (None, None, 1),  # NORMAL
    ("full", None, 2),
    ("FULL", "normal", 1),  # the argument wins over the environment
])
def test_sqlite_commit_durability_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  setting: str | None, explicit: str | None, pragma: int) -> None:
    if setting is None:
        monkeypatch.delenv("SHANYU_SQLITE_SYNCHRONOUS", raising=False)
    else:
        monkeypatch.setenv("SHANYU_SQLITE_SYNCHRONOUS", setting)
    db = Database(f"sqlite:///{tmp_path / 's.db'}", synchronous=explicit)
    try:
        with db.write() as session:
            assert session.execute(text("PRAGMA synchronous")).scalar() == pragma
    finally:
        db.dispose()


def test_an_unknown_durability_setting_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHANYU_SQLITE_SYNCHRONOUS", "sometimes")
    with pytest.raises(DatabaseNotReady, match="SHANYU_SQLITE_SYNCHRONOUS must be one of NORMAL, FULL, EXTRA"):
        Database(f"sqlite:///{tmp_path / 's.db'}")


def test_a_failing_flush_at_the_end_rolls_back_everything(db: Database) -> None:
    """The block's end flushes what was only added; when that flush fails, the driver statements
    before it are rolled back with it and the connection still goes back to the pool."""
    with pytest.raises(IntegrityError):
        with db.write() as session:
            _INSERT.execute(session, {"name": "driver", "at": AT})
            session.add(LaneRole(lane="区有关部门", role="a"))
            session.add(LaneRole(lane="区有关部门", role="b"))  # the same key: refused at the flush
    assert names(db) == []
    with db.read() as session:
        assert session.execute(select(func.count()).select_from(LaneRole)).scalar_one() == 0
    assert db.engine.pool.checkedout() == db.idle_connections()  # type: ignore[attr-defined]


def test_driver_statements_never_make_the_session_join(db: Database) -> None:
    """Compiling a statement the first time, and running it, leaves the ORM out of the transaction."""
    _INSERT._compiled.clear()
    _INSERT._last = None
    with db.write() as session:
        _INSERT.execute(session, {"name": "driver", "at": AT})
        assert session.joined is None  # type: ignore[attr-defined]
    assert names(db) == ["driver"]
