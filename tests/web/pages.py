"""Support for tests of the web pages: a demo database seeded once per test session (SQLite; each
test works on its own copy) or per module (PostgreSQL), an app on a fixed clock, and a browser-like
client that signs in and posts forms with the page's CSRF token."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from web.app import create_app
from web.demo import seed
from web.demo_data import DEMO_PASSWORD
from workflow import migrate
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.registers import TitleChange, titles
from workflow.store import Database, HistoryEvent, HumanTask, Instance

# after the demo's history and the opening of its live cycle (deadlines from 2026-12-15 on)
NOW = "2026-12-03T10:00:00+08:00"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def seed_demo(db: Database) -> None:
    migrate.upgrade(db)
    seed(db, clock=FakeClock(NOW), engine=Engine(check_state=False))


def copy_sqlite(template: Path, folder: Path) -> str:
    target = folder / "shanyu.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


def make_app(url: str, **config: Any) -> Flask:
    return create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "test-secret", **config},
                      clock=FakeClock(NOW))


@dataclass
class Browser:
    """A test client that keeps its cookies and sends the CSRF token of the last page it read."""

    client: FlaskClient
    token: str = ""

    def get(self, path: str, **kwargs: Any) -> Any:
        answer = self.client.get(path, **kwargs)
        found = CSRF.search(answer.get_data(as_text=True))
        if found:
            self.token = unescape(found.group(1))
        return answer

    def post(self, path: str, data: dict[str, Any] | None = None, *, token: bool = True, **kwargs: Any) -> Any:
        form = dict(data or {})
        if token:
            form.setdefault("csrf_token", self.token)
        answer = self.client.post(path, data=form, **kwargs)
        found = CSRF.search(answer.get_data(as_text=True))
        if found:
            self.token = unescape(found.group(1))
        return answer

    def sign_in(self, name: str, password: str = DEMO_PASSWORD) -> Any:
        self.get("/login")
        answer = self.post("/login", {"username": name, "password": password})
        if answer.status_code == 302:
            self.get("/")  # signing in starts a new session, and with it a new CSRF token
        return answer


def browser(app: Flask, name: str | None = None) -> Browser:
    b = Browser(app.test_client())
    if name is not None:
        answer = b.sign_in(name)
        assert answer.status_code == 302, f"{name} could not sign in: {answer.status_code}"
    return b


def task_of(db: Database, name: str, district: str | None, state: str = "ready") -> int:
    with db.read() as s:
        found = s.execute(select(HumanTask.id).where(HumanTask.name == name, HumanTask.district == district,
                                                     HumanTask.state == state)).scalar_one()
    return int(found)


def event_count(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(HistoryEvent)).scalar_one())


def task_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-task="(\d+)"', html)]


def sqlite_template(folder: Path) -> Iterator[Path]:
    path = folder / "demo-template.db"
    db = Database(f"sqlite:///{path}")
    seed_demo(db)
    db.dispose()
    yield path


# -- the public notice: the first cycle played until its notice is published ---------------------
NOTICE_OPEN = "2022-10-08T10:00:00+08:00"  # the notice published 2022-09-29 runs until 2022-10-10 17:00
NOTICE_LAST_DAY = "2022-10-10"


def seed_notice(db: Database) -> None:
    """The demo's users (password ``shanyu-demo``) and diagrams, and the first cycle up to its public
    notice (``FirstCycle`` stages ``open`` … ``publish``), on a simulated clock."""
    from web.demo import DEPLOYER
    from web.demo_driver import Program, demo_users
    from web.demo_story import FirstCycle
    from workflow.specs import bundle_from_paths

    migrate.upgrade(db)
    clock = FakeClock(FirstCycle.START + "+08:00")
    engine = Engine(check_state=False)
    with db.write() as session:
        users, _created = demo_users(session, now=clock.now(), password=DEMO_PASSWORD)
        engine.deploy(session, dict(bundle_from_paths([BPMN_DIR]).files), actor=users[DEPLOYER], now=clock.now())
    run = FirstCycle(Program(db, engine, clock, users))
    for stage in FirstCycle.STAGES[: FirstCycle.STAGES.index("publish") + 1]:
        getattr(run, stage)()


def notice_sqlite_template(folder: Path) -> Iterator[Path]:
    path = folder / "notice-template.db"
    db = Database(f"sqlite:///{path}")
    seed_notice(db)
    db.dispose()
    yield path


BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"


def db_of(app: Flask) -> Database:
    """The app's database."""
    db = app.extensions["shanyu"]["db"]
    assert isinstance(db, Database)
    return db


def text(answer: object) -> str:
    """A test client answer's body as text."""
    return answer.get_data(as_text=True)  # type: ignore[attr-defined,no-any-return]


def revocation_cases(db: Database) -> list[int]:
    """The revocation cases, oldest first."""
    with db.read() as s:
        return list(s.execute(select(Instance.id).where(Instance.process_id == "revocation")
                              .order_by(Instance.id)).scalars())


def title_register(db: Database) -> tuple[list[tuple[str, str]], int]:
    """Every title's district and status, and how many changes the register holds."""
    with db.read() as s:
        return ([(t.district, t.status) for t in titles(s)],
                int(s.scalar(select(func.count()).select_from(TitleChange)) or 0))
