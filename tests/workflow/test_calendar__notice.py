"""Public notices of N working days (公示N个工作日): the publication day is day 1 if it is a
working day. Dates checked against chinesecalendar 1.11 and the official announcements."""

from __future__ import annotations

from datetime import date

import pytest

from workflow.calendar import WorkCalendar

D = date


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


@pytest.mark.parametrize(
    ("published", "n", "end"),
    [
        # Friday before National Day 2022: Sep 30 (1), Oct 8 Sat (2), Oct 9 Sun (3), Oct 10 (4), Oct 11 (5)
        (D(2022, 9, 30), 5, D(2022, 10, 11)),
        (D(2022, 9, 30), 1, D(2022, 9, 30)),
        (D(2022, 9, 29), 2, D(2022, 9, 30)),
        (D(2022, 9, 29), 3, D(2022, 10, 8)),
        # published during the holiday: day 1 is Oct 8
        (D(2022, 10, 1), 1, D(2022, 10, 8)),
        (D(2022, 10, 3), 5, D(2022, 10, 12)),
        (D(2022, 10, 7), 5, D(2022, 10, 12)),
        # published on an adjusted working weekend day: it counts as day 1
        (D(2022, 10, 8), 5, D(2022, 10, 12)),
        (D(2024, 2, 4), 5, D(2024, 2, 8)),
        # published on an ordinary Saturday: day 1 is Monday
        (D(2024, 3, 2), 5, D(2024, 3, 8)),
        # across Spring Festival 2024 (Feb 10-17 off, Sunday Feb 18 worked)
        (D(2024, 2, 8), 5, D(2024, 2, 20)),
        (D(2024, 2, 9), 2, D(2024, 2, 18)),
        # Spring Festival 2022 (Jan 29/30 worked, Jan 31-Feb 6 off)
        (D(2022, 1, 28), 3, D(2022, 1, 30)),
        (D(2022, 1, 28), 4, D(2022, 2, 7)),
        # Labour Day 2025 (Sunday Apr 27 worked, May 1-5 off)
        (D(2025, 4, 25), 5, D(2025, 4, 30)),
        (D(2025, 4, 25), 6, D(2025, 5, 6)),
        # ends right before a holiday / on the first day after it
        (D(2022, 9, 26), 5, D(2022, 9, 30)),
        (D(2022, 9, 27), 5, D(2022, 10, 8)),
        # across a year boundary (2022-12-31 to 2023-01-02 off)
        (D(2022, 12, 29), 3, D(2023, 1, 3)),
        # a long notice (20 working days) over National Day 2023 (Sep 29-Oct 6 off, Oct 7/8 worked)
        (D(2023, 9, 25), 20, D(2023, 10, 26)),
    ],
)
def test_notice_end(cal: WorkCalendar, published: date, n: int, end: date) -> None:
    assert cal.notice_end(published, n) == end
    assert cal.is_workday(end)
    # n working days from day 1 to the end, both included
    first = cal.add_workdays(published, 0)
    assert cal.workdays_between(first, end) == n - 1


@pytest.mark.parametrize("n", [0, -1])
def test_notice_needs_at_least_one_day(cal: WorkCalendar, n: int) -> None:
    with pytest.raises(ValueError):
        cal.notice_end(D(2022, 9, 30), n)


def test_notice_end_on_first_known_day(cal: WorkCalendar) -> None:
    # Day 1 never needs the day before publication, so 2003 is not consulted.
    assert cal.notice_end(D(2004, 1, 2), 1) == D(2004, 1, 2)
