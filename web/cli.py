"""The ``shanyu`` command line. Each command wraps one engine command in one transaction.

Every command accepts ``--json`` for machine-readable output (the stable contract documented in
the README). Errors go to stderr and the exit status is 1.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select

from web import cli_timers, demo
from workflow import history, migrate
from workflow.clock import SHANGHAI, SystemClock
from workflow.engine import Engine, TaskView
from workflow.errors import DatabaseNotReady, InvalidData, ShanyuError
from workflow.inbox import claimable_tasks
from workflow.specs import SUFFIXES
from workflow.store import Database, HumanTask
from workflow.users import Actor, add_user, check_user, load_actor, map_lane

CLI_ACTOR = Actor("cli", frozenset({"admin"}))


class Context:
    """What a command needs: the database, the engine, the clock, and how to print."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.json = bool(getattr(args, "json", False))
        self.clock = SystemClock()
        self._db: Database | None = None
        self._engine: Engine | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
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
            self._engine = Engine()
        return self._engine

    def actor(self, session: Any) -> Actor:
        name = getattr(self.args, "as_user", None)
        return load_actor(session, name) if name else CLI_ACTOR

    def out(self, value: Any, text: str | Callable[[], str]) -> None:
        if self.json:
            print(json.dumps(value, ensure_ascii=False, indent=2, default=str))
        else:
            print(text() if callable(text) else text)


def _require_schema(db: Database) -> None:
    """Commands other than init and serve need a database that ``shanyu init`` prepared."""
    try:
        current = migrate.current_revision(db)
    except Exception as exc:  # noqa: BLE001 - unreachable server, bad URL, unreadable file
        db.dispose()
        raise DatabaseNotReady(f"Cannot open the database at {db.url}: {exc.__class__.__name__}: {exc}") from exc
    head = migrate.head_revision()
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


def task_dict(ht: HumanTask | TaskView) -> dict[str, Any]:
    return {
        "id": ht.id, "instance_id": ht.instance_id, "process_id": ht.process_id, "bpmn_id": ht.bpmn_id,
        "name": ht.name, "lane": ht.lane, "role": ht.role, "district": ht.district,
        "claimed_by": ht.claimed_by, "state": ht.state,
        "due": ht.due_at.astimezone(SHANGHAI).isoformat() if ht.due_at else None,
    }


def task_line(t: dict[str, Any]) -> str:
    due = f"  due {t['due'][:16].replace('T', ' ')}" if t["due"] else ""
    who = f"  claimed by {t['claimed_by']}" if t["claimed_by"] else ""
    where = f" [{t['district']}]" if t["district"] else ""
    return f"#{t['id']:<6} case {t['instance_id']:<5} {t['name']} ({t['lane'] or '-'}){where} {t['state']}{who}{due}"


# -- commands ----------------------------------------------------------------------------------
def cmd_init(ctx: Context) -> None:
    revision = migrate.upgrade(ctx.db)
    ctx.out({"database": ctx.db.url, "revision": revision}, f"Database ready at {ctx.db.url} (schema {revision}).")


def cmd_deploy(ctx: Context) -> None:
    files: dict[str, bytes] = {}
    for name in ctx.args.files:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
            if not found:
                raise InvalidData(f"{path} holds no .bpmn or .dmn files.")
            items = [(p.relative_to(path).as_posix(), p) for p in found]
        elif path.is_file():
            items = [(path.name, path)]
        else:
            raise InvalidData(f"{path}: no such file or directory.")
        for key, file in items:
            if key in files:  # one would silently replace the other in the bundle
                raise InvalidData(f"Two files would both be named {key!r} in the bundle; deploy them separately.")
            files[key] = file.read_bytes()
    with ctx.db.write() as session:
        results = ctx.engine.deploy(session, files, actor=ctx.actor(session), now=ctx.clock.now())
    ctx.out([r.to_dict() for r in results], lambda: "\n".join(
        f"{r.process_id} v{r.version} ({r.name}): " + ("deployed" if r.created else "unchanged, nothing deployed")
        for r in results))


def cmd_start(ctx: Context) -> None:
    data = parse_json(ctx.args.data, "--data")
    with ctx.db.write() as session:
        iid = ctx.engine.start(session, ctx.args.process_id, data, actor=ctx.actor(session), now=ctx.clock.now(),
                               version=ctx.args.version)
    with ctx.db.read() as session:
        tasks = [task_dict(t) for t in session.execute(
            select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.state == "ready")).scalars()]
    ctx.out({"id": iid, "instance_id": iid, "process_id": ctx.args.process_id, "tasks": tasks},
            lambda: "\n".join([f"Started case {iid} ({ctx.args.process_id})."] + [task_line(t) for t in tasks]))


