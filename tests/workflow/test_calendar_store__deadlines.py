"""Deadlines on PRC working days through the database-backed calendar and through a BPMN timer:
before, on and after holidays, with adjusted working weekends (调休); the year the calendar does not
know; an import that changes the next command's answer; replay after a later import.

Real schedules: National Day 2022 was Oct 1-7 off, Sat Oct 8 and Sun Oct 9 worked; Spring Festival
2023 was Jan 21-27 off, Sat Jan 28 and Sun Jan 29 worked. Imported data here is FICTIONAL
("测试数据 test data") and must never be mistaken for an official announcement.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from tests.conftest import deploy
from workflow.calendar import DayOverride
from workflow.calendar_io import ImportedYear
from workflow.calendar_store import import_year, load_calendar
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.errors import DeadlinePastCalendar
from workflow.history import list_events
from workflow.replay import replay
from workflow.store import Database, HistoryEvent, HumanTask, Instance, Timer
from workflow.timers import sweep
from workflow.users import Actor

TEST_SOURCE = "测试数据 test data, not an official schedule"

# published -> (last day of a 5-working-day notice, 3rd working day after publication)
CASES = {
    "2022-09-26": ("2022-09-30", "2022-09-29"),  # the week before National Day: no holiday in reach
    "2022-09-30": ("2022-10-11", "2022-10-10"),  # last day before it: day 2 and 3 are the worked weekend
    "2022-10-03": ("2022-10-12", "2022-10-10"),  # on the holiday: day 1 is Sat Oct 8, a working day
    "2022-10-08": ("2022-10-12", "2022-10-11"),  # on the adjusted working Saturday: it counts as day 1
    "2022-10-10": ("2022-10-14", "2022-10-13"),  # after the holiday
    "2023-01-20": ("2023-01-31", "2023-01-30"),  # before Spring Festival: Jan 28-29 are worked
}


def shanghai_five_pm(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T17:00:00+08:00").astimezone(UTC)


def start_notice(
    engine: Engine, db: Database, clock: FakeClock, actor: Actor, published: str, days: int = 5
) -> int:
    with db.write() as session:
        return engine.start(
            session, "timers_notice", {"published": published, "days": days}, actor=actor, now=clock.now()
        )


def dues(db: Database, iid: int) -> tuple[datetime | None, datetime]:
    """The notice task's due time in the inbox and its timer's due time."""
    with db.read() as session:
        task_due = session.execute(
            select(HumanTask.due_at).where(HumanTask.instance_id == iid, HumanTask.bpmn_id == "Task_notice")
        ).scalar_one()
        timer_due = session.execute(select(Timer.due_at).where(Timer.instance_id == iid)).scalar_one()
    return task_due, timer_due


def fictional(year: int, *days: tuple[str, bool], source: str = TEST_SOURCE) -> ImportedYear:
    return ImportedYear(
        year, source, tuple(DayOverride(date.fromisoformat(d), w, "测试 test") for d, w in days)
    )


@pytest.fixture
def admin() -> Actor:
    return Actor("admin", frozenset({"admin"}))


@pytest.mark.parametrize("published", sorted(CASES))
def test_stored_calendar_counts_holidays_and_worked_weekends(db: Database, published: str) -> None:
    notice, third = CASES[published]
    with db.read() as session:
        cal = load_calendar(session)
    assert cal.notice_end(date.fromisoformat(published), 5).isoformat() == notice
    assert cal.add_workdays(date.fromisoformat(published), 3).isoformat() == third


@pytest.mark.parametrize("published", sorted(CASES))
def test_timer_and_inbox_fall_due_at_five_pm_on_the_last_working_day(
    db: Database, clock: FakeClock, admin: Actor, published: str
) -> None:
    engine = Engine()
    deploy(engine, db, clock, "timers_notice.bpmn")
    iid = start_notice(engine, db, clock, admin, published)
    notice, third = CASES[published]
    assert dues(db, iid) == (shanghai_five_pm(notice), shanghai_five_pm(notice))
    with db.read() as session:
        [started] = list_events(session, iid)
    assert started.payload["function_results"] == [
        {"function": "add_workdays", "args": [published, 3], "result": third},
        {"function": "notice_end", "args": [published, 5], "result": notice},
        {"function": "deadline_at", "args": [notice], "result": f"{notice}T17:00:00+08:00"},
    ]


def test_timer_fires_after_five_pm_not_before(db: Database, clock: FakeClock, admin: Actor) -> None:
    engine = Engine()
    deploy(engine, db, clock, "timers_notice.bpmn")
    iid = start_notice(engine, db, clock, admin, "2022-09-30")
    assert sweep(db, engine, FakeClock("2022-10-11T16:59:59+08:00").now()).count == 0
    fired = sweep(db, engine, FakeClock("2022-10-11T17:00:01+08:00").now())
    assert [(t.instance_id, t.bpmn_id) for t in fired.fired] == [(iid, "Timer_notice_end")]
    with db.read() as session:
        rows = session.execute(select(HumanTask.bpmn_id, HumanTask.state).where(HumanTask.instance_id == iid))
        states = {bpmn_id: state for bpmn_id, state in rows}
    assert states == {"Task_notice": "cancelled", "Task_close": "ready"}


@pytest.mark.parametrize(("published", "failing"), [("2026-12-30", "script"), ("2026-12-28", "timer")])
def test_unknown_year_fails_the_command_and_saves_nothing(
    db: Database, clock: FakeClock, admin: Actor, published: str, failing: str
) -> None:
    """2026-12-30: the script's add_workdays(…, 3) already reaches 2027. 2026-12-28: the script stays
    in 2026 (Dec 31) and the timer's notice_end(…, 5) reaches 2027."""
    engine = Engine()
    deploy(engine, db, clock, "timers_notice.bpmn")
    with pytest.raises(DeadlinePastCalendar) as caught:
        start_notice(engine, db, clock, admin, published)
    assert caught.value.year == 2027
    assert "shanyu calendar import" in caught.value.message
    with db.read() as session:
        for model in (Instance, HistoryEvent, HumanTask, Timer):
            assert session.scalar(select(func.count()).select_from(model)) == 0

    with db.write() as session:  # the admin imports 2027 (fictional: Jan 1 off, Sat Jan 9 worked)
        import_year(session, fictional(2027, ("2027-01-01", False), ("2027-01-09", True)), clock.now())
    iid = start_notice(engine, db, clock, admin, published)
    expected = {"2026-12-30": "2027-01-06", "2026-12-28": "2027-01-04"}[published]
    assert dues(db, iid) == (shanghai_five_pm(expected), shanghai_five_pm(expected))


