"""The ``shanyu`` command line. Each command wraps one engine command in one transaction.

Every command accepts ``--json`` for machine-readable output (the stable contract documented in
the README). Errors go to stderr and the exit status is 1.

This module builds the parser and dispatches; it imports nothing heavy. A command names its
function as ``"module:function"`` and the module is imported only when that command runs, so
``shanyu --help`` loads neither SpiffWorkflow, Flask nor APScheduler, and each command loads what
it uses (``tests/web/test_cli__imports.py`` pins which).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from workflow.clock import Clock, SystemClock
from workflow.errors import DatabaseNotReady, InvalidData, ShanyuError

if TYPE_CHECKING:
    from workflow.engine import Engine
    from workflow.store import Database
    from workflow.users import Actor


class Context:
    """What a command needs: the database, the engine, the clock, and how to print."""

    def __init__(self, args: argparse.Namespace, clock: Clock | None = None) -> None:
        self.args = args
        self.json = bool(getattr(args, "json", False))
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._db: Database | None = None
        self._engine: Engine | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            from workflow.store import Database

            db = Database(getattr(self.args, "database_url", None))
            if getattr(self.args, "needs_schema", True):
                _require_schema(db)
            self._db = db
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from workflow.engine import Engine

            self._engine = Engine()
        return self._engine

    def actor(self, session: Any) -> Actor:
        from workflow.users import ADMIN, Actor, load_actor

        name = getattr(self.args, "as_user", None)
        return load_actor(session, name) if name else Actor("cli", frozenset({ADMIN}))

    def out(self, value: Any, text: str | Callable[[], str]) -> None:
        if self.json:
            print(json.dumps(value, ensure_ascii=False, indent=2, default=str))
        else:
            print(text() if callable(text) else text)


def _require_schema(db: Database) -> None:
    """Commands other than init and serve need a database that ``shanyu init`` prepared."""
    from workflow import migrate

    try:
        current = migrate.stored_revision(db)
    except Exception as exc:  # noqa: BLE001 - unreachable server, bad URL, unreadable file
        db.dispose()
        raise DatabaseNotReady(f"Cannot open the database at {db.url}: {exc.__class__.__name__}: {exc}") from exc
    head = migrate.script_head()
    if current is None:
        db.dispose()
        raise DatabaseNotReady(f"The database at {db.url} has no Shanyu schema yet: run `shanyu init` first.")
    if current != head:
        db.dispose()
        raise DatabaseNotReady(f"The database at {db.url} has schema {current}, this Shanyu needs {head}: "
                               "run `shanyu init` to upgrade it.")


def parse_json(text: str | None, what: str) -> dict[str, Any]:
    if text is None:
        return {}
    from workflow import jsondata

    if text == "-":
        text = sys.stdin.read(jsondata.MAX_TEXT + 1)  # loads refuses more; no need to read it all
    value = jsondata.loads(text, what=what)
    if not isinstance(value, dict):
        raise InvalidData(f"{what} must be a JSON object like '{{\"score\": 90}}'.")
    return value


# -- parser ------------------------------------------------------------------------------------
def record_id(text: str) -> int:
    """A task or case id: a whole number that fits the databases' integer columns."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 1 <= value <= 2**31 - 1:
        raise argparse.ArgumentTypeError(f"{text} is not an id (ids are 1 to {2**31 - 1})")
    return value


def _command(parser: argparse.ArgumentParser, fn: str, **defaults: Any) -> argparse.ArgumentParser:
    """``fn`` is ``"module:function"``, imported when the command runs."""
    parser.set_defaults(fn=fn, **defaults)
    return parser


