"""Storing official schedules: ``import_year`` replaces a year, refuses a different announcement
unless told, reports what changed; ``load_calendar`` sees every change, however it was made.

All imported data here is FICTIONAL ("测试数据 test data").
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, text

from tests.conftest import deploy
from workflow import calendar_store
from workflow.calendar import DayOverride
from workflow.calendar_io import ImportedYear, load_overrides
from workflow.calendar_store import import_year, load_calendar
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.errors import DeadlinePastCalendar, InvalidData, WorkflowFailed
from workflow.store import CalendarDay, CalendarYear, Database, Timer
from workflow.users import Actor

SOURCE = "测试数据 test data, not an official schedule"


def year_2099(*days: tuple[str, bool], source: str = SOURCE) -> ImportedYear:
    return ImportedYear(
        2099, source, tuple(DayOverride(date.fromisoformat(d), w, "测试 test") for d, w in days)
    )


FIRST = year_2099(("2099-01-01", False), ("2099-01-02", False), ("2099-01-04", True))


def stored(db: Database) -> list[tuple[date, bool, str]]:
    with db.read() as session:
        return [
            (d, w, s)
            for d, w, s in session.execute(
                select(CalendarDay.day, CalendarDay.workday, CalendarDay.source).order_by(CalendarDay.day)
            )
        ]


def test_import_makes_the_year_known(db: Database, clock: FakeClock) -> None:
    with db.read() as session, pytest.raises(DeadlinePastCalendar):
        load_calendar(session).is_workday(date(2099, 1, 5))
    with db.write() as session:
        result = import_year(session, FIRST, clock.now())
    assert (result.status, result.days, result.previous_source, result.changed) == ("imported", 3, None, ())
    with db.read() as session:
        cal = load_calendar(session)
        year = session.get(CalendarYear, 2099)
    assert year is not None and (year.source, year.imported_at) == (SOURCE, clock.now())
    # Thu Jan 1 and Fri Jan 2 off, Sun Jan 4 worked
    assert [cal.is_workday(date(2099, 1, d)) for d in range(1, 6)] == [False, False, False, True, True]
    assert cal.notice_end(date(2099, 1, 1), 2) == date(2099, 1, 5)


def test_reimport_reports_changes_and_an_identical_file_changes_nothing(
    db: Database, clock: FakeClock
) -> None:
    with db.write() as session:
        import_year(session, FIRST, clock.now())
    first_import = clock.now()
    clock.advance(days=1)
    with db.write() as session:
        same = import_year(session, FIRST, clock.now())
    assert (same.status, same.changed) == ("unchanged", ())
    corrected = year_2099(("2099-01-01", False), ("2099-01-03", False), ("2099-01-04", True))
    with db.write() as session:
        result = import_year(session, corrected, clock.now())
    assert (result.status, result.changed) == ("replaced", (date(2099, 1, 2), date(2099, 1, 3)))
    assert [d for d, _w, _s in stored(db)] == [date(2099, 1, 1), date(2099, 1, 3), date(2099, 1, 4)]
    with db.read() as session:
        year = session.get(CalendarYear, 2099)
    assert year is not None and year.imported_at == clock.now() != first_import


def test_a_different_announcement_is_refused_unless_replace(db: Database, clock: FakeClock) -> None:
    with db.write() as session:
        import_year(session, FIRST, clock.now())
    other = year_2099(("2099-01-01", False), source="另一份测试通知 another test notice")
    with pytest.raises(InvalidData) as caught, db.write() as session:
        import_year(session, other, clock.now())
    assert SOURCE in caught.value.message and "另一份测试通知" in caught.value.message
    assert "--replace" in caught.value.message
    assert caught.value.details["stored_source"] == SOURCE
    assert len(stored(db)) == 3  # nothing changed
    with db.write() as session:
        result = import_year(session, other, clock.now(), replace=True)
    assert (result.status, result.previous_source) == ("replaced", SOURCE)
    assert stored(db) == [(date(2099, 1, 1), False, "另一份测试通知 another test notice")]


def test_days_outside_the_year_are_refused(db: Database, clock: FakeClock) -> None:
    bad = ImportedYear(2099, SOURCE, (DayOverride(date(2098, 12, 31), False),))
    with pytest.raises(InvalidData, match="not in 2099"), db.write() as session:
        import_year(session, bad, clock.now())


def test_a_file_imports_as_loaded(db: Database, clock: FakeClock, tmp_path: Path) -> None:
    path = tmp_path / "holidays_2099.csv"
    path.write_text(
        f"# source: {SOURCE}\ndate,type,name\n2099-01-01,休,测试假日\n2099-01-04,班,测试调休\n",
        encoding="utf-8",
    )
    with db.write() as session:
        result = import_year(session, load_overrides(path), clock.now())
    assert (result.year, result.days, result.source) == (2099, 2, SOURCE)
    assert stored(db) == [(date(2099, 1, 1), False, SOURCE), (date(2099, 1, 4), True, SOURCE)]


def test_the_calendar_follows_the_tables_whoever_changes_them(db: Database, clock: FakeClock) -> None:
    with db.write() as session:
        import_year(session, FIRST, clock.now())
    with db.read() as session:
        first = load_calendar(session)
        assert load_calendar(session) is first  # one read per transaction
    with db.read() as session:
        assert load_calendar(session) is first  # unchanged tables: the built calendar is reused
    with db.engine.begin() as conn:  # an administrator's correction in SQL
        conn.execute(
            text("UPDATE calendar_day SET workday = :w WHERE day = :d"), {"w": False, "d": date(2099, 1, 4)}
        )
    with db.read() as session:
        changed = load_calendar(session)
    assert changed is not first and not changed.is_workday(date(2099, 1, 4))


def test_an_import_counts_for_the_rest_of_its_own_transaction(db: Database, clock: FakeClock) -> None:
    with db.write() as session:
        with pytest.raises(DeadlinePastCalendar):
            load_calendar(session).is_workday(date(2099, 1, 5))
        import_year(session, FIRST, clock.now())
        assert load_calendar(session).is_workday(date(2099, 1, 5))


def test_engine_offers_the_functions_by_default_and_records_them() -> None:
    offered = Engine().script_engine.environment.globals
    assert calendar_store.FUNCTION_NAMES <= set(offered)
    assert "next_deadline" not in offered
    custom = Engine(functions={"next_deadline": lambda day: day}).script_engine.environment.globals
    assert set(custom) == {"next_deadline"}  # explicit functions replace the default ones


def test_functions_need_a_running_step() -> None:
    functions = calendar_store.expression_functions()
    with pytest.raises(WorkflowFailed, match="only be called while a case runs a step"):
        functions["notice_end"]("2022-09-30", 5)
    assert functions["deadline_at"]("2022-10-11") == "2022-10-11T17:00:00+08:00"  # needs no calendar


def test_a_step_sees_the_calendar_of_its_own_transaction(db: Database, clock: FakeClock) -> None:
    """An import and a case started in one transaction: the case already counts with the import."""
    engine = Engine()
    deploy(engine, db, clock, "timers_notice.bpmn")
    admin = Actor("admin", frozenset({"admin"}))
    with db.write() as session:
        import_year(
            session, ImportedYear(2022, SOURCE, (DayOverride(date(2022, 10, 10), False),)), clock.now()
        )
        iid = engine.start(
            session, "timers_notice", {"published": "2022-09-30", "days": 5}, actor=admin, now=clock.now()
        )
    with db.read() as session:
        due = session.execute(select(Timer.due_at).where(Timer.instance_id == iid)).scalar_one()
    assert due == FakeClock("2022-10-12T17:00:00+08:00").now()


def test_two_imports_of_a_new_year_at_once_both_finish(db: Database, clock: FakeClock) -> None:
    """Two admins import the same new year at the same instant: the second waits for the first and
    finds the year already stored (unchanged), instead of failing on a duplicate key."""
    import threading
    from time import sleep

    results: list[str] = []
    errors: list[BaseException] = []
    inside = threading.Barrier(2)

    def run() -> None:
        try:
            with db.write() as session:
                inside.wait()  # both transactions are open before either imports
                result = import_year(session, FIRST, clock.now())
                sleep(0.2)  # hold the transaction: the other import runs into it
                results.append(result.status)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    if db.is_sqlite:  # BEGIN IMMEDIATE already serialises SQLite writers: the barrier would wait forever
        inside = threading.Barrier(1)
    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(results) == ["imported", "unchanged"]
    assert [d for d, _w, _s in stored(db)] == [date(2099, 1, 1), date(2099, 1, 2), date(2099, 1, 4)]
