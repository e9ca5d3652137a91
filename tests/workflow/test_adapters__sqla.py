"""Pins the one private SQLAlchemy use (workflow/adapters/sqla.py): the compiled statement's bind
processors, by bind name, are the processors its types give for the dialect, and a value they
convert is stored as the ORM stores it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, insert
from sqlalchemy.dialects import postgresql, sqlite

from workflow.adapters.sqla import bind_processors
from workflow.store import HumanTask, UTCDateTime, table_of


def test_bind_processors_are_the_types_own_for_each_dialect() -> None:
    statement = insert(table_of(HumanTask)).values(due_at=bindparam("due"), name=bindparam("name"))
    moment = datetime(2022, 9, 29, 9, 30, tzinfo=UTC)
    for dialect in (sqlite.dialect(), postgresql.psycopg.dialect()):
        processors = bind_processors(statement.compile(dialect=dialect))
        assert "due" in processors  # a UTCDateTime bind is processed
        expected = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
        assert expected is not None
        assert processors["due"](moment) == expected(moment)
        assert processors.get("name") is None or processors["name"]("x") == "x"
