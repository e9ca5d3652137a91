"""The working-day functions offered to BPMN expressions: loose inputs, ISO string outputs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from workflow.calendar import WorkCalendar, expression_functions
from workflow.clock import SHANGHAI
from workflow.errors import DeadlinePastCalendar, ExpressionError


@pytest.fixture(scope="module")
def fn() -> dict[str, Callable[..., Any]]:
    return expression_functions(WorkCalendar())


def test_offers_exactly_these_functions(fn: dict[str, Callable[..., Any]]) -> None:
    assert sorted(fn) == ["add_workdays", "deadline_at", "notice_end", "workdays_between"]


@pytest.mark.parametrize(
    "published",
    [
        "2022-09-30",
        " 2022-09-30 ",
        date(2022, 9, 30),
        datetime(2022, 9, 30, 10, 0, tzinfo=SHANGHAI),
        "2022-09-30T10:00:00+08:00",
        "2022-09-30 23:59:59+08:00",
        "2022-09-30T23:30:00",  # naive: Shanghai time
        "2022-09-29T20:00:00+00:00",  # 04:00 on Sept 30 in Shanghai
        "2022-09-29T20:00:00Z",
    ],
)
def test_notice_end_accepts_dates_datetimes_and_strings(
    fn: dict[str, Callable[..., Any]], published: object
) -> None:
    assert fn["notice_end"](published, 5) == "2022-10-11"


def test_utc_instant_after_shanghai_midnight_is_the_next_day(fn: dict[str, Callable[..., Any]]) -> None:
    # 17:00 UTC on Sept 30 is 01:00 on Oct 1 in Shanghai, a holiday: day 1 is Oct 8.
    assert fn["notice_end"]("2022-09-30T17:00:00Z", 5) == "2022-10-12"
    assert fn["notice_end"](datetime(2022, 9, 30, 17, 0, tzinfo=UTC), 5) == "2022-10-12"


def test_add_workdays_and_workdays_between(fn: dict[str, Callable[..., Any]]) -> None:
    assert fn["add_workdays"]("2022-09-30", 1) == "2022-10-08"
    assert fn["add_workdays"](date(2022, 10, 10), -3) == "2022-09-30"
    assert fn["add_workdays"]("2022-10-01T09:00:00+08:00", 0) == "2022-10-08"
    assert fn["workdays_between"]("2022-09-30", "2022-10-11T18:00:00+08:00") == 4
    assert fn["workdays_between"](date(2022, 10, 11), "2022-09-30") == -4


def test_deadline_at_gives_a_timer_date_in_shanghai(fn: dict[str, Callable[..., Any]]) -> None:
    assert fn["deadline_at"]("2022-10-11") == "2022-10-11T17:00:00+08:00"
    assert fn["deadline_at"](date(2022, 10, 11), "09:30") == "2022-10-11T09:30:00+08:00"
    assert fn["deadline_at"]("2022-10-11", time="23:59:59") == "2022-10-11T23:59:59+08:00"
    end = fn["deadline_at"](fn["notice_end"]("2022-09-30", 5))
    assert end == "2022-10-11T17:00:00+08:00"
    # SpiffWorkflow's timeDate timers read it as this instant.
    assert TimerEventDefinition.get_datetime(end) == datetime(2022, 10, 11, 9, 0, tzinfo=UTC)
    assert TimerEventDefinition.parse_time_or_duration(end) == datetime(2022, 10, 11, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "args", "fragment"),
    [
        ("notice_end", ("2022-02-30", 5), "not an ISO date"),
        ("notice_end", ("tomorrow", 5), "not an ISO date"),
        ("notice_end", ("20220930", 5), "not an ISO date"),
        ("notice_end", ("2022-09-30T25:00", 5), "not an ISO date"),
        ("notice_end", (20220930, 5), "expected a date"),
        ("notice_end", (None, 5), "expected a date"),
        ("notice_end", ("2022-09-30", "5"), "whole number"),
        ("notice_end", ("2022-09-30", 5.0), "whole number"),
        ("notice_end", ("2022-09-30", True), "whole number"),
        ("notice_end", ("2022-09-30", 0), "at least 1"),
        ("add_workdays", ("2022-09-30", None), "whole number"),
        ("workdays_between", ("2022-09-30", "soon"), "not an ISO date"),
        ("deadline_at", ("2022-10-11", "5pm"), "time must look like"),
        ("deadline_at", ("2022-10-11", "25:00"), "not a valid time"),
        ("deadline_at", ("2022-10-11", 17), "time must look like"),
    ],
)
def test_bad_arguments_raise_expression_error(
    fn: dict[str, Callable[..., Any]], name: str, args: tuple[object, ...], fragment: str
) -> None:
    with pytest.raises(ExpressionError, match=fragment) as caught:
        fn[name](*args)
    assert name in str(caught.value)


def test_unknown_year_propagates(fn: dict[str, Callable[..., Any]]) -> None:
    with pytest.raises(DeadlinePastCalendar) as caught:
        fn["notice_end"]("2026-12-30", 5)
    assert caught.value.year == 2027
    assert "shanyu calendar import" in str(caught.value)
