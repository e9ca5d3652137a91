"""E-mail delivery of the ``outbox``: ``deliver_due(db, mailer, now)``, the plain function behind the
scheduler's delivery job and ``shanyu notify send``. Off unless SMTP is configured (``SmtpSettings``).

Contract
    Every ``outbox`` row not yet sent and due (never tried, or its retry time has come) is delivered
    to the e-mail addresses of its recipients: the enabled users holding the row's role, in the
    row's district when it has one, municipal users (no district) otherwise and also for district
    rows (the in-app rule, ``workflow.notifications``). One message per row, all recipients in its
    envelope, with a Message-ID made from the row, so that a receiving system can drop a repeat.

At least once, and recorded
    A row is claimed in its own short transaction: ``attempts`` + 1, ``last_attempt_at``, and
    ``next_attempt_at`` moved one lease ahead, so that a second sender skips it. The message is sent
    outside any transaction; then a second transaction records the outcome: ``sent_at`` and the
    ``recipients``, or ``last_error`` and the next try after a backoff that doubles per attempt up to
    ``RetryPolicy.max_delay``. A sender that dies between sending and recording leaves the row to be
    sent again once the lease has passed: a repeat is possible, a loss is not. A row with no
    recipient with an address is recorded as sent to nobody (``recipients`` = ``[]``). One failing
    row never blocks the others.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, or_, select, update

from .clock import SHANGHAI
from .registers import Outbox
from .store import Database, User, UserRole

log = logging.getLogger("shanyu.delivery")

__all__ = ["DeliveryResult", "Mailer", "RetryPolicy", "SmtpMailer", "SmtpSettings", "deliver_due", "recipients"]


def _flag(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class SmtpSettings:
    """Where mail goes. ``from_mapping`` reads ``SMTP_HOST`` (required: without it delivery is off),
    ``SMTP_PORT`` (25), ``SMTP_USER`` / ``SMTP_PASSWORD`` (login, if given), ``SMTP_FROM``,
    ``SMTP_STARTTLS`` / ``SMTP_SSL`` and ``SMTP_TIMEOUT`` (seconds), each after ``prefix``."""

    host: str
    port: int = 25
    username: str = ""
    password: str = ""
    sender: str = "shanyu@localhost"
    starttls: bool = False
    use_ssl: bool = False
    timeout: float = 10.0

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], prefix: str = "") -> SmtpSettings | None:
        def get(key: str, default: Any = "") -> Any:
            value = values.get(prefix + key)
            return default if value is None or value == "" else value

        host = str(get("SMTP_HOST")).strip()
        if not host:
            return None
        return cls(host=host, port=int(get("SMTP_PORT", 25)), username=str(get("SMTP_USER")),
                   password=str(get("SMTP_PASSWORD")), sender=str(get("SMTP_FROM", "shanyu@localhost")),
                   starttls=_flag(get("SMTP_STARTTLS", False)), use_ssl=_flag(get("SMTP_SSL", False)),
                   timeout=float(get("SMTP_TIMEOUT", 10)))


class Mailer(Protocol):
    def send(self, message: EmailMessage, to: list[str]) -> None: ...


@dataclass
class SmtpMailer:
    settings: SmtpSettings

    def send(self, message: EmailMessage, to: list[str]) -> None:
        s = self.settings
        context = ssl.create_default_context()
        smtp: smtplib.SMTP = (smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context) if s.use_ssl
                              else smtplib.SMTP(s.host, s.port, timeout=s.timeout))
        with smtp:
            if s.starttls and not s.use_ssl:
                smtp.starttls(context=context)
            if s.username:
                smtp.login(s.username, s.password)
            refused = smtp.send_message(message, from_addr=s.sender, to_addrs=to)
        if refused:  # some recipients were refused: the row is tried again (the others get a repeat)
            raise smtplib.SMTPRecipientsRefused(refused)


@dataclass(frozen=True)
class RetryPolicy:
    """本地设定 (local settings): how long a claimed row is left to its sender, and the backoff."""

    lease: timedelta = timedelta(minutes=5)
    first_delay: timedelta = timedelta(minutes=1)
    max_delay: timedelta = timedelta(hours=1)

    def delay(self, attempts: int) -> timedelta:
        return min(self.first_delay * (1 << min(max(attempts - 1, 0), 30)), self.max_delay)


@dataclass
class DeliveryResult:
    sent: list[int] = field(default_factory=list)
    nobody: list[int] = field(default_factory=list)  # no recipient has an address
    failed: list[tuple[int, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "nobody": self.nobody,
                "failed": [{"id": i, "error": e} for i, e in self.failed]}


def recipients(session: Any, role: str, district: str | None) -> list[str]:
    """The addresses of the enabled users who receive a notification to ``role`` in ``district``."""
    query = (select(User.email).join(UserRole, UserRole.user_id == User.id)
             .where(UserRole.role == role, User.disabled.is_(False), User.email.is_not(None), User.email != ""))
    query = query.where(or_(User.district.is_(None), User.district == district)) if district \
        else query.where(User.district.is_(None))
    return sorted({str(e).strip() for e in session.execute(query).scalars() if str(e).strip()})


def message_for(row: Outbox, to: list[str], sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"[善育] {row.subject}"
    msg["From"] = formataddr(("善育 Shanyu", sender))
    msg["To"] = ", ".join(to)
    domain = sender.rpartition("@")[2] or "localhost"
    msg["Message-ID"] = f"<shanyu-outbox-{row.id}.{row.created_at:%Y%m%d%H%M%S}@{domain}>"
    msg["Date"] = row.created_at.astimezone(SHANGHAI).strftime("%a, %d %b %Y %H:%M:%S +0800")
    msg.set_content(f"{row.body}\n\n——\n善育 · 案件 #{row.instance_id} · "
                    f"{row.created_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}（北京时间）\n")
    return msg


def _due(now: datetime) -> Any:
    return (Outbox.sent_at.is_(None)) & (or_(Outbox.next_attempt_at.is_(None), Outbox.next_attempt_at <= now))


def deliver_due(db: Database, mailer: Mailer, now: datetime, *, sender: str = "shanyu@localhost",
                policy: RetryPolicy = RetryPolicy(), limit: int = 500,
                stop: Callable[[], bool] | None = None) -> DeliveryResult:
    """Deliver the due rows, oldest first, at most ``limit`` (see the module doc)."""
    result = DeliveryResult()
    with db.read() as session:
        ids = list(session.execute(select(Outbox.id).where(_due(now)).order_by(Outbox.id).limit(limit)).scalars())
    for outbox_id in ids:
        if stop is not None and stop():
            break
        with db.write() as session:
            claimed = cast(CursorResult[Any], session.execute(
                update(Outbox).where(Outbox.id == outbox_id, _due(now))
                .values(attempts=Outbox.attempts + 1, last_attempt_at=now, next_attempt_at=now + policy.lease)
                .execution_options(synchronize_session=False)))
            if claimed.rowcount != 1:
                continue  # another sender has it
            row = session.get(Outbox, outbox_id)
            assert row is not None
            to = recipients(session, row.role, row.district)
            if not to:
                row.sent_at, row.recipients, row.next_attempt_at, row.last_error = now, "[]", None, None
                result.nobody.append(outbox_id)
                continue
            message, attempts = message_for(row, to, sender), row.attempts
        error = None
        try:
            mailer.send(message, to)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried
            error = f"{exc.__class__.__name__}: {exc}"[:2000]
            log.warning("notification %s not delivered (attempt %s): %s", outbox_id, attempts, error)
        with db.write() as session:
            values: dict[str, Any] = (
                {"sent_at": now, "recipients": json.dumps(to), "last_error": None, "next_attempt_at": None}
                if error is None else {"last_error": error, "next_attempt_at": now + policy.delay(attempts)})
            session.execute(update(Outbox).where(Outbox.id == outbox_id).values(**values)
                            .execution_options(synchronize_session=False))
        if error is None:
            result.sent.append(outbox_id)
        else:
            result.failed.append((outbox_id, error))
    return result