def build_parser() -> argparse.ArgumentParser:
    # The options go before or after the command. A subcommand's own defaults would overwrite what was
    # given before it, so only the top-level parser has defaults.
    top = argparse.ArgumentParser(add_help=False)
    top.add_argument("--json", action="store_true", help="machine-readable JSON output")
    top.add_argument("--database-url", help="overrides SHANYU_DATABASE_URL")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="machine-readable JSON output")
    common.add_argument("--database-url", default=argparse.SUPPRESS, help="overrides SHANYU_DATABASE_URL")
    as_user = argparse.ArgumentParser(add_help=False)
    as_user.add_argument("--as", dest="as_user", metavar="USER", help="act as this user")
    needs_user = argparse.ArgumentParser(add_help=False)
    needs_user.add_argument("--as", dest="as_user", metavar="USER", required=True, help="act as this user")
    cases = "web.cli_cases:"

    parser = argparse.ArgumentParser(prog="shanyu", description="Shanyu (善育) workflow system", parents=[top])
    sub = parser.add_subparsers(dest="command", required=True)
    _command(sub.add_parser("init", parents=[common], help="create or upgrade the database"), cases + "cmd_init",
             needs_schema=False)
    p = _command(sub.add_parser("deploy", parents=[common, needs_user],
                                help="deploy BPMN/DMN files or folders (as a 流程管理员 or admin)"), cases + "cmd_deploy")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--reason", help="why this version is deployed (recorded in the system journal)")
    p = _command(sub.add_parser("start", parents=[common, needs_user], help="start a case"), cases + "cmd_start")
    p.add_argument("process_id")
    p.add_argument("--data", help="start data, a JSON object ('-' reads stdin)")
    p.add_argument("--version", type=int, help="a specific process version (default: latest)")
    _command(sub.add_parser("tasks", parents=[common, as_user], help="open tasks (claimable by USER with --as)"),
             cases + "cmd_tasks")
    for verb, text in (("claim", "claim a task"), ("release", "release a claimed task"),
                       ("complete", "complete a claimed task")):
        p = _command(sub.add_parser(verb, parents=[common, needs_user], help=text), cases + "cmd_task_verb", verb=verb)
        p.add_argument("task", type=int, metavar="TASK")
        if verb == "complete":
            p.add_argument("--data", help="task data, a JSON object ('-' reads stdin)")
    task = sub.add_parser("task", help="list tasks or show one").add_subparsers(dest="task_command", required=True)
    _command(task.add_parser("list", parents=[common, as_user], help="open tasks, as `shanyu tasks`"),
             cases + "cmd_tasks")
    p = _command(task.add_parser("show", parents=[common, as_user],
                                 help="a task: its form's fields, and your saved draft"), "web.cli_show:cmd_task_show")
    p.add_argument("task", type=record_id, metavar="TASK")
    case = sub.add_parser("case", help="show a case").add_subparsers(dest="case_command", required=True)
    p = _command(case.add_parser("show", parents=[common, as_user],
                                 help="a case: open tasks, what it waits for, recent notifications"),
                 "web.cli_show:cmd_case_show")
    p.add_argument("instance", type=record_id, metavar="CASE")
    p.add_argument("--notifications", type=int, default=10, metavar="N",
                   help="how many of the newest notifications to show (default 10)")
    material = sub.add_parser("material", help="files attached to cases").add_subparsers(
        dest="material_command", required=True)
    p = _command(material.add_parser("add", parents=[common, needs_user],
                                     help="store a file as a material of a case; prints its id (m-…)"),
                 "web.cli_show:cmd_material_add")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--case", type=record_id, required=True, metavar="CASE", help="the case the file belongs to")
    p = _command(material.add_parser("show", parents=[common, as_user],
                                     help="a material's record; --output FILE writes its bytes"),
                 "web.cli_show:cmd_material_show")
    p.add_argument("material", metavar="MATERIAL", help="the id, m-…")
    p.add_argument("--output", metavar="FILE", help="write the material's bytes to FILE (which must not exist)")
    p = _command(sub.add_parser("message", parents=[common, needs_user], help="deliver a message to waiting cases"),
                 cases + "cmd_message")
    p.add_argument("name")
    p.add_argument("--key", action="append", metavar="K=V", help="correlation key (repeatable)")
    p.add_argument("--data", help="message data, a JSON object")
    p = _command(sub.add_parser("finding", parents=[common, needs_user],
                                help="file a finding of 动态监测 or 督查指导 about a named district: opens its "
                                     "verification (核实情况) for 市有关部门; decides nothing"),
                 cases + "cmd_finding")
    p.add_argument("--district", required=True, metavar="CODE", help="the named district, e.g. 310104")
    p.add_argument("--ground", required=True, help="safety_accident, backsliding, fraud or low_satisfaction "
                                                   "(the notice's 第六条)")
    p.add_argument("--source", default="monitoring", help="monitoring (动态监测, the default) or supervision (督查指导)")
    p.add_argument("--summary", required=True, help="what was found, 10-4000 characters ('-' reads stdin)")
    hist = sub.add_parser("history", help="show or verify case history").add_subparsers(dest="history_command",
                                                                                      required=True)
    p = _command(hist.add_parser("show", parents=[common], help="a case's events"), cases + "cmd_history_show")
    p.add_argument("instance", type=int)
    p = _command(hist.add_parser("verify", parents=[common], help="recompute hash chains (exit 1 if any is broken)"),
                 cases + "cmd_history_verify")
    p.add_argument("instance", type=int, nargs="?")
    p.add_argument("--anchor", metavar="FILE", help="also check the chain heads an anchor file signed")
    p = _command(hist.add_parser("replay", parents=[common], help="rebuild a case from its inputs and compare every "
                                 "recorded state (exit 1 on a mismatch)"), cases + "cmd_history_replay")
    p.add_argument("instance", type=int)
    p.add_argument("--upto", type=int, metavar="SEQ", help="stop after this event, and show the case as it stood")
    _register_audit(hist, common)
    user = sub.add_parser("user", help="manage users").add_subparsers(dest="user_command", required=True)
    p = _command(user.add_parser("add", parents=[common], help="create or update a user"), cases + "cmd_user_add")
    p.add_argument("name")
    p.add_argument("--role", action="append", required=True,
                   help="role (repeatable): a lane name of a deployed process, 流程管理员, admin or auditor")
    p.add_argument("--district", help="district code for district staff (one of Shanghai's 16, e.g. 310101)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.add_argument("--email", help="where notifications are e-mailed ('' removes it)")
    lane = sub.add_parser("lane", help="map lanes to roles").add_subparsers(dest="lane_command", required=True)
    p = _command(lane.add_parser("map", parents=[common], help="let ROLE claim the tasks of LANE"),
                 cases + "cmd_lane_map")
    p.add_argument("lane")
    p.add_argument("role")
    p = _command(sub.add_parser("serve", parents=[common], help="run the web server"), cases + "cmd_serve",
                 needs_schema=False)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--no-scheduler", action="store_true", help="do not fire timers in this process")
    _register_timers(sub, common)
    notify = sub.add_parser("notify", help="notifications").add_subparsers(dest="notify_command", required=True)
    _command(notify.add_parser("send", parents=[common], help="e-mail the notifications that are due (exit 1 on a "
                               "failure)"), "web.cli_notify:cmd_notify_send")
    _command(sub.add_parser("demo", parents=[common], help="seed the programme's demo data (idempotent)"),
             "web.demo:cmd_demo", needs_schema=False)
    p = _command(sub.add_parser("clauses", parents=[common],
                                help="each clause of the notice and the diagram elements implementing it"),
                 "web.clauses:cmd_clauses", needs_schema=False)
    p.add_argument("paths", nargs="*", metavar="PATH", help="BPMN files or folders (default: the programme's bpmn/)")
    p = _command(sub.add_parser("layout", parents=[common],
                                help="whether diagrams read cleanly: flows through shapes, labels on shapes, "
                                     "fit-to-screen zoom (exit 1 on a problem)"),
                 "web.cli_layout:cmd_layout", needs_schema=False)
    p.add_argument("paths", nargs="*", metavar="PATH", help="BPMN files or folders (default: the programme's bpmn/)")
    return parser


def _register_audit(hist: Any, common: argparse.ArgumentParser) -> None:
    """Evidence bundles, anchors and the system journal (``web.cli_audit``)."""
    audit = "web.cli_audit:"
    p = _command(hist.add_parser("export", parents=[common],
                                 help="write a case's evidence bundle (verifiable offline)"), audit + "cmd_history_export")
    p.add_argument("instance", type=record_id)
    p.add_argument("--out", required=True, metavar="FILE", help="where to write the bundle (JSON)")
    p.add_argument("--as", dest="as_user", metavar="USER", help="who exports it (recorded in the bundle)")
    p = _command(hist.add_parser("check-bundle", parents=[common],
                                 help="verify an evidence bundle without a database (exit 1 naming the first bad "
                                 "event)"), audit + "cmd_history_check_bundle", needs_schema=False)
    p.add_argument("file")
    p = _command(hist.add_parser("anchor", parents=[common],
                                 help="sign every case's chain head now (Ed25519) and write the anchor file"),
                 audit + "cmd_history_anchor")
    p.add_argument("--out", metavar="FILE", help="where to write it (default: SHANYU_ANCHOR_DIR, instance/anchors)")
    p.add_argument("--as", dest="as_user", metavar="USER", help="who anchors (recorded)")
    p = _command(hist.add_parser("system", parents=[common],
                                 help="the journal of deployments, calendar imports, user and lane changes, "
                                 "migrations and anchors (newest first)"), audit + "cmd_history_system")
    p.add_argument("--limit", type=int, default=100, help="how many events (default 100)")


def _register_timers(sub: Any, common: argparse.ArgumentParser) -> None:
    """The calendar, timers and scheduler commands (``web.cli_timers``)."""
    timers = "web.cli_timers:"
    cal = sub.add_parser("calendar", help="the working-day calendar").add_subparsers(
        dest="calendar_command", required=True)
    p = _command(cal.add_parser("import", parents=[common],
                                help="import a year's official holiday schedule (CSV or JSON)"),
                 timers + "cmd_calendar_import")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--replace", action="store_true",
                   help="replace a year already imported from a different announcement")
    for name, what, text in (("notice-end", "notice_end", "last day of a notice of N working days from DATE"),
                             ("add-workdays", "add_workdays", "the Nth working day after DATE")):
        p = _command(cal.add_parser(name, parents=[common], help=text), timers + "cmd_calendar_date", what=what)
        p.add_argument("date", metavar="DATE", help="YYYY-MM-DD")
        p.add_argument("n", metavar="N", type=int)
    tim = sub.add_parser("timers", help="due timers").add_subparsers(dest="timers_command", required=True)
    _command(tim.add_parser("fire", parents=[common], help="fire every due timer now (exit 1 if a case failed)"),
             timers + "cmd_timers_fire")
    p = _command(sub.add_parser("scheduler", parents=[common], help="run the timer scheduler alone (until Ctrl-C)"),
                 timers + "cmd_scheduler")
    p.add_argument("--poll-interval", type=float, default=30.0, metavar="SECONDS",
                   help="sweep at least this often (default 30)")
    p.add_argument("--standby-interval", type=float, default=10.0, metavar="SECONDS",
                   help="a standby asks for the lock this often (default 10)")


