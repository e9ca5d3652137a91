"""The ``shanyu`` commands for working days and timers, registered by ``web.cli.build_parser``:

- ``calendar import FILE [--replace]``: store a year's official schedule (``workflow.calendar_io``
  documents the CSV and JSON formats; ``workflow.calendar_store`` what re-importing does);
- ``calendar notice-end DATE N`` / ``calendar add-workdays DATE N``: print an ISO date, computed
  on the stored calendar (``--json``: ``{"date": …}``);
- ``timers fire``: one sweep now; prints what fired and exits 1 if a case failed;
- ``scheduler``: run the timer scheduler alone (multi-host setups) until Ctrl-C or SIGTERM.

``scheduler_for(ctx, app)`` is how ``shanyu serve`` runs the scheduler in-process, and
``history_line`` how ``history show`` prints an event: times in Asia/Shanghai, timers with their
due times. The ``--json`` output of ``history show`` keeps the stored UTC values, which are hashed.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflow.clock import shanghai_text
from workflow.errors import InvalidData

if TYPE_CHECKING:
    from flask import Flask

    from web.cli import Context
    from workflow.scheduler import Scheduler
    from workflow.timers import SweepResult


def shanghai(value: str | datetime | None) -> str:
    """An instant as ``2022-10-11 17:00:00+08:00`` (Asia/Shanghai, whole seconds)."""
    return shanghai_text(value)


PAYLOAD_WIDTH = 100  # characters of an event's payload that a ``history show`` line holds


def history_line(event: dict[str, Any]) -> str:
    """One line of ``history show``: the time in Shanghai; fired timers with their due times; a
    payload longer than ``PAYLOAD_WIDTH`` is cut and marked so; a completion's materials follow, one
    line each with its SHA-256."""
    payload = event["payload"]
    if event["type"] == "timer_fired":
        detail = "; ".join(
            f"{t.get('bpmn_id')} due {shanghai(t.get('due'))}" for t in payload.get("timers", [])
        )
    else:
        text = json.dumps(payload, ensure_ascii=False)
        detail = text if len(text) <= PAYLOAD_WIDTH else (
            f"{text[:PAYLOAD_WIDTH]}… [cut: {len(text)} characters, `history show --json` has them all]")
    line = f"#{event['seq']:<4} {shanghai(event['at'])}  {event['type']:<18} {event['actor']:<14} {detail}"
    # the materials a completion refers to, with the hashes the chain pins, are never cut
    return "\n".join([line, *(f"      material {m.get('id')} ({m.get('field')}) sha256 {m.get('sha256')}"
                               for m in payload.get("materials") or [] if isinstance(m, dict))])


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidData(f"DATE {text!r} is not a date written YYYY-MM-DD, e.g. 2022-09-30.") from None


# -- calendar ----------------------------------------------------------------------------------
def cmd_calendar_import(ctx: Context) -> None:
    from workflow import calendar_store
    from workflow.calendar_io import load_overrides

    imported = load_overrides(Path(ctx.args.file))
    with ctx.db.write() as session:
        result = calendar_store.import_year(session, imported, ctx.clock.now(), replace=ctx.args.replace)

    def text() -> str:
        if result.status == "unchanged":
            lines = [f"The calendar for {result.year} is already stored as in this file; nothing changed."]
        elif result.status == "imported":
            lines = [
                f"Imported the calendar for {result.year} ({result.days} days) from {result.source!r}; "
                f"{result.year} is now known."
            ]
        else:
            shown = ", ".join(d.isoformat() for d in result.changed[:20]) + (
                " …" if len(result.changed) > 20 else ""
            )
            lines = [
                f"Replaced the calendar for {result.year} ({result.days} days, from {result.source!r}); "
                f"{len(result.changed)} day(s) changed: {shown}"
            ]
        if result.waiting_timers:
            lines.append(
                f"{result.waiting_timers} waiting timer(s) fall due in {result.year}; their due times "
                "were computed before this import and stay as they are."
            )
        return "\n".join(lines)

    ctx.out(result.to_dict(), text)


def cmd_calendar_date(ctx: Context) -> None:
    """notice-end or add-workdays (``ctx.args.what``)."""
    from workflow import calendar_store

    what = ctx.args.what
    start, n = _parse_date(ctx.args.date), ctx.args.n
    if what == "notice_end" and n < 1:
        raise InvalidData(f"A notice lasts at least 1 working day; N was {n}.")
    with ctx.db.read() as session:
        cal = calendar_store.load_calendar(session)
    result = cal.notice_end(start, n) if what == "notice_end" else cal.add_workdays(start, n)
    ctx.out({"date": result.isoformat()}, result.isoformat())


# -- timers ------------------------------------------------------------------------------------
def sweep_text(result: SweepResult) -> str:
    lines = [
        f"case {t.instance_id:<6} {t.bpmn_id} ({t.name})  due {shanghai(t.due_at)}  "
        f"fired {shanghai(t.fired_at)}"
        for t in result.fired
    ]
    lines += [f"case {iid:<6} already fired by another sweep" for iid in result.already_fired]
    lines += [f"case {f.instance_id:<6} FAILED: {f.message}" for f in result.failed]
    summary = (
        f"{result.count} timer(s) fired in {len(result.cases)} case(s)" if result.fired else "No timer fired"
    )
    if result.failed:
        summary += f"; {len(result.failed)} case(s) failed and stay due"
    summary += "." + (
        f" Next timer due {shanghai(result.next_due)}." if result.next_due else " No timer is waiting."
    )
    return "\n".join([*lines, summary])


def cmd_timers_fire(ctx: Context) -> None:
    from workflow.timers import sweep

    result = sweep(ctx.db, ctx.engine, ctx.clock.now())
    ctx.out(result.to_dict(), lambda: sweep_text(result))
    if result.failed:
        raise SystemExit(1)


def _log_to_stderr() -> None:
    logger = logging.getLogger("shanyu")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False  # the web server may give the root logger a handler too
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def cmd_scheduler(ctx: Context) -> None:
    """Run until Ctrl-C or SIGTERM; then finish the running case, release the lock and report."""
    from web.cli_notify import delivery_jobs, settings_from
    from workflow import anchors
    from workflow.scheduler import Scheduler

    _log_to_stderr()
    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():  # signals reach the main thread only
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    scheduler = Scheduler(
        ctx.db,
        ctx.engine,
        clock=ctx.clock,
        poll_interval=ctx.args.poll_interval,
        standby_interval=ctx.args.standby_interval,
        anchor_every=anchors.DAILY,
        jobs=delivery_jobs(settings_from(), ctx.db),
    )
    try:
        scheduler.start()
        while not stop.wait(0.5):
            pass
    finally:
        scheduler.shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    ctx.out(
        {"sweeps": scheduler.sweeps, "fired": scheduler.fired},
        f"Scheduler stopped after {scheduler.sweeps} sweep(s); {scheduler.fired} timer(s) fired.",
    )


@contextmanager
def scheduler_for(ctx: Context, app: Flask) -> Iterator[Scheduler | None]:
    """For ``shanyu serve``: the scheduler runs in the server process on the app's engine (one cache)
    unless ``--no-scheduler``; it is in ``app.extensions["shanyu"]["scheduler"]`` for nudging."""
    from web.cli_notify import delivery_jobs, settings_from
    from workflow import anchors
    from workflow.scheduler import Scheduler

    if getattr(ctx.args, "no_scheduler", False):
        yield None
        return
    _log_to_stderr()
    ext = app.extensions["shanyu"]
    settings = settings_from(app.config, prefix="")
    scheduler = Scheduler(ext["db"], ext["engine"], clock=ext["clock"], anchor_every=anchors.DAILY,
                          jobs=delivery_jobs(settings, ext["db"]))
    ext["scheduler"] = scheduler
    scheduler.start()
    try:
        yield scheduler
    finally:
        scheduler.shutdown()
