"""Hot-path statements, compiled once per dialect and run on the driver's cursor.

A task completion sends about seven statements. Through SQLAlchemy's execution machinery each
costs 40–60 µs of Python before the database sees it, several times what SQLite needs to run it
(see docs/performance.md). ``Prepared`` keeps the statement written in SQLAlchemy Core (one source
of truth for both dialects), compiles it once per dialect, and executes it on the DBAPI cursor of
the session's connection, inside the same transaction. It applies the compiled statement's own
bind processors (so ``UTCDateTime`` values are stored exactly as the ORM stores them) and fills
literal values from the statement; result rows come back raw (``as_utc`` converts time columns).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: tuple[str, ...] | None  # bind names in order, for qmark drivers (sqlite3)
    defaults: dict[str, Any]  # literal values written into the statement
    processors: dict[str, Any]  # bind name -> type processor


class Prepared:
    """One Core statement, run on the raw cursor. Not for statements that expand lists (``IN``)."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Any) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled: Any = self.statement.compile(dialect=dialect)
            defaults = {name: bind.value for name, bind in compiled.binds.items()
                        if not bind.required and not name.startswith("%(")}
            found = _Compiled(compiled.string, tuple(compiled.positiontup) if compiled.positional else None,
                              defaults, dict(compiled._bind_processors))
            self._compiled[dialect.name] = found
        return found

    def _params(self, compiled: _Compiled, given: Mapping[str, Any]) -> Any:
        values = {**compiled.defaults, **given} if compiled.defaults else dict(given)
        for name, process in compiled.processors.items():
            if name in values and values[name] is not None:
                values[name] = process(values[name])
        if compiled.positional is not None:
            return tuple(values[name] for name in compiled.positional)
        return values

    def execute(self, session: Session, params: Mapping[str, Any]) -> Any:
        """Run once; returns the DBAPI cursor (``fetchone``, ``rowcount``)."""
        conn = session.connection()
        compiled = self._for(conn.dialect)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(compiled.sql, self._params(compiled, params))
        return cursor

    def executemany(self, session: Session, rows: Iterable[Mapping[str, Any]]) -> None:
        conn = session.connection()
        compiled = self._for(conn.dialect)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.executemany(compiled.sql, [self._params(compiled, row) for row in rows])
        cursor.close()


def as_utc(value: Any) -> datetime | None:
    """A time column read raw: SQLite gives text, PostgreSQL a naive datetime; both mean UTC."""
    if value is None:
        return None
    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def row_dict(cursor: Any, row: Sequence[Any]) -> dict[str, Any]:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}
