"""SQLAlchemy internals used by ``workflow.fastsql`` and ``workflow.writes``, pinned by
tests/workflow/test_adapters__sqla.py and tests/workflow/test_store__transactions.py.

``connection_on`` wraps the pooled DBAPI connection a write transaction already began on in a
``Connection`` (the constructor's ``connection`` argument), so that the ORM joins the same
transaction only when a command uses it. The public way (``engine.connect()``, ``begin()`` and a
``Session`` bound to it) costs 30–90 µs more per command on SQLite, measured on this machine: a
sixth of a whole task completion (docs/performance.md).

``Prepared`` runs a compiled Core statement on the DBAPI cursor itself (docs/performance.md says
why). It must convert each parameter exactly as SQLAlchemy would, so it takes the compiled
statement's own bind processors, which SQLAlchemy keeps in ``SQLCompiler._bind_processors``
(bind name -> processor, only for binds whose type needs one).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection, Engine


def bind_processors(compiled: Any) -> dict[str, Any]:
    """The compiled statement's bind processors by bind name (a copy)."""
    return dict(compiled._bind_processors)


def connection_on(engine: Engine, pooled: Any) -> Connection:
    """A ``Connection`` of ``engine`` over ``pooled``, a connection checked out of its pool."""
    return Connection(engine, pooled)
