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

import argparse
import json
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from web.cli_notify import delivery_jobs, settings_from
from workflow import calendar_store
from workflow.calendar_io import load_overrides
from workflow.clock import SHANGHAI
from workflow.errors import InvalidData
from workflow.scheduler import Scheduler
from workflow.timers import SweepResult, sweep

if TYPE_CHECKING:
    from flask import Flask

    from web.cli import Context


def shanghai(value: str | datetime | None) -> str:
    """An instant as ``2022-10-11 17:00:00+08:00`` (Asia/Shanghai, whole seconds)."""
    if value is None:
        return "-"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S+08:00")


def history_line(event: dict[str, Any]) -> str:
    """One line of ``history show``: the time in Shanghai; fired timers with their due times."""
    payload = event["payload"]
    if event["type"] == "timer_fired":
        detail = "; ".join(
            f"{t.get('bpmn_id')} due {shanghai(t.get('due'))}" for t in payload.get("timers", [])
        )
    else:
        detail = json.dumps(payload, ensure_ascii=False)[:100]
    return f"#{event['seq']:<4} {shanghai(event['at'])}  {event['type']:<18} {event['actor']:<14} {detail}"


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidData(f"DATE {text!r} is not a date written YYYY-MM-DD, e.g. 2022-09-30.") from None


# -- calendar ----------------------------------------------------------------------------------
def cmd_calendar_import(ctx: Context) -> None:
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


def _calendar_date(ctx: Context, what: str) -> None:
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
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def cmd_scheduler(ctx: Context) -> None:
    """Run until Ctrl-C or SIGTERM; then finish the running case, release the lock and report."""
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
    if getattr(ctx.args, "no_scheduler", False):
        yield None
        return
    _log_to_stderr()
    ext = app.extensions["shanyu"]
    settings = settings_from(app.config, prefix="")
    scheduler = Scheduler(ext["db"], ext["engine"], clock=ext["clock"], jobs=delivery_jobs(settings, ext["db"]))
    ext["scheduler"] = scheduler
    scheduler.start()
    try:
        yield scheduler
    finally:
        scheduler.shutdown()


# -- parser ------------------------------------------------------------------------------------
def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the calendar, timers and scheduler commands to ``shanyu``'s subparsers."""
    cal = sub.add_parser("calendar", help="the working-day calendar").add_subparsers(
        dest="calendar_command", required=True
    )
    p = cal.add_parser(
        "import", parents=[common], help="import a year's official holiday schedule (CSV or JSON)"
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "--replace", action="store_true", help="replace a year already imported from a different announcement"
    )
    p.set_defaults(fn=cmd_calendar_import)
    for name, what, text in (
        ("notice-end", "notice_end", "last day of a notice of N working days from DATE"),
        ("add-workdays", "add_workdays", "the Nth working day after DATE"),
    ):
        p = cal.add_parser(name, parents=[common], help=text)
        p.add_argument("date", metavar="DATE", help="YYYY-MM-DD")
        p.add_argument("n", metavar="N", type=int)
        p.set_defaults(fn=lambda ctx, w=what: _calendar_date(ctx, w))
    tim = sub.add_parser("timers", help="due timers").add_subparsers(dest="timers_command", required=True)
    p = tim.add_parser("fire", parents=[common], help="fire every due timer now (exit 1 if a case failed)")
    p.set_defaults(fn=cmd_timers_fire)
    p = sub.add_parser("scheduler", parents=[common], help="run the timer scheduler alone (until Ctrl-C)")
    p.add_argument(
        "--poll-interval",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="sweep at least this often (default 30)",
    )
    p.add_argument(
        "--standby-interval",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="a standby asks for the lock this often (default 10)",
    )
    p.set_defaults(fn=cmd_scheduler)
