"""Time as a parameter.

Nothing in ``workflow/`` calls ``datetime.now()``: commands receive ``now`` from a ``Clock`` that
the edge (CLI, web, scheduler, tests) owns. All instants are timezone-aware UTC; business dates
are shown in Asia/Shanghai (``SHANGHAI``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The real clock (UTC)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock tests and simulations move by hand. Never goes backwards unless told to."""

    def __init__(self, start: datetime | str = "2022-01-04T09:00:00+08:00") -> None:
        self._now = ensure_utc(start)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime | str) -> None:
        self._now = ensure_utc(when)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now = self._now + (delta or timedelta(**kwargs))
        return self._now


def ensure_utc(value: datetime | str) -> datetime:
    """Parse an ISO string or take a datetime; naive values are read as Shanghai time."""
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=SHANGHAI)
    return dt.astimezone(UTC)


def iso(dt: datetime) -> str:
    """Canonical UTC ISO text used in the database and in history."""
    return ensure_utc(dt).isoformat()


def shanghai_text(value: datetime | str | None, *, seconds: bool = True) -> str:
    """An instant for people: ``2022-10-11 17:00:00+08:00`` (Asia/Shanghai); ``-`` for none."""
    if value is None:
        return "-"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # stored instants are UTC
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S+08:00" if seconds else "%Y-%m-%d %H:%M+08:00")