def cmd_tasks(ctx: Context) -> None:
    with ctx.db.read() as session:
        if ctx.args.as_user:
            rows: list[Any] = claimable_tasks(session, load_actor(session, ctx.args.as_user))
        else:
            rows = list(session.execute(
                select(HumanTask).where(HumanTask.state == "ready").order_by(HumanTask.id)).scalars())
    tasks = [task_dict(t) for t in rows]
    ctx.out(tasks, lambda: "\n".join(task_line(t) for t in tasks) or "No open tasks.")


def _task_command(ctx: Context, verb: str) -> None:
    with ctx.db.write() as session:
        actor = ctx.actor(session)
        now = ctx.clock.now()
        if verb == "claim":
            ht = ctx.engine.claim(session, ctx.args.task, actor=actor, now=now)
        elif verb == "release":
            ht = ctx.engine.release(session, ctx.args.task, actor=actor, now=now)
        else:
            ht = ctx.engine.complete(session, ctx.args.task, parse_json(ctx.args.data, "--data"), actor=actor, now=now)
        result = task_dict(ht)
    ctx.out(result, task_line(result))


def cmd_message(ctx: Context) -> None:
    keys: dict[str, str] = {}
    for item in ctx.args.key or []:
        if "=" not in item:
            raise InvalidData(f"--key {item!r}: write correlation keys as NAME=VALUE, e.g. --key district=310101.")
        name, value = item.split("=", 1)
        keys[name.strip()] = value
    data = parse_json(ctx.args.data, "--data")
    with ctx.db.write() as session:
        reached = ctx.engine.message(session, ctx.args.name, keys, data, actor=ctx.actor(session), now=ctx.clock.now())
    ctx.out({"name": ctx.args.name, "keys": keys, "instance_ids": reached},
            f"Message '{ctx.args.name}' delivered to case(s) {', '.join(map(str, reached))}.")


def cmd_history_show(ctx: Context) -> None:
    with ctx.db.read() as session:
        result = history.verify_instance(session, ctx.args.instance)
        events = [e.to_dict() for e in history.list_events(session, ctx.args.instance)]
    ctx.out({"instance_id": ctx.args.instance, "events": events, "verified": result.to_dict()}, lambda: "\n".join(
        [cli_timers.history_line(e) for e in events]
        + [("chain intact" if result.ok else f"CHAIN BROKEN at event {result.broken_seq}: {result.reason}")]))


def cmd_history_verify(ctx: Context) -> None:
    with ctx.db.read() as session:
        if ctx.args.instance is not None:
            results = [history.verify_instance(session, ctx.args.instance)]
        else:
            results = list(history.verify_all(session))
    broken = [r for r in results if not r.ok]
    ctx.out({"ok": not broken, "instances": len(results), "events": sum(r.events for r in results),
             "broken": [r.to_dict() for r in broken]},
            lambda: "\n".join([f"case {r.instance_id}: BROKEN at event {r.broken_seq}: {r.reason}" for r in broken]
                              + [f"{len(results)} case(s), {sum(r.events for r in results)} events: "
                                 + ("all chains intact" if not broken else f"{len(broken)} broken")]))
    if broken:
        raise SystemExit(1)


def cmd_history_replay(ctx: Context) -> None:
    from workflow.replay import replay

    with ctx.db.read() as session:
        result = replay(session, ctx.engine, ctx.args.instance, upto=ctx.args.upto)
    ctx.out(result.to_dict(), lambda: "\n".join(
        [f"#{s.seq:<4} {s.at[:19].replace('T', ' ')}Z  {s.type:<18} "
         + ("state reproduced" if s.ok else f"MISMATCH: {s.note}") for s in result.steps]
        + [f"case {result.instance_id}: " + ("replay reproduces every recorded state" if result.ok
                                             else f"replay differs at event {result.first_mismatch.seq}"
                                             if result.first_mismatch else "")]))
    if not result.ok:
        raise SystemExit(1)


def cmd_user_add(ctx: Context) -> None:
    password = None
    if ctx.args.password_stdin:
        password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("Password: ")
    with ctx.db.write() as session:
        check_user(session, ctx.args.role, ctx.args.district)
        actor = add_user(session, ctx.args.name, ctx.args.role, district=ctx.args.district, password=password,
                         now=ctx.clock.now())
    ctx.out({"name": actor.name, "roles": sorted(actor.roles), "district": actor.district},
            f"User {actor.name}: roles {', '.join(sorted(actor.roles))}"
            + (f", district {actor.district}" if actor.district else ""))


