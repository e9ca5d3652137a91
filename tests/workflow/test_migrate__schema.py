"""The Alembic migrations build exactly the schema of ``workflow.store``'s models, on SQLite and on
PostgreSQL: every table, nothing for autogenerate to add or change, and upgrading again changes nothing.

The ``db`` fixture creates its schema with ``create_all``; these tests need an empty database instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import PgSchema, postgres_url
from workflow import migrate
from workflow.store import Base, Database, LaneRole

MODEL_TABLES = set(Base.metadata.tables)


@pytest.fixture
def empty_db(backend: str, tmp_path: Path) -> Iterator[Database]:
    """A database (SQLite file, or a throwaway PostgreSQL schema) without any table."""
    if backend == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
        yield database
        database.dispose()
        return
    schema = PgSchema(postgres_url() or "")
    database = schema.database()
    try:
        yield database
    finally:
        database.dispose()
        schema.drop()


def tables(db: Database) -> set[str]:
    return set(inspect(db.engine).get_table_names())


def columns(db: Database) -> dict[str, list[tuple[str, str, bool]]]:
    found = inspect(db.engine)
    return {
        name: [(c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(name)]
        for name in sorted(MODEL_TABLES)
    }


def differences(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))


def test_the_comparison_sees_missing_tables(empty_db: Database) -> None:
    """Guards the test below: on an empty database autogenerate wants to add every model table."""
    assert tables(empty_db) == set()
    added = {diff[1].name for diff in differences(empty_db) if diff[0] == "add_table"}
    assert added == MODEL_TABLES


def test_upgrade_creates_every_table_of_the_models(empty_db: Database) -> None:
    revision = migrate.upgrade(empty_db)
    assert revision == migrate.head_revision() == migrate.script_head() != ""
    assert migrate.current_revision(empty_db) == migrate.stored_revision(empty_db) == revision
    assert tables(empty_db) == MODEL_TABLES | {"alembic_version"}


def test_the_migrated_schema_matches_the_models(empty_db: Database) -> None:
    migrate.upgrade(empty_db)
    assert differences(empty_db) == []


def test_upgrading_twice_changes_nothing(empty_db: Database) -> None:
    first = migrate.upgrade(empty_db)
    with empty_db.write() as session:
        session.add(LaneRole(lane="区有关部门", role="district_staff"))
    before = columns(empty_db)

    assert migrate.upgrade(empty_db) == first
    assert migrate.current_revision(empty_db) == first
    assert tables(empty_db) == MODEL_TABLES | {"alembic_version"}
    assert columns(empty_db) == before
    with empty_db.read() as session:
        assert session.execute(select(LaneRole.lane, LaneRole.role)).all() == [
            ("区有关部门", "district_staff")
        ]
        assert session.scalar(text("SELECT count(*) FROM alembic_version")) == 1


def test_downgrade_to_base_removes_every_table(empty_db: Database) -> None:
    migrate.upgrade(empty_db)
    cfg = migrate.alembic_config()
    with empty_db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert tables(empty_db) == {"alembic_version"}
    assert migrate.current_revision(empty_db) is None
    assert migrate.stored_revision(empty_db) is None
    assert migrate.upgrade(empty_db) == migrate.head_revision()
    assert differences(empty_db) == []



def test_0004_keeps_the_inbox_rows_and_keys_them_by_case(empty_db: Database) -> None:
    """An inbox written under 0003 survives the new key; the key still refuses a second row for a task."""
    cfg = migrate.alembic_config()
    with empty_db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
    at = {"at": datetime(2026, 11, 29, 20, 0)}
    row = ("INSERT INTO human_task (id, instance_id, task_id, process_id, bpmn_id, name, state, created_at) "
           "VALUES (:id, 1, :task, 'p', 'b', '任务', 'ready', :at)")
    with empty_db.engine.begin() as conn:
        conn.execute(text("INSERT INTO bundle (content_hash, files, created_at) VALUES ('h', '[]', :at)"), at)
        conn.execute(text("INSERT INTO process_version (id, process_id, version, name, bundle_hash, deployed_at, "
                          "deployed_by) VALUES (1, 'p', 1, '', 'h', :at, 'u')"), at)
        conn.execute(text("INSERT INTO instance (id, process_version_id, process_id, status, started_by, started_at, "
                          "updated_at, lock_version, state_token, meta, event_count, head_hash) "
                          "VALUES (1, 1, 'p', 'running', 'u', :at, :at, 0, '', '{}', 0, '')"), at)
        conn.execute(text(row), {"id": 7, "task": "task-a", **at})

    migrate.upgrade(empty_db)
    assert differences(empty_db) == []
    with empty_db.engine.connect() as conn:
        assert conn.execute(text("SELECT id, task_id, state FROM human_task")).all() == [(7, "task-a", "ready")]
    with pytest.raises(IntegrityError):
        with empty_db.engine.begin() as conn:
            conn.execute(text(row), {"id": 8, "task": "task-a", **at})


def test_0011_fills_each_cases_cycle_from_its_start_event(empty_db: Database) -> None:
    cfg = migrate.alembic_config()
    with empty_db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")
    at = {"at": datetime(2026, 12, 3, 16, 0)}
    with empty_db.engine.begin() as conn:
        conn.execute(text("INSERT INTO bundle (content_hash, files, created_at) VALUES ('h', '[]', :at)"), at)
        conn.execute(text("INSERT INTO process_version (id, process_id, version, name, bundle_hash, deployed_at, "
                          "deployed_by) VALUES (1, 'p', 1, '', 'h', :at, 'u')"), at)
        for iid, payload in [(1, '{"data": {"cycle_id": "2021-2022", "district": "310101"}}'),
                             (2, '{"data": {"district": "310101"}}'), (3, "not json"), (4, '{"data": {"cycle_id": 7}}')]:
            conn.execute(text("INSERT INTO instance (id, process_version_id, process_id, status, started_by, "
                              "started_at, updated_at, lock_version, state_token, meta, event_count, head_hash) "
                              "VALUES (:id, 1, 'p', 'running', 'u', :at, :at, 0, '', '{}', 1, '')"), {"id": iid, **at})
            conn.execute(text("INSERT INTO history_event (instance_id, seq, type, at, actor, payload, state_digest, "
                              "prev_hash, hash) VALUES (:id, 1, 'instance_started', 'x', 'u', :payload, '', '', "
                              ":hash)"), {"id": iid, "payload": payload, "hash": f"h{iid}"})
    migrate.upgrade(empty_db)
    assert differences(empty_db) == []
    with empty_db.engine.connect() as conn:
        found = conn.execute(text("SELECT id, cycle_id FROM instance ORDER BY id")).all()
    assert found == [(1, "2021-2022"), (2, None), (3, None), (4, "7")]
