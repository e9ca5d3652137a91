"""Fixtures for the ``shanyu`` command line: ``shanyu`` runs ``web.cli.main`` in-process against a fresh
database (SQLite, and a throwaway PostgreSQL schema) and captures stdout, stderr and the exit status;
``ready`` adds users (``owner`` is the process owner) and deploys ``engine_basic`` as ``owner``.

The CLI runs on the system clock; nothing compares against wall time. The timer of ``engine_basic``
is fired through the engine at its stored due time plus an hour (`shanyu timers fire` uses the wall clock; tests must not).
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from tests.conftest import BPMN, PgSchema, postgres_url
from web.cli import main
from workflow.clock import Clock
from workflow.engine import Engine
from workflow.store import Database, Timer

TASK_KEYS = {
    "id",
    "instance_id",
    "process_id",
    "bpmn_id",
    "name",
    "lane",
    "claimed_by",
    "state",
    "due",
    "role",
    "district",
}
EVENT_KEYS = {"seq", "type", "at", "actor", "payload", "state_digest", "hash"}
USERS = {
    "huangpu": (["区有关部门"], "310101"),
    "huangpu2": (["区有关部门"], "310101"),
    "xuhui": (["区有关部门"], "310104"),
    "city": (["市有关部门"], None),
    "owner": (["流程管理员"], None),
}


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def error(self) -> dict[str, Any]:
        value = json.loads(self.err)
        assert isinstance(value, dict)
        return value


class Shanyu:
    """Runs ``shanyu ARGS --database-url URL`` in-process and captures what it printed."""

    def __init__(self, url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.url = url
        self.capsys = capsys
        self.monkeypatch = monkeypatch
        self.db = Database(url)  # for looking behind the CLI's back
        self.clock: Clock | None = None  # the clock given to ``main``; None: the system clock

    def __call__(self, *args: str, stdin: str | None = None) -> Run:
        if stdin is not None:
            self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        self.capsys.readouterr()
        code = main([*args, "--database-url", self.url], clock=self.clock)
        out, err = self.capsys.readouterr()
        return Run(code, out, err)

    def ok(self, *args: str, stdin: str | None = None) -> Any:
        """Run with ``--json``; require success and a quiet stderr; return the parsed stdout."""
        run = self(*args, "--json", stdin=stdin)
        assert (run.code, run.err) == (0, ""), run
        return run.json()

    def fails(self, *args: str, stdin: str | None = None) -> Run:
        """Run; require exit status 1 and nothing on stdout."""
        run = self(*args, stdin=stdin)
        assert run.code == 1, run
        assert run.out == ""
        assert run.err.startswith("error: ") or run.err.startswith("{"), run.err
        return run

    def sql(self, statement: str, **params: Any) -> Any:
        with self.db.engine.begin() as conn:
            return conn.execute(text(statement), params)

    def count(self, column: Any) -> int:
        with self.db.read() as session:
            return int(session.scalar(select(func.count(column))) or 0)


@pytest.fixture
def shanyu(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Shanyu]:
    """The CLI on an empty database: nothing initialized yet."""
    monkeypatch.chdir(tmp_path)
    for name in ("SHANYU_DATABASE_URL", "SHANYU_DATABASE_SCHEMA"):
        monkeypatch.delenv(name, raising=False)
    if backend == "sqlite":
        cli = Shanyu(f"sqlite:///{tmp_path / 'cli.db'}", capsys, monkeypatch)
        yield cli
        cli.db.dispose()
        return
    schema = PgSchema(postgres_url() or "")
    monkeypatch.setenv("SHANYU_DATABASE_SCHEMA", schema.name)  # how the CLI is pointed at a schema
    cli = Shanyu(schema.url, capsys, monkeypatch)
    try:
        yield cli
    finally:
        cli.db.dispose()
        schema.drop()


@pytest.fixture
def ready(shanyu: Shanyu) -> Shanyu:
    """Initialized, with district and municipal users, and engine_basic deployed."""
    shanyu.ok("init")
    for name, (roles, district) in USERS.items():
        args = ["user", "add", name] + [a for role in roles for a in ("--role", role)]
        shanyu.ok(*args, *(["--district", district] if district else []))
    shanyu.ok("deploy", str(BPMN / "engine_basic.bpmn"), "--as", "owner")
    return shanyu


def start(cli: Shanyu, district: str = "310101", user: str = "huangpu") -> dict[str, Any]:
    result = cli.ok("start", "engine_basic", "--data", json.dumps({"district": district}), "--as", user)
    assert isinstance(result, dict)
    return result


def fire_timer(cli: Shanyu, instance_id: int) -> int:
    """Fire the case's waiting timer an hour after it fell due (`shanyu timers fire` uses the wall clock; tests must not)."""
    with cli.db.read() as session:
        due = session.execute(
            select(Timer.due_at).where(Timer.instance_id == instance_id, Timer.state == "waiting")
        ).scalar_one()
    with cli.db.write() as session:
        return Engine().fire_timers(session, instance_id, now=due + timedelta(hours=1))


def run_to_audit(cli: Shanyu, district: str = "310101", user: str = "huangpu") -> int:
    """Start a case and take it to the wait for ``audit_result``; returns its instance id."""
    case = start(cli, district, user)
    [submit] = case["tasks"]
    cli.ok("claim", str(submit["id"]), "--as", user)
    cli.ok("complete", str(submit["id"]), "--as", user)
    assert fire_timer(cli, case["id"]) == 1
    [review] = cli.ok("tasks", "--as", "city")
    assert (review["instance_id"], review["bpmn_id"]) == (case["id"], "Task_review")
    cli.ok("claim", str(review["id"]), "--as", "city")
    cli.ok("complete", str(review["id"]), "--as", "city", "--data", '{"opinion": "同意"}')
    return int(case["id"])


@pytest.fixture(scope="session")
def notice_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The first cycle played until its public notice is published, seeded once per test session
    into a SQLite file that tests copy."""
    from tests.web.pages import notice_sqlite_template

    yield from notice_sqlite_template(tmp_path_factory.mktemp("notice-template"))


@pytest.fixture
def site_url(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """An empty database URL for a seeded copy: (``backend``, URL); PostgreSQL in a throwaway schema
    (the app is pointed at it through ``SHANYU_DATABASE_SCHEMA``)."""
    if backend == "sqlite":
        yield backend, f"sqlite:///{tmp_path / 'site.db'}"
        return
    schema = PgSchema(postgres_url() or "")
    monkeypatch.setenv("SHANYU_DATABASE_SCHEMA", schema.name)
    try:
        yield backend, schema.url
    finally:
        schema.drop()


@pytest.fixture
def demo_app(demo_template: Path, tmp_path: Path) -> Iterator[Any]:
    """The web app on a copy of the demo, its clock fixed at ``tests.web.pages.NOW``."""
    from tests.web.pages import copy_sqlite, make_app

    app = make_app(copy_sqlite(demo_template, tmp_path))
    yield app
    app.extensions["shanyu"]["db"].dispose()
