"""Working days, stepping and counting, against the official 2022-2026 PRC schedules.

Expected dates were checked against ``chinesecalendar`` 1.11 (the authority) and by hand against
the State Council announcements: 2022 Spring Festival Jan 31-Feb 6 with Jan 29/30 worked; 2022
National Day Oct 1-7 with Oct 8/9 worked; 2024 Spring Festival Feb 10-17 with Feb 4 and Feb 18
(Sundays) worked; 2025 Labour Day May 1-5 with Apr 27 (Sunday) worked.
Year 2099 entries are fictional test data, never an official schedule.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest

from workflow.calendar import DayOverride, WorkCalendar, library_years
from workflow.errors import DeadlinePastCalendar, InvalidData

D = date


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


def test_library_years_are_2004_to_2026() -> None:
    assert library_years() == range(2004, 2027)
    chinese_calendar.is_workday(D(2026, 12, 31))
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D(2027, 1, 4))


def test_agrees_with_chinesecalendar_on_every_known_day(cal: WorkCalendar) -> None:
    day = D(2004, 1, 1)
    while day.year <= 2026:
        assert cal.is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        (D(2022, 1, 29), True),  # Saturday, adjusted working day (Spring Festival)
        (D(2022, 1, 30), True),  # Sunday, adjusted working day
        (D(2022, 1, 31), False),
        (D(2022, 2, 6), False),
        (D(2022, 2, 7), True),
        (D(2022, 9, 30), True),
        (D(2022, 10, 1), False),
        (D(2022, 10, 7), False),
        (D(2022, 10, 8), True),  # Saturday, adjusted
        (D(2022, 10, 9), True),  # Sunday, adjusted
        (D(2022, 10, 15), False),  # ordinary Saturday
        (D(2024, 2, 4), True),  # Sunday, adjusted
        (D(2024, 2, 9), True),  # Friday before the holiday
        (D(2024, 2, 10), False),
        (D(2024, 2, 17), False),
        (D(2024, 2, 18), True),  # Sunday, adjusted
        (D(2025, 4, 27), True),  # Sunday, adjusted (Labour Day)
        (D(2025, 5, 1), False),
        (D(2025, 5, 5), False),
        (D(2025, 5, 6), True),
    ],
)
def test_official_schedule(cal: WorkCalendar, day: date, workday: bool) -> None:
    assert cal.is_workday(day) is workday


def test_working_days_per_year(cal: WorkCalendar) -> None:
    counts = {
        year: cal.workdays_between(D(year - 1, 12, 31), D(year, 12, 31)) for year in (2022, 2023, 2024, 2025)
    }
    assert counts == {2022: 249, 2023: 249, 2024: 251, 2025: 248}


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (D(2022, 9, 29), 1, D(2022, 9, 30)),
        (D(2022, 9, 30), 1, D(2022, 10, 8)),  # the adjusted Saturday counts
        (D(2022, 9, 30), 5, D(2022, 10, 12)),
        (D(2022, 10, 1), 1, D(2022, 10, 8)),  # from inside the holiday
        (D(2022, 10, 7), 2, D(2022, 10, 9)),
        (D(2022, 1, 28), 2, D(2022, 1, 30)),
        (D(2022, 1, 28), 3, D(2022, 2, 7)),
        (D(2022, 12, 30), 1, D(2023, 1, 3)),  # across a known year boundary (New Year holiday)
        (D(2024, 2, 8), 2, D(2024, 2, 18)),
        (D(2025, 4, 25), 5, D(2025, 5, 6)),
        (D(2022, 10, 15), 1, D(2022, 10, 17)),  # from an ordinary Saturday
        # n == 0: start if it is a working day, else the next working day
        (D(2022, 10, 8), 0, D(2022, 10, 8)),
        (D(2022, 10, 1), 0, D(2022, 10, 8)),
        (D(2022, 10, 15), 0, D(2022, 10, 17)),
        # n < 0: working days before start, start not counted
        (D(2022, 10, 10), -1, D(2022, 10, 9)),
        (D(2022, 10, 10), -3, D(2022, 9, 30)),
        (D(2022, 10, 8), -1, D(2022, 9, 30)),
        (D(2022, 10, 5), -1, D(2022, 9, 30)),  # from inside the holiday
        (D(2024, 2, 20), -3, D(2024, 2, 9)),  # reminder 3 working days before a deadline
        (D(2023, 1, 3), -1, D(2022, 12, 30)),
    ],
)
def test_add_workdays(cal: WorkCalendar, start: date, n: int, expected: date) -> None:
    assert cal.add_workdays(start, n) == expected
    if n > 0:
        assert cal.workdays_between(start, expected) == n


def test_add_workdays_over_many_years(cal: WorkCalendar) -> None:
    total = sum(cal.workdays_between(D(y - 1, 12, 31), D(y, 12, 31)) for y in range(2005, 2026))
    last = cal.add_workdays(D(2004, 12, 31), total)
    assert last == D(2025, 12, 31)
    first = cal.add_workdays(last, -(total - 1))  # `last` itself is not counted
    assert first == cal.add_workdays(D(2005, 1, 1), 0) == D(2005, 1, 4)
    assert cal.add_workdays(last, -total) == D(2004, 12, 31)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (D(2022, 9, 30), D(2022, 10, 11), 4),  # (a, b]: Oct 8, 9, 10, 11
        (D(2022, 10, 11), D(2022, 9, 30), -4),
        (D(2022, 9, 30), D(2022, 9, 30), 0),
        (D(2022, 10, 1), D(2022, 10, 7), 0),
        (D(2022, 9, 29), D(2022, 9, 30), 1),
        (D(2022, 12, 30), D(2023, 1, 3), 1),
        (D(2003, 12, 31), D(2004, 1, 2), 1),  # (a, b] never reads a's own day
    ],
)
def test_workdays_between(cal: WorkCalendar, a: date, b: date, expected: int) -> None:
    assert cal.workdays_between(a, b) == expected


def test_datetimes_count_by_their_shanghai_date(cal: WorkCalendar) -> None:
    # 17:00 UTC on Sept 30 is 01:00 on Oct 1 in Shanghai: a holiday.
    assert cal.is_workday(datetime(2022, 9, 30, 17, 0, tzinfo=UTC)) is False
    assert cal.is_workday(datetime(2022, 9, 30, 15, 59, tzinfo=UTC)) is True
    assert cal.is_workday(datetime(2022, 9, 30, 23, 0)) is True  # naive: Shanghai time


def test_unknown_year_is_an_error_never_a_guess(cal: WorkCalendar) -> None:
    with pytest.raises(DeadlinePastCalendar) as caught:
        cal.is_workday(D(2027, 1, 4))
    assert caught.value.year == 2027
    assert "2027" in str(caught.value) and "shanyu calendar import" in str(caught.value)


@pytest.mark.parametrize(
    "compute",
    [
        lambda c: c.add_workdays(D(2026, 12, 25), 5),  # Dec 28-31 are 4 working days, the 5th is in 2027
        lambda c: c.add_workdays(D(2026, 12, 31), 1),
        lambda c: c.add_workdays(D(2027, 3, 1), -100),
        lambda c: c.notice_end(D(2026, 12, 30), 3),
        lambda c: c.workdays_between(D(2026, 12, 1), D(2027, 1, 4)),
        lambda c: c.workdays_between(D(2027, 1, 4), D(2026, 12, 1)),
    ],
)
def test_computations_reaching_2027_raise(cal: WorkCalendar, compute: object) -> None:
    with pytest.raises(DeadlinePastCalendar) as caught:
        compute(cal)  # type: ignore[operator]
    assert caught.value.year == 2027
    assert "2027" in caught.value.message and "shanyu calendar import" in caught.value.message


def test_last_known_days_still_work(cal: WorkCalendar) -> None:
    assert cal.add_workdays(D(2026, 12, 25), 4) == D(2026, 12, 31)
    assert cal.workdays_between(D(2026, 12, 31), D(2026, 12, 31)) == 0


def test_going_back_before_2004_raises(cal: WorkCalendar) -> None:
    assert cal.add_workdays(D(2004, 1, 5), -1) == D(2004, 1, 2)
    with pytest.raises(DeadlinePastCalendar) as caught:
        cal.add_workdays(D(2004, 1, 5), -2)
    assert caught.value.year == 2003


def test_known_range(cal: WorkCalendar) -> None:
    assert cal.known_range() == (D(2004, 1, 1), D(2026, 12, 31))
    assert cal.known_range(D(2022, 6, 1)) == (D(2004, 1, 1), D(2026, 12, 31))
    with pytest.raises(DeadlinePastCalendar):
        cal.known_range(D(2027, 1, 1))


def test_known_range_with_imported_fictional_years() -> None:
    cal = WorkCalendar(known_years=[2098, 2099])
    assert cal.known_range() == (D(2004, 1, 1), D(2026, 12, 31))  # far-off years do not stretch it
    assert cal.known_range(D(2099, 5, 1)) == (D(2098, 1, 1), D(2099, 12, 31))
    assert cal.known_years == frozenset(range(2004, 2027)) | {2098, 2099}


def test_override_holiday_on_a_weekday_moves_the_notice_end() -> None:
    plain = WorkCalendar()
    assert plain.notice_end(D(2024, 3, 4), 3) == D(2024, 3, 6)
    cal = WorkCalendar([DayOverride(D(2024, 3, 5), False, "测试假日 test holiday")])
    assert cal.is_workday(D(2024, 3, 5)) is False
    assert cal.notice_end(D(2024, 3, 4), 3) == D(2024, 3, 7)
    assert cal.workdays_between(D(2024, 3, 1), D(2024, 3, 8)) == 4
    assert cal.override_for(D(2024, 3, 5)) == DayOverride(D(2024, 3, 5), False, "测试假日 test holiday")
    assert cal.override_for(D(2024, 3, 6)) is None


def test_override_wins_over_chinesecalendar_both_ways() -> None:
    cal = WorkCalendar(
        [
            DayOverride(D(2024, 3, 9), True, "test working Saturday"),
            DayOverride(D(2022, 10, 8), False, "test"),
        ]
    )
    assert cal.add_workdays(D(2024, 3, 8), 1) == D(2024, 3, 9)
    assert cal.notice_end(D(2022, 9, 30), 5) == D(2022, 10, 12)


def test_overrides_alone_do_not_make_a_year_known() -> None:
    cal = WorkCalendar([DayOverride(D(2027, 1, 1), False, "test")])
    with pytest.raises(DeadlinePastCalendar):
        cal.is_workday(D(2027, 1, 4))


def test_imported_fictional_year_becomes_known() -> None:
    # 2099 is fictional test data: Jan 1 (Thu) - Jan 3 (Sat) off, Sunday Jan 4 worked.
    days = [DayOverride(D(2099, 1, d), False, "测试假日 test holiday") for d in (1, 2, 3)]
    days.append(DayOverride(D(2099, 1, 4), True, "测试调休 test working weekend"))
    cal = WorkCalendar(days, known_years=[2099])
    assert [cal.is_workday(D(2099, 1, d)) for d in range(1, 12)] == [
        False, False, False, True, True, True, True, True, True, False, False,
    ]  # fmt: skip
    assert cal.notice_end(D(2099, 1, 1), 5) == D(2099, 1, 8)
    assert cal.add_workdays(D(2099, 12, 30), 1) == D(2099, 12, 31)
    with pytest.raises(DeadlinePastCalendar) as caught:
        cal.add_workdays(D(2099, 12, 31), 1)
    assert caught.value.year == 2100


def test_contradicting_overrides_are_rejected() -> None:
    same = DayOverride(D(2024, 3, 5), False, "a")
    assert WorkCalendar([same, DayOverride(D(2024, 3, 5), False, "b")]).is_workday(D(2024, 3, 5)) is False
    with pytest.raises(InvalidData, match="2024-03-05"):
        WorkCalendar([same, DayOverride(D(2024, 3, 5), True, "b")])


def test_bad_arguments() -> None:
    with pytest.raises(TypeError):
        DayOverride(datetime(2024, 3, 5, 12), False)
    with pytest.raises(ValueError):
        WorkCalendar(known_years=[True])
    with pytest.raises(ValueError):
        WorkCalendar(known_years=[10000])
