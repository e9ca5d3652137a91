"""The working-day calendar as the database holds it, and the functions BPMN expressions call.

Contract
    ``load_calendar(session)`` builds a ``WorkCalendar`` from the ``calendar_day`` overrides and the
    ``calendar_year`` known years, as the session's transaction sees them. ``import_year(session,
    imported, now)`` stores one year's official schedule (see ``ImportResult`` for what it reports).
    ``expression_functions()`` are ``notice_end``, ``add_workdays``, ``workdays_between`` and
    ``deadline_at`` for BPMN expressions; each call reads the calendar of the command that is
    running (see below). The engine offers them by default and records their results.

Why read the tables on every command
    An admin import must count for the very next command, in every process, without a restart;
    any in-process cache would need cross-process invalidation. The tables are small (a few dozen
    rows a year), so the first calendar function called in a transaction reads both tables whole
    (two indexed selects) and the rest of the transaction reuses that calendar. The content read
    is also the cache key of the built ``WorkCalendar`` (whose per-year tables are the costly
    part): unchanged content reuses the calendar, any change — through ``import_year`` or an
    admin's SQL — builds a new one. Nothing else needs invalidating.

Why the engine records these results
    A later import can change what ``notice_end`` answers for the same arguments. The engine
    writes each result into the step's history event and replay hands it back (see
    ``workflow.scripting.recorded``), so a case replays as it ran. ``FUNCTION_NAMES`` lists the
    names the engine records.

How the functions find the command's transaction
    While the engine runs a step it puts the command's session in the step's log
    (``workflow.scripting.step_session()``); the functions read through it, so they see what the
    command's transaction sees, including an import made earlier in the same transaction.

Re-importing a year
    Importing replaces that year's stored days as a whole and marks the year known. The same
    source (announcement title) may be imported again, to correct a typo: the result names the
    days that changed, and an identical file changes nothing. A *different* source for a year
    already stored is refused unless ``replace=True`` (``--replace``): a supplementary notice
    usually adds to the first one, and silently dropping days the first one listed would move
    deadlines. Timers already waiting keep the due time computed when they started; the result
    counts those that fall due in the imported year so that an administrator can review them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from . import journal
from .calendar import DayOverride, WorkCalendar
from .calendar import expression_functions as bound_functions
from .calendar_io import ImportedYear
from .clock import SHANGHAI
from .errors import InvalidData, WorkflowFailed
from .store import CalendarDay, CalendarYear, Timer

__all__ = ["FUNCTION_NAMES", "ImportResult", "expression_functions", "import_year", "load_calendar"]

FUNCTION_NAMES = frozenset({"notice_end", "add_workdays", "workdays_between", "deadline_at"})

_IMPORT_LOCK = 0x5359_0000  # + year: the advisory lock key of a year's import on PostgreSQL
_MEMO = "shanyu_calendar"  # session.info key: (transaction, built calendar) of that transaction
_BUILT_MAX = 8

_Key = tuple[tuple[tuple[date, bool, str], ...], tuple[int, ...]]


@dataclass(frozen=True)
class _Built:
    calendar: WorkCalendar
    functions: dict[str, Callable[..., Any]]


_built: OrderedDict[_Key, _Built] = OrderedDict()
_built_lock = threading.Lock()


def load_calendar(session: Session) -> WorkCalendar:
    """The calendar as the session's current transaction sees the two tables."""
    return _load(session).calendar


def _load(session: Session) -> _Built:
    memo = session.info.get(_MEMO)
    transaction = session.get_transaction()
    if memo is not None and transaction is not None and memo[0] is transaction:
        return memo[1]  # type: ignore[no-any-return]
    days = session.execute(
        select(CalendarDay.day, CalendarDay.workday, CalendarDay.name).order_by(CalendarDay.day)
    ).all()
    years = session.execute(select(CalendarYear.year).order_by(CalendarYear.year)).scalars().all()
    key: _Key = (tuple((d, bool(w), n or "") for d, w, n in days), tuple(years))
    with _built_lock:
        built = _built.get(key)
        if built is not None:
            _built.move_to_end(key)
    if built is None:
        calendar = WorkCalendar([DayOverride(d, w, n) for d, w, n in key[0]], known_years=key[1])
        built = _Built(calendar, bound_functions(calendar))
        with _built_lock:
            _built[key] = built
            while len(_built) > _BUILT_MAX:
                _built.popitem(last=False)
    session.info[_MEMO] = (session.get_transaction(), built)
    return built


def _current() -> _Built:
    from .scripting import step_session  # here: the calendar commands need no script engine (SpiffWorkflow)

    session = step_session()
    if session is None:
        raise WorkflowFailed(
            "The working-day functions (notice_end, add_workdays, workdays_between) read the calendar "
            "of the running command and can only be called while a case runs a step: in scripts, "
            "conditions and timer expressions, not in correlation keys."
        )
    return _load(session)