def test_an_import_changes_the_next_commands_answer(db: Database, clock: FakeClock, admin: Actor) -> None:
    """No restart: the engine that already computed with the old calendar, and a fresh one (another
    process), both compute the next command with the imported one."""
    engine = Engine()
    deploy(engine, db, clock, "timers_notice.bpmn")
    before = start_notice(engine, db, clock, admin, "2022-09-30")
    assert dues(db, before)[1] == shanghai_five_pm("2022-10-11")

    with db.write() as session:  # FICTIONAL: Mon Oct 10, 2022 declared a holiday
        result = import_year(session, fictional(2022, ("2022-10-10", False)), clock.now())
    assert result.waiting_timers == 1  # the first case's timer keeps the due time it was given

    for next_engine in (engine, Engine()):
        after = start_notice(next_engine, db, clock, admin, "2022-09-30")
        assert dues(db, after) == (shanghai_five_pm("2022-10-12"), shanghai_five_pm("2022-10-12"))
    assert dues(db, before)[1] == shanghai_five_pm("2022-10-11")


def test_replay_reads_recorded_results_after_a_later_import(
    db: Database, clock: FakeClock, admin: Actor
) -> None:
    engine = Engine()
    deploy(engine, db, clock, "timers_notice.bpmn")
    iid = start_notice(engine, db, clock, admin, "2022-09-30")
    with db.write() as session:  # FICTIONAL: Oct 10 off and Oct 9 no longer worked
        import_year(session, fictional(2022, ("2022-10-10", False), ("2022-10-09", False)), clock.now())
    with db.read() as session:
        assert load_calendar(session).notice_end(date(2022, 9, 30), 5) == date(2022, 10, 13)
    sweep(db, engine, FakeClock("2022-10-11T18:00:00+08:00").now())  # fires at the recorded due time
    with db.read() as session:
        assert [e.type for e in list_events(session, iid)] == ["instance_started", "timer_fired"]
        result = replay(session, Engine(), iid)
    assert result.ok, result.to_dict()