def cmd_lane_map(ctx: Context) -> None:
    with ctx.db.write() as session:
        map_lane(session, ctx.args.lane, ctx.args.role)
    ctx.out({"lane": ctx.args.lane, "role": ctx.args.role}, f"Lane '{ctx.args.lane}' → role '{ctx.args.role}'.")


def cmd_serve(ctx: Context) -> None:
    from web.app import create_app

    migrate.upgrade(ctx.db)
    app = create_app({"DATABASE_URL": ctx.db.url})
    with cli_timers.scheduler_for(ctx, app):
        app.run(host=ctx.args.host, port=ctx.args.port, threaded=True)


# -- parser ------------------------------------------------------------------------------------
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

    parser = argparse.ArgumentParser(prog="shanyu", description="Shanyu (善育) workflow system", parents=[top])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("init", parents=[common], help="create or upgrade the database").set_defaults(fn=cmd_init, needs_schema=False)
    p = sub.add_parser("deploy", parents=[common, needs_user],
                       help="deploy BPMN/DMN files or folders (as a 流程管理员 or admin)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(fn=cmd_deploy)
    p = sub.add_parser("start", parents=[common, needs_user], help="start a case")
    p.add_argument("process_id")
    p.add_argument("--data", help="start data, a JSON object ('-' reads stdin)")
    p.add_argument("--version", type=int, help="a specific process version (default: latest)")
    p.set_defaults(fn=cmd_start)
    sub.add_parser("tasks", parents=[common, as_user], help="open tasks (claimable by USER with --as)") \
        .set_defaults(fn=cmd_tasks)
    for verb, text in (("claim", "claim a task"), ("release", "release a claimed task"),
                       ("complete", "complete a claimed task")):
        p = sub.add_parser(verb, parents=[common, needs_user], help=text)
        p.add_argument("task", type=int, metavar="TASK")
        if verb == "complete":
            p.add_argument("--data", help="task data, a JSON object ('-' reads stdin)")
        p.set_defaults(fn=lambda ctx, v=verb: _task_command(ctx, v))
    p = sub.add_parser("message", parents=[common, needs_user], help="deliver a message to waiting cases")
    p.add_argument("name")
    p.add_argument("--key", action="append", metavar="K=V", help="correlation key (repeatable)")
    p.add_argument("--data", help="message data, a JSON object")
    p.set_defaults(fn=cmd_message)
    hist = sub.add_parser("history", help="show or verify case history").add_subparsers(dest="history_command",
                                                                                      required=True)
    p = hist.add_parser("show", parents=[common], help="a case's events")
    p.add_argument("instance", type=int)
    p.set_defaults(fn=cmd_history_show)
    p = hist.add_parser("verify", parents=[common], help="recompute hash chains (exit 1 if any is broken)")
    p.add_argument("instance", type=int, nargs="?")
    p.set_defaults(fn=cmd_history_verify)
    p = hist.add_parser("replay", parents=[common], help="rebuild a case from its inputs and compare every "
                        "recorded state (exit 1 on a mismatch)")
    p.add_argument("instance", type=int)
    p.add_argument("--upto", type=int, metavar="SEQ", help="stop after this event")
    p.set_defaults(fn=cmd_history_replay)
    user = sub.add_parser("user", help="manage users").add_subparsers(dest="user_command", required=True)
    p = user.add_parser("add", parents=[common], help="create or update a user")
    p.add_argument("name")
    p.add_argument("--role", action="append", required=True,
                   help="role (repeatable): a lane name of a deployed process, 流程管理员, admin or auditor")
    p.add_argument("--district", help="district code for district staff (one of Shanghai's 16, e.g. 310101)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(fn=cmd_user_add)
    lane = sub.add_parser("lane", help="map lanes to roles").add_subparsers(dest="lane_command", required=True)
    p = lane.add_parser("map", parents=[common], help="let ROLE claim the tasks of LANE")
    p.add_argument("lane")
    p.add_argument("role")
    p.set_defaults(fn=cmd_lane_map)
    p = sub.add_parser("serve", parents=[common], help="run the web server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--no-scheduler", action="store_true", help="do not fire timers in this process")
    p.set_defaults(fn=cmd_serve, needs_schema=False)
    cli_timers.register(sub, common)
    demo.register(sub, common)
    return parser


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (also for --help and usage errors)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse printed the help (0) or the usage error (2)
        return int(exc.code or 0)
    ctx = Context(args)
    try:
        _check_arguments(args)
        args.fn(ctx)
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
