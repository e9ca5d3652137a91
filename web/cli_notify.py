"""``shanyu notify send``: deliver the notifications that are due by e-mail, once, now (the same
``workflow.delivery.deliver_due`` as the scheduler's delivery job); print what was sent and what
failed; exit 1 if a notification failed (it is tried again later). SMTP is configured with
``SHANYU_SMTP_HOST`` and friends (README, Notifications); without it the command says so.

``delivery_jobs(settings, db)`` is what the scheduler runs (``shanyu serve`` and ``shanyu scheduler``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from workflow.delivery import DeliveryResult, SmtpMailer, SmtpSettings, deliver_due
from workflow.errors import InvalidData
from workflow.store import Database

if TYPE_CHECKING:
    from web.cli import Context


def settings_from(values: Mapping[str, Any] | None = None, prefix: str = "SHANYU_") -> SmtpSettings | None:
    return SmtpSettings.from_mapping(os.environ if values is None else values, prefix)


def delivery_jobs(settings: SmtpSettings | None, db: Database) -> list[Callable[[datetime], Any]]:
    """The scheduler's delivery job, or none when SMTP is not configured."""
    if settings is None:
        return []
    mailer = SmtpMailer(settings)
    return [lambda now: deliver_due(db, mailer, now, sender=settings.sender)]


def result_text(result: DeliveryResult) -> str:
    lines = [f"notification {i} FAILED: {error}" for i, error in result.failed]
    lines.append(f"{len(result.sent)} notification(s) sent, {len(result.nobody)} without a recipient address, "
                 f"{len(result.failed)} failed (tried again later).")
    return "\n".join(lines)


def cmd_notify_send(ctx: Context) -> None:
    settings = settings_from()
    if settings is None:
        raise InvalidData("E-mail delivery is off: set SHANYU_SMTP_HOST (and SHANYU_SMTP_PORT, SHANYU_SMTP_FROM, "
                          "…) to the SMTP server to use. Nothing was sent.")
    result = deliver_due(ctx.db, SmtpMailer(settings), ctx.clock.now(), sender=settings.sender)
    ctx.out(result.to_dict(), lambda: result_text(result))
    if result.failed:
        raise SystemExit(1)
