"""Schema migrations (Alembic), run by ``shanyu init`` and at server start.

Every other CLI command only checks that the database is at the newest revision: ``stored_revision``
reads the ``alembic_version`` row with plain SQL and ``script_head`` reads the revision ids from the
migration files' text, so that the check imports neither Alembic nor (through the revision
modules, which Alembic imports to find the head) the rest of Shanyu. ``tests/workflow/
test_migrate__schema.py`` checks that both agree with Alembic's own answers.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

from . import journal
from .store import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_REVISION = re.compile(r'^revision\s*=\s*"([^"]+)"', re.MULTILINE)
_DOWN = re.compile(r'^down_revision\s*=\s*(?:"([^"]+)"|None)', re.MULTILINE)


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(db: Database, *, actor: str = "system") -> str:
    """Bring the schema to the newest revision; returns that revision. A migration that ran is
    recorded in the system journal (from which revision to which)."""
    from alembic import command

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
    """The newest revision, as Alembic finds it (importing every revision module)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return head or ""


def current_revision(db: Database) -> str | None:
    """The database's revision, as Alembic reads it."""
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def script_head() -> str:
    """The newest revision, from the migration files' ``revision``/``down_revision`` lines: the
    one revision no other revision names as its predecessor (the history is linear)."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found, down = _REVISION.search(source), _DOWN.search(source)
        if found is None or down is None:
            continue
        revisions.add(found.group(1))
        if down.group(1):
            parents.add(down.group(1))
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"The migrations have {len(heads)} heads ({', '.join(sorted(heads))}); expected one.")
    return heads.pop()


def stored_revision(db: Database) -> str | None:
    """The database's revision (``alembic_version``), or None when it has none yet."""
    with db.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
