"""SQLAlchemy internals used by ``workflow.fastsql``, pinned by tests/workflow/test_adapters__sqla.py.

``Prepared`` runs a compiled Core statement on the DBAPI cursor itself (docs/performance.md says
why). It must convert each parameter exactly as SQLAlchemy would, so it takes the compiled
statement's own bind processors, which SQLAlchemy keeps in ``SQLCompiler._bind_processors``
(bind name -> processor, only for binds whose type needs one).
"""

from __future__ import annotations

from typing import Any


def bind_processors(compiled: Any) -> dict[str, Any]:
    """The compiled statement's bind processors by bind name (a copy)."""
    return dict(compiled._bind_processors)
