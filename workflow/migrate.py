"""Schema migrations (Alembic), run by ``shanyu init`` and at server start."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from . import journal
from .store import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(db: Database, *, actor: str = "system") -> str:
    """Bring the schema to the newest revision; returns that revision. A migration that ran is
    recorded in the system journal (from which revision to which)."""
    before = current_revision(db)
    cfg = alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    head = head_revision()
    if before != head:
        with db.write() as session:
            journal.record(session, "schema_migrated", actor=actor, at=datetime.now(UTC),
                           payload={"from": before, "to": head})
    return head


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return head or ""


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
