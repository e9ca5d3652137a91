"""Hot-path statements, compiled once per dialect and run on the driver's cursor.

A task completion sends about seven statements. Through SQLAlchemy's execution machinery each
costs 40–60 µs of Python before the database sees it, several times what SQLite needs to run it
(see docs/performance.md). ``Prepared`` keeps the statement written in SQLAlchemy Core (one source
of truth for both dialects), compiles it once per dialect, and executes it on the DBAPI connection
of the session's transaction. It applies the compiled statement's own bind processors (so
``UTCDateTime`` values are stored exactly as the ORM stores them; that type's processor is
replaced by its equivalent ``fast_bind``) and fills literal values from the statement; result
rows come back raw (``as_utc`` converts time columns).

``Database.write()`` puts the transaction's driver connection into ``session.info`` under
``DRIVER`` for the length of the transaction, which saves asking the session for its connection
on every statement; any other session is asked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement

from .adapters.sqla import bind_processors

DRIVER = "shanyu.driver"  # session.info key: (dialect, DBAPI connection) of the open write transaction

_Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: tuple[str, ...] | None  # bind names in order, for qmark drivers (sqlite3)
    defaults: dict[str, Any]  # literal values written into the statement
    processors: dict[str, Any]  # bind name -> type processor
    # positional drivers (sqlite3): the values in bind order from the merged parameters, and the
    # positions whose values a processor converts
    take: Callable[[Mapping[str, Any]], Sequence[Any]] | None
    convert: tuple[tuple[int, Callable[[Any], Any]], ...]


def _taker(names: tuple[str, ...]) -> Callable[[Mapping[str, Any]], Sequence[Any]]:
    """A function giving the values of ``names``, in order, from a mapping (as a sequence)."""
    if not names:
        return lambda values: ()
    if len(names) == 1:  # itemgetter of one name gives the value itself, not a tuple
        only = names[0]
        return lambda values: (values[only],)
    getter: Callable[[Mapping[str, Any]], Sequence[Any]] = itemgetter(*names)
    return getter


def driver_of(session: Session) -> tuple[Dialect, Any]:
    """The dialect and DBAPI connection of the session's transaction."""
    found: tuple[Dialect, Any] | None = session.info.get(DRIVER)
    if found is None:
        conn = session.connection()
        found = (conn.dialect, conn.connection.driver_connection)
    return found


class Prepared:
    """One Core statement, run on the raw cursor. Not for statements that expand lists (``IN``)."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}
        self._last: tuple[Dialect, _Compiled] | None = None  # the dialect it last ran on

    def _for(self, dialect: Dialect) -> _Compiled:
        last = self._last
        if last is not None and last[0] is dialect:
            return last[1]
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compile(dialect)
        self._last = (dialect, found)
        return found

    def _compile(self, dialect: Dialect) -> _Compiled:
        from .store import UTCDateTime

        dialect_name = dialect.name
        compiled: Any = self.statement.compile(dialect=dialect)
        defaults = {name: bind.value for name, bind in compiled.binds.items()
                    if not bind.required and not name.startswith("%(")}
        processors = bind_processors(compiled)
        for name in processors:
            bind = compiled.binds.get(name)
            if bind is not None and isinstance(bind.type, UTCDateTime):
                processors[name] = UTCDateTime.fast_bind(dialect_name)
        positional = tuple(compiled.positiontup) if compiled.positional else None
        take: Callable[[Mapping[str, Any]], Sequence[Any]] | None = None
        convert: tuple[tuple[int, Callable[[Any], Any]], ...] = ()
        if positional is not None:
            take = _taker(positional)
            convert = tuple((i, process) for i, name in enumerate(positional)
                            if (process := processors.get(name)) is not None)
        found = _Compiled(compiled.string, positional, defaults, processors, take, convert)
        self._compiled[dialect_name] = found
        return found

    @staticmethod
    def _params(compiled: _Compiled, given: Mapping[str, Any]) -> Any:
        values = {**compiled.defaults, **given} if compiled.defaults else given
        take = compiled.take
        if take is not None:
            row = take(values)
            if not compiled.convert:
                return row
            out = list(row)
            for i, process in compiled.convert:
                value = out[i]
                if value is not None:
                    out[i] = process(value)
            return out
        converted = dict(values)
        for name, process in compiled.processors.items():
            if converted.get(name) is not None:
                converted[name] = process(converted[name])
        return converted

    def execute(self, session: Session, params: Mapping[str, Any]) -> Any:
        """Run once; returns the DBAPI cursor (``fetchone``, ``rowcount``)."""
        dialect, driver = driver_of(session)
        compiled = self._for(dialect)
        cursor = driver.cursor()
        cursor.execute(compiled.sql, self._params(compiled, params))
        return cursor

    def fetchall(self, session: Session, params: Mapping[str, Any]) -> list[Any]:
        """Run once, close the cursor; returns every row (raw: time columns need ``as_utc``)."""
        cursor = self.execute(session, params)
        try:
            rows: list[Any] = cursor.fetchall()
            return rows
        finally:
            cursor.close()

    def run(self, session: Session, params: Mapping[str, Any]) -> int:
        """Run once, close the cursor; returns the number of rows the statement changed."""
        cursor = self.execute(session, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def executemany(self, session: Session, rows: Iterable[Mapping[str, Any]]) -> None:
        dialect, driver = driver_of(session)
        compiled = self._for(dialect)
        cursor = driver.cursor()
        cursor.executemany(compiled.sql, [self._params(compiled, row) for row in rows])
        cursor.close()


def as_utc(value: Any) -> datetime | None:
    """A time column read raw: SQLite gives text, PostgreSQL a naive datetime; both mean UTC."""
    if value is None:
        return None
    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