def expression_functions() -> dict[str, Callable[..., Any]]:
    """The working-day functions for BPMN expressions (semantics: ``workflow.calendar``), each
    reading the calendar of the running command. ``deadline_at`` needs no calendar."""
    template = bound_functions(WorkCalendar())

    def reading(name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            return _current().functions[name](*args, **kwargs)

        call.__name__ = name
        call.__doc__ = template[name].__doc__
        return call

    return {
        name: (template[name] if name == "deadline_at" else reading(name)) for name in sorted(FUNCTION_NAMES)
    }


# -- import ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportResult:
    """What ``import_year`` did. ``status``: ``imported`` (the year was not stored), ``replaced``
    (stored days changed; ``changed`` lists the days added, removed or altered) or ``unchanged``."""

    year: int
    source: str
    days: int
    status: str
    previous_source: str | None
    changed: tuple[date, ...]
    waiting_timers: int  # timers waiting to fall due in this year, due times computed before

    def to_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "source": self.source,
            "days": self.days,
            "status": self.status,
            "previous_source": self.previous_source,
            "changed": [d.isoformat() for d in self.changed],
            "waiting_timers": self.waiting_timers,
        }


def import_year(
    session: Session, imported: ImportedYear, now: datetime, *, replace: bool = False, actor: str = "cli"
) -> ImportResult:
    """Store one year's official schedule in the caller's write transaction (see module doc)."""
    year = imported.year
    first, last = date(year, 1, 1), date(year, 12, 31)
    wanted: dict[date, tuple[bool, str]] = {}
    for entry in imported.days:
        if not first <= entry.day <= last:
            raise InvalidData(
                f"{entry.day.isoformat()} is not in {year}, the year being imported.", year=year
            )
        if entry.day in wanted:
            raise InvalidData(f"{entry.day.isoformat()} is listed twice for {year}.", year=year)
        wanted[entry.day] = (entry.workday, entry.name)
    if not wanted:
        raise InvalidData(f"The schedule for {year} lists no days.", year=year)
    if session.get_bind().dialect.name == "postgresql":
        # Two imports of a year nobody has stored yet would both insert its days; the second then
        # fails on the key. Serialise them per year (SQLite's BEGIN IMMEDIATE already does): the
        # second waits, then sees the first one's rows.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _IMPORT_LOCK + year})
    stored_year = session.get(CalendarYear, year)
    previous = stored_year.source if stored_year is not None else None
    if stored_year is not None and previous != imported.source and not replace:
        raise InvalidData(
            f"The calendar for {year} was imported on {stored_year.imported_at.astimezone(SHANGHAI):%Y-%m-%d} "
            f"from {previous!r}; this file is from {imported.source!r}. Importing it replaces the whole "
            f"stored schedule for {year}, including days only the earlier announcement lists. If the new "
            f"announcement supersedes the old one, import it with --replace; if it adds to it, put the days "
            f"of both announcements in one file.",
            year=year,
            stored_source=previous,
            file_source=imported.source,
        )
    stored = {
        d: (bool(w), n or "", s or "")
        for d, w, n, s in session.execute(
            select(CalendarDay.day, CalendarDay.workday, CalendarDay.name, CalendarDay.source).where(
                CalendarDay.day >= first, CalendarDay.day <= last
            )
        )
    }
    changed = tuple(
        sorted(
            d
            for d in set(stored) | set(wanted)
            if d not in stored or d not in wanted or stored[d] != (*wanted[d], imported.source)
        )
    )
    if stored_year is None or changed or previous != imported.source:
        session.execute(delete(CalendarDay).where(CalendarDay.day >= first, CalendarDay.day <= last))
        session.execute(
            insert(CalendarDay),
            [
                {"day": d, "workday": w, "name": n, "source": imported.source}
                for d, (w, n) in sorted(wanted.items())
            ],
        )
        if stored_year is None:
            session.add(CalendarYear(year=year, source=imported.source, imported_at=now))
        else:
            stored_year.source, stored_year.imported_at = imported.source, now
        session.flush()
        session.info.pop(_MEMO, None)
        status = "imported" if stored_year is None and not stored else "replaced"
    else:
        status = "unchanged"
    waiting = session.execute(
        select(func.count())
        .select_from(Timer)
        .where(
            Timer.state == "waiting",
            Timer.due_at >= datetime.combine(first, time.min, tzinfo=SHANGHAI),
            Timer.due_at <= datetime.combine(last, time.max, tzinfo=SHANGHAI),
        )
    ).scalar_one()
    if status != "unchanged":
        journal.record(session, "calendar_imported", actor=actor, at=now, payload={
            "year": year, "source": imported.source, "days": len(wanted), "status": status,
            "changed_days": len(changed) if status == "replaced" else 0})
    return ImportResult(
        year,
        imported.source,
        len(wanted),
        status,
        previous,
        changed if status == "replaced" else (),
        int(waiting),
    )
