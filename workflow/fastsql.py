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

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
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
    slots: tuple[tuple[str, _Processor], ...]  # positional drivers: (bind name, processor) in order


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

    def _for(self, dialect: Dialect) -> _Compiled:
        dialect_name = dialect.name
        found = self._compiled.get(dialect_name)
        if found is None:
            from .store import UTCDateTime

            compiled: Any = self.statement.compile(dialect=dialect)
            defaults = {name: bind.value for name, bind in compiled.binds.items()
                        if not bind.required and not name.startswith("%(")}
            processors = bind_processors(compiled)
            for name in processors:
                bind = compiled.binds.get(name)
                if bind is not None and isinstance(bind.type, UTCDateTime):
                    processors[name] = UTCDateTime.fast_bind(dialect_name)
            positional = tuple(compiled.positiontup) if compiled.positional else None
            slots = tuple((name, processors.get(name)) for name in positional or ())
            found = _Compiled(compiled.string, positional, defaults, processors, slots)
            self._compiled[dialect_name] = found
        return found

    @staticmethod
    def _params(compiled: _Compiled, given: Mapping[str, Any]) -> Any:
        values = {**compiled.defaults, **given} if compiled.defaults else given
        if compiled.positional is not None:
            out = []
            for name, process in compiled.slots:
                value = values[name]
                out.append(value if process is None or value is None else process(value))
            return tuple(out)
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

