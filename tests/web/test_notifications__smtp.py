"""E-mail delivery of the outbox against a local SMTP server (aiosmtpd) started by the tests: at
least once — a server that is away, then one that answers "try again later", then one that takes
the message; a sender that dies after sending and before recording sends again once its lease has
passed; every attempt is recorded (attempts, last attempt, last error, sent time, recipients).
Recipients follow the in-app rule; disabled users and users without an address get nothing. Also
``shanyu notify send`` and the scheduler's delivery job. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_string
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from tests.conftest import deploy
from tests.web.conftest import Shanyu, start
from workflow.clock import FakeClock
from workflow.delivery import RetryPolicy, SmtpMailer, SmtpSettings, deliver_due, recipients
from workflow.engine import Engine
from workflow.registers import Outbox
from workflow.scheduler import Scheduler
from workflow.store import Database, User
from workflow.users import Actor, add_user


class Recorder:
    """An SMTP handler that keeps what it received, or answers 451 while ``failing``."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], str]] = []
        self.failing = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        if self.failing:
            return "451 4.3.0 Try again later"
        self.received.append((list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace")))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_port() -> int:
    return free_port()


class Server:
    def __init__(self, port: int) -> None:
        self.port, self.recorder, self.controller = port, Recorder(), None

    def start(self) -> None:
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def server(smtp_port: int) -> Iterator[Server]:
    s = Server(smtp_port)
    yield s
    s.stop()


def outbox_row(db: Database, instance_id: int, role: str, district: str | None, now: datetime) -> int:
    with db.write() as session:
        row = Outbox(instance_id=instance_id, kind="reminder", role=role, district=district,
                     subject="申报截止提醒", body="请于截止日前报送申报材料。<b>不是标签</b>", task="Remind",
                     created_at=now)
        session.add(row)
        session.flush()
        return int(row.id)


@pytest.fixture
def case(db: Database, engine: Engine, clock: FakeClock, users: dict[str, Actor]) -> int:
    deploy(engine, db, clock, "engine_basic.bpmn")
    with db.write() as session:
        add_user(session, "city", ["市有关部门"], email="city@example.org", now=clock.now())
        add_user(session, "huangpu", ["区有关部门"], district="310101", email="hp@example.org", now=clock.now())
        add_user(session, "huangpu2", ["区有关部门"], district="310101", email="hp2@example.org", now=clock.now())
        add_user(session, "xuhui", ["区有关部门"], district="310104", email="xh@example.org", now=clock.now())
        add_user(session, "city2", ["市有关部门"], email="off@example.org", now=clock.now())
        session.execute(update(User).where(User.name == "city2").values(disabled=True))
        return engine.start(session, "engine_basic", {"district": "310101"}, actor=users["huangpu"], now=clock.now())


def row_of(db: Database, outbox_id: int) -> Outbox:
    with db.read() as session:
        row = session.get(Outbox, outbox_id)
        assert row is not None
        return row


def test_recipients_follow_the_in_app_rule(db: Database, case: int) -> None:
    with db.read() as session:
        assert recipients(session, "区有关部门", "310101") == ["hp2@example.org", "hp@example.org"]
        assert recipients(session, "市有关部门", "310101") == ["city@example.org"]  # municipal; city2 disabled
        assert recipients(session, "市有关部门", None) == ["city@example.org"]
        assert recipients(session, "区有关部门", None) == []  # no district user gets a municipal row


def test_delivery_is_at_least_once_through_failures(db: Database, case: int, clock: FakeClock,
                                                    server: Server) -> None:
    now = clock.now()
    mailer = SmtpMailer(SmtpSettings("127.0.0.1", server.port, sender="noreply@shanyu.example", timeout=5))
    policy = RetryPolicy(lease=timedelta(minutes=5), first_delay=timedelta(minutes=1), max_delay=timedelta(hours=1))
    first = outbox_row(db, case, "区有关部门", "310101", now)
    nobody = outbox_row(db, case, "审核专家组", None, now)

    away = deliver_due(db, mailer, now, sender="noreply@shanyu.example", policy=policy)  # nothing listens
    assert away.sent == [] and [i for i, _e in away.failed] == [first] and away.nobody == [nobody]
    row = row_of(db, first)
    assert (row.attempts, row.sent_at, row.last_attempt_at) == (1, None, now)
    assert row.last_error and "Connection" in row.last_error and row.next_attempt_at == now + timedelta(minutes=1)
    assert row_of(db, nobody).sent_at == now and row_of(db, nobody).recipients == "[]"

    server.start()
    server.recorder.failing = True
    assert deliver_due(db, mailer, now + timedelta(seconds=30), policy=policy).failed == []  # not due yet
    later = now + timedelta(minutes=1)
    refused = deliver_due(db, mailer, later, policy=policy)
    assert [i for i, _e in refused.failed] == [first] and "451" in refused.failed[0][1]
    row = row_of(db, first)
    assert (row.attempts, row.sent_at) == (2, None) and row.next_attempt_at == later + timedelta(minutes=2)

    server.recorder.failing = False
    done_at = later + timedelta(minutes=2)
    done = deliver_due(db, mailer, done_at, policy=policy)
    assert done.sent == [first] and done.failed == []
    row = row_of(db, first)
    assert (row.attempts, row.sent_at, row.last_error, row.next_attempt_at) == (3, done_at, None, None)
    assert json.loads(row.recipients or "") == ["hp2@example.org", "hp@example.org"]
    [(to, raw)] = server.recorder.received
    assert sorted(to) == ["hp2@example.org", "hp@example.org"]
    mail = message_from_string(raw)
    assert mail["Message-ID"].startswith(f"<shanyu-outbox-{first}.")
    assert "申报截止提醒" in str(mail["Subject"]) or "=?utf-8?" in str(mail["Subject"])
    assert deliver_due(db, mailer, done_at + timedelta(hours=2), policy=policy).sent == []  # sent once


class DiesAfterSending:
    """Sends, then the process 'dies' before the outcome is recorded."""

    def __init__(self, mailer: SmtpMailer) -> None:
        self.mailer = mailer

    def send(self, message: Any, to: list[str]) -> None:
        self.mailer.send(message, to)
        raise SystemExit("killed")


def test_a_sender_that_dies_after_sending_leaves_the_row_to_be_sent_again(
    db: Database, case: int, clock: FakeClock, server: Server
) -> None:
    server.start()
    now = clock.now()
    mailer = SmtpMailer(SmtpSettings("127.0.0.1", server.port, timeout=5))
    policy = RetryPolicy(lease=timedelta(minutes=5))
    row_id = outbox_row(db, case, "市有关部门", "310101", now)
    with pytest.raises(SystemExit):
        deliver_due(db, DiesAfterSending(mailer), now, policy=policy)
    row = row_of(db, row_id)
    assert (row.attempts, row.sent_at, row.next_attempt_at) == (1, None, now + timedelta(minutes=5))
    assert deliver_due(db, mailer, now + timedelta(minutes=4), policy=policy).sent == []  # leased
    assert deliver_due(db, mailer, now + timedelta(minutes=5), policy=policy).sent == [row_id]
    ids = [message_from_string(raw)["Message-ID"] for _to, raw in server.recorder.received]
    assert len(ids) == 2 and ids[0] == ids[1]  # a repeat, never a loss; the same Message-ID


def test_the_scheduler_runs_the_delivery_job(db: Database, case: int, clock: FakeClock, server: Server) -> None:
    server.start()
    row_id = outbox_row(db, case, "市有关部门", None, clock.now())
    mailer = SmtpMailer(SmtpSettings("127.0.0.1", server.port, timeout=5))
    ran = threading.Event()

    def job(now: datetime) -> None:
        deliver_due(db, mailer, now)
        ran.set()

    scheduler = Scheduler(db, Engine(), clock=clock, poll_interval=0.2, standby_interval=0.2, jobs=[job])
    scheduler.start()
    try:
        assert ran.wait(10)
    finally:
        scheduler.shutdown()
    deadline = time.monotonic() + 5
    while row_of(db, row_id).sent_at is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert row_of(db, row_id).sent_at is not None and len(server.recorder.received) == 1


def test_shanyu_notify_send(ready: Shanyu, server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    off = ready.fails("notify", "send")
    assert "SHANYU_SMTP_HOST" in off.err
    ready.ok("user", "add", "city", "--role", "市有关部门", "--email", "city@example.org")
    assert ready.fails("user", "add", "city", "--role", "市有关部门", "--email", "not an address").err
    instance = start(ready)["id"]
    row_id = outbox_row(ready.db, instance, "市有关部门", "310101", FakeClock("2022-01-04T09:00:00+08:00").now())
    monkeypatch.setenv("SHANYU_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SHANYU_SMTP_PORT", str(server.port))
    failed = ready("notify", "send", "--json")
    assert failed.code == 1 and [f["id"] for f in failed.json()["failed"]] == [row_id]  # the server is away
    server.start()
    ready.sql("UPDATE outbox SET next_attempt_at = NULL")  # the wall clock does not move in a test
    assert ready.ok("notify", "send") == {"sent": [row_id], "nobody": [], "failed": []}
    assert [to for to, _raw in server.recorder.received] == [["city@example.org"]]
    with ready.db.read() as session:
        assert session.execute(select(Outbox.attempts).where(Outbox.id == row_id)).scalar_one() == 2
