"""``create_app``: defaults, then ``SHANYU_*`` environment variables, then the test config; the status
page and health endpoint read the configured database; importing ``web.app`` does nothing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import BPMN, PG_ENV, PgSchema, postgres_url
from web.app import create_app
from workflow import migrate
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.store import Database
from workflow.users import Actor

ROOT = Path(__file__).resolve().parents[2]
ADMIN = Actor("admin", frozenset({"admin"}))


@pytest.fixture(autouse=True)
def no_shanyu_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests start from the defaults, in a scratch directory (the default database lives in ./instance/)."""
    for name in list(os.environ):
        if name.startswith("SHANYU_") and name != PG_ENV:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def url(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated, empty database (SQLite file, or a throwaway PostgreSQL schema)."""
    if backend == "sqlite":
        address = f"sqlite:///{tmp_path / 'app.db'}"
        database = Database(address)
        migrate.upgrade(database)
        database.dispose()
        yield address
        return
    schema = PgSchema(postgres_url() or "")
    monkeypatch.setenv("SHANYU_DATABASE_SCHEMA", schema.name)
    database = Database(schema.url)
    try:
        migrate.upgrade(database)
        database.dispose()
        yield schema.url
    finally:
        schema.drop()


def shanyu_db(app: Flask) -> Database:
    db = app.extensions["shanyu"]["db"]
    assert isinstance(db, Database)
    return db


def start_a_case(db: Database) -> None:
    clock, engine = FakeClock(), Engine()
    with db.write() as session:
        engine.deploy(
            session,
            {"engine_basic.bpmn": (BPMN / "engine_basic.bpmn").read_bytes()},
            actor=ADMIN,
            now=clock.now(),
        )
        engine.start(session, "engine_basic", {"district": "310101"}, actor=ADMIN, now=clock.now())


def counts(body: str) -> dict[str, int]:
    return {name: int(value) for name, value in re.findall(r'data-count="(\w+)">(\d+)<', body)}


def test_status_page_is_chinese_and_counts_what_is_in_the_database(url: str) -> None:
    app = create_app({"DATABASE_URL": url, "TESTING": True})
    client = app.test_client()

    page = client.get("/status")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    body = page.get_data(as_text=True)
    assert '<html lang="zh-CN">' in body and "<title>运行状态 · 善育</title>" in body
    assert "上海市婴幼儿照护服务示范区创建工作流" in body
    assert counts(body) == {"processes": 0, "running": 0, "open_tasks": 0}

    start_a_case(shanyu_db(app))
    assert counts(client.get("/status").get_data(as_text=True)) == {"processes": 1, "running": 1, "open_tasks": 1}
    shanyu_db(app).dispose()


def test_the_inbox_needs_a_signed_in_user(url: str) -> None:
    app = create_app({"DATABASE_URL": url, "TESTING": True})
    answer = app.test_client().get("/")
    assert answer.status_code == 302 and answer.location.startswith("/login?next=/")
    shanyu_db(app).dispose()


def test_healthz_answers_ok_as_json(url: str) -> None:
    app = create_app({"DATABASE_URL": url, "TESTING": True})
    answer = app.test_client().get("/healthz")
    assert answer.status_code == 200
    assert answer.mimetype == "application/json"
    assert answer.get_json() == {"status": "ok"}
    shanyu_db(app).dispose()


def test_healthz_opens_no_session(url: str) -> None:
    """A probe shows nothing of anyone's: it neither reads a page's cookie nor sets one."""
    app = create_app({"DATABASE_URL": url, "TESTING": True})
    client = app.test_client()
    client.get("/lang/en")  # a page session (the language choice), whose cookie the client now sends
    assert client.get_cookie("session") is not None
    answer = client.get("/healthz")
    assert answer.get_json() == {"status": "ok"}
    assert "Set-Cookie" not in answer.headers and "Cookie" not in answer.headers.get("Vary", "")
    shanyu_db(app).dispose()


def test_healthz_fails_when_the_database_does_not_answer(tmp_path: Path) -> None:
    (tmp_path / "db").mkdir()  # a directory where the database file should be: SQLite cannot open it
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'db'}", "TESTING": False})
    assert app.test_client().get("/healthz").status_code == 500
    shanyu_db(app).dispose()


def test_database_url_comes_from_the_environment(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHANYU_DATABASE_URL", url)
    app = create_app()
    assert app.config["DATABASE_URL"] == url
    db = shanyu_db(app)
    assert db.url == url
    start_a_case(db)
    assert counts(app.test_client().get("/status").get_data(as_text=True))["processes"] == 1
    db.dispose()


def test_the_config_argument_wins_over_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHANYU_DATABASE_URL", f"sqlite:///{tmp_path / 'from_env.db'}")
    monkeypatch.setenv("SHANYU_SECRET_KEY", "from-the-environment")
    given = f"sqlite:///{tmp_path / 'given.db'}"
    app = create_app({"DATABASE_URL": given})
    assert shanyu_db(app).url == given
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert not (tmp_path / "from_env.db").exists()
    shanyu_db(app).dispose()


def test_secret_key_defaults_to_a_random_one_per_app(tmp_path: Path) -> None:
    config = {"DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"}
    first, second = create_app(config), create_app(config)
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] != second.config["SECRET_KEY"]
    for app in (first, second):
        shanyu_db(app).dispose()


def test_the_clock_is_the_one_given(tmp_path: Path) -> None:
    clock = FakeClock("2022-01-04T09:00:00+08:00")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"}, clock=clock)
    assert app.extensions["shanyu"]["clock"] is clock
    assert isinstance(app.extensions["shanyu"]["engine"], Engine)
    shanyu_db(app).dispose()


def test_importing_web_app_does_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHANYU_")}
    env.update(PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run(
        [sys.executable, "-c", "import web.app, web.cli; print(callable(web.app.create_app))"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "True"), done.stderr
    assert list(tmp_path.iterdir()) == []  # no ./instance/, no database file


def test_serve_keeps_one_secret_key_in_the_instance_folder(tmp_path: Path) -> None:
    from web.app import persistent_secret_key

    path = tmp_path / "instance" / "secret_key"
    first = persistent_secret_key(path)
    assert len(first) == 64 and persistent_secret_key(path) == first
    assert path.stat().st_mode & 0o777 == 0o600
    path.write_text("short\n")  # a damaged file is replaced, never used
    assert persistent_secret_key(path) not in (first, "short")
