"""Where Shanyu reaches past a library's public API: one module per library.

Everything that reads or writes a ``_``-prefixed attribute of SpiffWorkflow (``spiff``) or
SQLAlchemy (``sqla``) objects lives here and nowhere else in ``workflow/``, and each such use is
pinned by a test in ``tests/workflow/test_adapters__*.py``, so that an upgrade of either library
that changes one of them fails there, by name, instead of silently changing stored state.
"""
