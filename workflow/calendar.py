"""PRC working days: statutory deadlines and public notices (公示N个工作日).

A day is a working day by the official schedule of its year: Monday to Friday work, Saturday and
Sunday rest, except for the holidays and the adjusted working weekends (调休上班) that the State
Council announces each year. The schedules come from ``chinesecalendar``; ``DayOverride`` entries
(official announcements imported by an administrator, see ``workflow.calendar_io``) win over it.

A year is *known* if ``chinesecalendar`` has data for it or it is listed in ``known_years`` (its full
official schedule was imported). Any computation that needs a day of an unknown year raises
``DeadlinePastCalendar(year)``: a deadline a day early is a real harm, so nothing is ever guessed
from weekdays. Overrides for a year that is not known do not make it known. Overrides are laid
over ``chinesecalendar`` day by day: importing a year it already knows does not erase its other
entries (to correct one of them, override that day).

Counting rules (``start`` and ``published`` are calendar dates in Asia/Shanghai; a ``datetime``
argument is first converted to its Shanghai date, a naive one read as Shanghai time):

- ``add_workdays(start, n)``, n > 0: the n-th working day after ``start``; ``start`` itself is not
  counted, whether or not it is a working day. n < 0: the |n|-th working day before ``start``
  (``start`` not counted), e.g. a reminder 3 working days before a deadline. n == 0: ``start`` if it
  is a working day, else the next working day (a period that ends on a rest day ends on the next
  working day).
- ``notice_end(published, n)``: the last day of a notice of n working days (n >= 1). Day 1 is the
  publication day when it is a working day, else the first working day after it.
  ``notice_end(p, n) == add_workdays(p - 1 day, n)``.
- ``workdays_between(a, b)``: the number of working days in (a, b] (after ``a``, up to and including
  ``b``); ``-workdays_between(b, a)`` when b < a; 0 when a == b.
  For n > 0, ``workdays_between(start, add_workdays(start, n)) == n``.

Each year's working days are computed once per calendar (a sorted tuple of day ordinals), so a
lookup is a set test and a count or a step is a binary search. Tables are built lazily; two
threads racing only build the same table twice, so a calendar may be shared.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, datetime
from datetime import time as clock_time
from functools import cache
from typing import Any

import chinese_calendar

from workflow.clock import SHANGHAI
from workflow.errors import DeadlinePastCalendar, ExpressionError, InvalidData

__all__ = ["DayOverride", "WorkCalendar", "expression_functions", "library_years"]

_MAX_ORDINAL = date.max.toordinal()


@dataclass(frozen=True)
class DayOverride:
    """One entry of an official announcement: a holiday (``workday=False``) or an adjusted working
    weekend (``workday=True``)."""

    day: date
    workday: bool
    name: str = ""

    def __post_init__(self) -> None:
        # A datetime is a date subclass; a UTC datetime would silently name the wrong day.
        if isinstance(self.day, datetime) or not isinstance(self.day, date):
            raise TypeError(f"DayOverride.day must be a date, not {type(self.day).__name__}")


def library_years() -> range:
    """The years ``chinesecalendar`` has data for (it raises ``NotImplementedError`` outside them)."""
    # The library's own check: any year between its first and last listed holiday.
    years = [d.year for d in chinese_calendar.holidays]
    return range(min(years), max(years) + 1)


_LIBRARY_YEARS = library_years()


@cache
def _library_workdays(year: int) -> frozenset[int]:
    """Ordinals of the working days of ``year`` according to ``chinesecalendar``.

    Uses the library's own rule (listed workday, or a weekday that is not a listed holiday) on its
    dicts rather than ``is_workday``, which rescans all its data on every call.
    """
    holidays, workdays = chinese_calendar.holidays, chinese_calendar.workdays
    first, last = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
    result = set()
    for ordinal in range(first, last + 1):
        day = date.fromordinal(ordinal)
        if day in workdays or (day.weekday() < 5 and day not in holidays):
            result.add(ordinal)
    return frozenset(result)


def _year_of(ordinal: int) -> int:
    if ordinal < 1:
        return MINYEAR - 1
    if ordinal > _MAX_ORDINAL:
        return MAXYEAR + 1
    return date.fromordinal(ordinal).year


def _as_day(value: date) -> date:
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).date() if value.tzinfo is not None else value.date()
    return value


class _Year:
    __slots__ = ("ordinals", "members")

    def __init__(self, workdays: set[int] | frozenset[int]) -> None:
        self.ordinals: tuple[int, ...] = tuple(sorted(workdays))
        self.members: frozenset[int] = frozenset(workdays)


class WorkCalendar:
    """Working days from ``chinesecalendar`` plus official overrides. Immutable once built."""

    def __init__(self, overrides: Iterable[DayOverride] = (), *, known_years: Iterable[int] = ()) -> None:
        self._overrides: dict[int, DayOverride] = {}
        self._by_year: dict[int, list[DayOverride]] = {}
        for entry in overrides:
            ordinal = entry.day.toordinal()
            earlier = self._overrides.get(ordinal)
            if earlier is not None:
                if earlier.workday != entry.workday:
                    raise InvalidData(
                        f"Contradicting calendar overrides for {entry.day.isoformat()}: "
                        f"{_kind(earlier)} ({earlier.name!r}) and {_kind(entry)} ({entry.name!r}). "
                        f"Keep the one in the official announcement and delete the other.",
                        day=entry.day.isoformat(),
                    )
                continue
            self._overrides[ordinal] = entry
            self._by_year.setdefault(entry.day.year, []).append(entry)
        extra = set()
        for year in known_years:
            if isinstance(year, bool) or not isinstance(year, int) or not MINYEAR <= year <= MAXYEAR:
                raise ValueError(f"known_years must hold years {MINYEAR}..{MAXYEAR}, got {year!r}")
            extra.add(year)
        self._known: frozenset[int] = frozenset(_LIBRARY_YEARS) | extra
        self._years: dict[int, _Year] = {}

    @property
    def known_years(self) -> frozenset[int]:
        """Every year this calendar can answer for (not necessarily contiguous)."""
        return self._known

    def override_for(self, day: date) -> DayOverride | None:
        """The override that decides ``day``, if any."""
        return self._overrides.get(_as_day(day).toordinal())

    def _year(self, year: int) -> _Year:
        table = self._years.get(year)
        if table is None:
            if year not in self._known:
                raise DeadlinePastCalendar(year)
            if year in _LIBRARY_YEARS:
                days = set(_library_workdays(year))
            else:
                # A year whose full official schedule was imported: the announcement lists only the
                # departures from the Monday-to-Friday week, which the overrides below apply.
                first, last = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
                days = {o for o in range(first, last + 1) if date.fromordinal(o).weekday() < 5}
            for entry in self._by_year.get(year, ()):
                if entry.workday:
                    days.add(entry.day.toordinal())
                else:
                    days.discard(entry.day.toordinal())
            table = self._years[year] = _Year(days)
        return table

    def is_workday(self, day: date) -> bool:
        """Whether ``day`` is a working day. Raises ``DeadlinePastCalendar`` for an unknown year."""
        day = _as_day(day)
        return day.toordinal() in self._year(day.year).members

    def _forward(self, ordinal: int, n: int) -> date:
        """The n-th working day (n >= 1) on or after ``ordinal``."""
        year = _year_of(ordinal)
        days = self._year(year).ordinals
        index = bisect_left(days, ordinal)
        while n > len(days) - index:
            n -= len(days) - index
            year += 1
            days, index = self._year(year).ordinals, 0
        return date.fromordinal(days[index + n - 1])

    def _backward(self, ordinal: int, n: int) -> date:
        """The n-th working day (n >= 1) on or before ``ordinal``."""
        year = _year_of(ordinal)
        days = self._year(year).ordinals
        index = bisect_right(days, ordinal)
        while n > index:
            n -= index
            year -= 1
            days = self._year(year).ordinals
            index = len(days)
        return date.fromordinal(days[index - n])

    def add_workdays(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (n < 0: before; n == 0: roll forward). See module doc."""
        ordinal = _as_day(start).toordinal()
        if n > 0:
            return self._forward(ordinal + 1, n)
        if n < 0:
            return self._backward(ordinal - 1, -n)
        return self._forward(ordinal, 1)

    def notice_end(self, published: date, n: int) -> date:
        """The last day of a notice of ``n`` working days published on ``published`` (see module doc)."""
        if n < 1:
            raise ValueError(f"a notice lasts at least 1 working day, got {n}")
        return self._forward(_as_day(published).toordinal(), n)

    def workdays_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; negative when b < a (see module doc)."""
        low, high = _as_day(a).toordinal(), _as_day(b).toordinal()
        if low > high:
            return -self.workdays_between(b, a)
        if low == high:
            return 0
        count = 0
        for year in range(_year_of(low + 1), _year_of(high) + 1):
            days = self._year(year).ordinals
            count += bisect_right(days, high) - bisect_right(days, low)
        return count

    def known_range(self, around: date | None = None) -> tuple[date, date]:
        """First and last day of the run of consecutive known years around ``around``'s year.

        Without ``around``: the run that holds ``chinesecalendar``'s newest year, extended by
        imported adjacent years (an imported far-off year such as a test year does not stretch it).
        """
        anchor = _LIBRARY_YEARS[-1] if around is None else _as_day(around).year
        if anchor not in self._known:
            raise DeadlinePastCalendar(anchor)
        low = high = anchor
        while low - 1 in self._known:
            low -= 1
        while high + 1 in self._known:
            high += 1
        return date(low, 1, 1), date(high, 12, 31)


def _kind(entry: DayOverride) -> str:
    return "working day" if entry.workday else "holiday"


# -- expression helpers ---------------------------------------------------------------------------

_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}[T ].+")
_TIME_TEXT = re.compile(r"\d{2}:\d{2}(:\d{2})?")


def _parse_day(value: object, what: str) -> date:
    if isinstance(value, date):
        return _as_day(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            if _DATE_TEXT.fullmatch(text):
                return date.fromisoformat(text)
            if _DATETIME_TEXT.fullmatch(text):
                return _as_day(datetime.fromisoformat(text))
        except ValueError:
            pass
        raise ExpressionError(
            f"{what}: {value!r} is not an ISO date such as '2022-09-30' or '2022-09-30T10:00:00+08:00'"
        )
    raise ExpressionError(f"{what}: expected a date or an ISO date string, got {type(value).__name__}")


def _parse_count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ExpressionError(f"{what}: expected a whole number of working days, got {value!r}")
    return value


def expression_functions(cal: WorkCalendar) -> dict[str, Callable[..., Any]]:
    """Functions the sandbox offers to BPMN expressions, bound to ``cal``.

    Dates may be given as ``date``, ``datetime`` or ISO strings; dates come back as ISO date strings
    (``"2022-10-11"``), ``workdays_between`` as an int, ``deadline_at`` as an ISO datetime with the
    Shanghai offset (``"2022-10-11T17:00:00+08:00"``), which a timeDate timer event accepts. The
    timer fires once that instant has passed. Bad arguments raise ``ExpressionError``; an unknown
    year raises ``DeadlinePastCalendar``.
    """

    def notice_end(published: object, n: object) -> str:
        days = _parse_count(n, "notice_end")
        if days < 1:
            raise ExpressionError(f"notice_end: a notice lasts at least 1 working day, got {days}")
        return cal.notice_end(_parse_day(published, "notice_end"), days).isoformat()

    def add_workdays(start: object, n: object) -> str:
        return cal.add_workdays(
            _parse_day(start, "add_workdays"), _parse_count(n, "add_workdays")
        ).isoformat()

    def workdays_between(a: object, b: object) -> int:
        return cal.workdays_between(_parse_day(a, "workdays_between"), _parse_day(b, "workdays_between"))

    def deadline_at(day: object, time: object = "17:00") -> str:
        if not isinstance(time, str) or not _TIME_TEXT.fullmatch(time.strip()):
            raise ExpressionError(f"deadline_at: time must look like '17:00' or '17:00:00', got {time!r}")
        try:
            at = clock_time.fromisoformat(time.strip())
        except ValueError:
            raise ExpressionError(f"deadline_at: {time!r} is not a valid time of day") from None
        return datetime.combine(_parse_day(day, "deadline_at"), at, tzinfo=SHANGHAI).isoformat()

    return {
        "notice_end": notice_end,
        "add_workdays": add_workdays,
        "workdays_between": workdays_between,
        "deadline_at": deadline_at,
    }
