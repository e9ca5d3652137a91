"""Commands other than init, demo and serve refuse a database ``shanyu init`` has not prepared, or
prepared at an older revision; the check reads the revision without Alembic (``migrate.stored_revision``,
``migrate.script_head``)."""

from __future__ import annotations

from tests.web.conftest import Shanyu
from workflow.migrate import head_revision


def test_an_older_or_missing_schema_is_refused_with_what_to_do(shanyu: Shanyu) -> None:
    fresh = shanyu.fails("tasks", "--json").error()
    assert fresh["error"] == "database_not_ready" and "run `shanyu init` first" in fresh["message"]
    shanyu.ok("init")
    assert shanyu.ok("tasks") == []
    shanyu.sql("UPDATE alembic_version SET version_num = '0007'")
    older = shanyu.fails("tasks").err
    assert f"has schema 0007, this Shanyu needs {head_revision()}: run `shanyu init` to upgrade it." in older
    shanyu.sql("DROP TABLE alembic_version")
    assert "no Shanyu schema yet" in shanyu.fails("tasks").err