def resolve(reference: str) -> Callable[[Context], None]:
    """The command function named ``"module:function"``."""
    module, _, name = reference.partition(":")
    fn: Callable[[Context], None] = getattr(importlib.import_module(module), name)
    return fn


def _check_arguments(args: argparse.Namespace) -> None:
    """Arguments that are not valid UTF-8 reach Python as lone surrogates, which no database stores."""
    from workflow import jsondata

    for name, value in vars(args).items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and jsondata.fault(item) is not None:
                shown = item.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                raise InvalidData(f"The argument {shown} ({name.replace('_', '-')}) is not valid UTF-8 text.")


def _report(ctx: Context, exc: ShanyuError) -> None:
    if ctx.json:
        print(json.dumps(exc.to_dict(), ensure_ascii=False, default=str), file=sys.stderr)
    else:
        print(f"error: {exc.message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> int:
    """Run one command; returns the exit status (also for --help and usage errors). ``clock``
    (default: the system clock) is the time every command runs at."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse printed the help (0) or the usage error (2)
        return int(exc.code or 0)
    ctx = Context(args, clock)
    try:
        _check_arguments(args)
        resolve(args.fn)(ctx)
    except ShanyuError as exc:
        _report(ctx, exc)
        return 1
    except SystemExit as exc:
        return int(exc.code or 0)
    except Exception as exc:  # noqa: BLE001 - a defect or an exhausted resource: a message, not a traceback
        _report(ctx, _unexpected(exc))
        return 1
    finally:
        ctx.close()
    return 0


def _unexpected(exc: Exception) -> ShanyuError:
    """What the user reads when something other than a ``ShanyuError`` stops a command. Nothing was
    saved: every command runs in one transaction, which the error rolled back."""
    from sqlalchemy.exc import DataError

    from workflow.errors import InternalError, ResourceExhausted

    if isinstance(exc, MemoryError):
        return ResourceExhausted("The command ran out of memory and was stopped; nothing was saved.")
    if isinstance(exc, DataError):  # PostgreSQL refused a value (too long for its column, say)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        return InvalidData(f"The database refused a value: {reason}. Nothing was saved.")
    if isinstance(exc, RecursionError):
        return ResourceExhausted("The command met a structure nested too deeply to handle and was stopped; "
                                 "nothing was saved.")
    text = str(exc) if len(str(exc)) <= 300 else str(exc)[:300] + "…"
    return InternalError(f"Unexpected {type(exc).__name__}: {text}. Nothing was saved; this is a defect of "
                         "Shanyu, please report it with this message.")


if __name__ == "__main__":
    sys.exit(main())
