"""Shared fixtures: a fresh database per test (SQLite, and PostgreSQL where available), an engine,
a fake clock, users for each role.

PostgreSQL tests read ``SHANYU_TEST_POSTGRES_URL``. Without it they skip with the reason; under
CI (``CI=true``) a missing or unreachable PostgreSQL fails the run instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from workflow.clock import FakeClock
from workflow.consistency import CHECK_STATE_ENV
from workflow.engine import Engine
from workflow.store import Database
from workflow.users import Actor, add_user

BPMN = Path(__file__).parent / "bpmn"
PG_ENV = "SHANYU_TEST_POSTGRES_URL"
# Every engine the tests build loads each case it saves back from the database and compares
# (workflow.consistency); a test that means to run without it sets Engine(check_state=False).
os.environ.setdefault(CHECK_STATE_ENV, "1")


def _under_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def postgres_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url:
        if _under_ci():
            pytest.fail(f"CI=true but {PG_ENV} is not set: the PostgreSQL suite must run under CI.")
        pytest.skip(f"PostgreSQL suite skipped: set {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    return url


class PgSchema:
    """A throwaway schema, so that concurrent runs and tests never collide."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url
        self.name = f"t_{uuid.uuid4().hex[:12]}"
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{self.name}"'))
        except Exception as exc:  # noqa: BLE001
            if _under_ci():
                pytest.fail(f"PostgreSQL at {url} is unreachable under CI: {exc}")
            pytest.skip(f"PostgreSQL suite skipped: {url} unreachable ({exc.__class__.__name__})")

    def database(self) -> Database:
        os.environ["SHANYU_DATABASE_SCHEMA"] = self.name
        try:
            return Database(self.url)
        finally:
            del os.environ["SHANYU_DATABASE_SCHEMA"]

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
        self.admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db(backend: str, tmp_path: Path) -> Iterator[Database]:
    if backend == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'shanyu.db'}")
        database.create_all()
        yield database
        database.dispose()
        return
    schema = PgSchema(postgres_url() or "")
    database = schema.database()
    database.create_all()
    try:
        yield database
    finally:
        database.dispose()
        schema.drop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock("2022-01-04T09:00:00+08:00")


@pytest.fixture
def engine() -> Engine:
    return Engine()


@pytest.fixture
def users(db: Database, clock: FakeClock) -> dict[str, Actor]:
    """One user per role: district staff of 310101 and 310104, leadership, municipal staff, admin."""
    specs = {
        "huangpu": (["区有关部门"], "310101"),
        "huangpu2": (["区有关部门"], "310101"),
        "xuhui": (["区有关部门"], "310104"),
        "city": (["市有关部门"], None),
        "city2": (["市有关部门"], None),
        "auditor": (["auditor"], None),
        "admin": (["admin"], None),
    }
    actors = {}
    with db.write() as session:
        for name, (roles, district) in specs.items():
            actors[name] = add_user(session, name, roles, district=district, now=clock.now())
    return actors


def deploy(engine: Engine, db: Database, clock: FakeClock, *names: str) -> None:
    admin = Actor("admin", frozenset({"admin"}))
    files = {name: (BPMN / name).read_bytes() for name in names}
    with db.write() as session:
        engine.deploy(session, files, actor=admin, now=clock.now())


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo, seeded once per test session (on the fixed clock of ``tests.web.pages.NOW``)
    into a SQLite file that web and browser tests copy."""
    from tests.web.pages import sqlite_template

    yield from sqlite_template(tmp_path_factory.mktemp("demo-template"))
