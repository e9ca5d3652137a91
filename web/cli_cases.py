"""The ``shanyu`` commands over cases: init, deploy, start, tasks, claim/release/complete,
message, finding, history, user, lane and serve. ``web.cli`` parses the command line and calls them; each
wraps one engine command in one transaction.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from web import cli_audit, cli_timers
from web.cli import Context, parse_json
from workflow import history, migrate
from workflow.clock import SHANGHAI, shanghai_text
from workflow.errors import InvalidData
from workflow.inbox import claimable_tasks
from workflow.store import HumanTask
from workflow.taskview import TaskView
from workflow.users import add_user, check_user, load_actor, map_lane


def task_dict(ht: HumanTask | TaskView) -> dict[str, Any]:
    return {
        "id": ht.id, "instance_id": ht.instance_id, "process_id": ht.process_id, "bpmn_id": ht.bpmn_id,
        "name": ht.name, "lane": ht.lane, "role": ht.role, "district": ht.district,
        "claimed_by": ht.claimed_by, "state": ht.state,
        "due": ht.due_at.astimezone(SHANGHAI).isoformat() if ht.due_at else None,
    }


def task_line(t: dict[str, Any]) -> str:
    due = f"  due {shanghai_text(t['due'], seconds=False)}" if t["due"] else ""
    who = f"  claimed by {t['claimed_by']}" if t["claimed_by"] else ""
    where = f" [{t['district']}]" if t["district"] else ""
    return f"#{t['id']:<6} case {t['instance_id']:<5} {t['name']} ({t['lane'] or '-'}){where} {t['state']}{who}{due}"


# -- commands ----------------------------------------------------------------------------------
def cmd_init(ctx: Context) -> None:
    revision = migrate.upgrade(ctx.db)
    ctx.out({"database": ctx.db.url, "revision": revision}, f"Database ready at {ctx.db.url} (schema {revision}).")


def cmd_deploy(ctx: Context) -> None:
    from workflow.specs import SUFFIXES

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
        results = ctx.engine.deploy(session, files, actor=ctx.actor(session), now=ctx.clock.now(),
                                    reason=getattr(ctx.args, "reason", None))
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


def cmd_task_verb(ctx: Context) -> None:
    """claim, release or complete (``ctx.args.verb``)."""
    verb = ctx.args.verb
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


def cmd_finding(ctx: Context) -> None:
    """A finding of 动态监测 or 督查指导 (``workflow.monitoring``): opens the named district's
    verification, as the page /monitoring does, and decides nothing."""
    from workflow import monitoring

    summary = sys.stdin.read() if ctx.args.summary == "-" else ctx.args.summary
    finding = monitoring.Finding.of({"district": ctx.args.district, "ground": ctx.args.ground,
                                     "source": ctx.args.source, "summary": summary})
    with ctx.db.write() as session:
        instance_id = monitoring.file_finding(session, ctx.engine, finding, actor=ctx.actor(session),
                                              now=ctx.clock.now())
    ctx.out({"instance_id": instance_id, "district": finding.district, "ground": finding.ground,
             "source": finding.source},
            f"Finding filed: revocation case {instance_id} waits at 核实情况 for {monitoring.FINDING_ROLE}.")


def cmd_history_show(ctx: Context) -> None:
    with ctx.db.read() as session:
        result = history.verify_instance(session, ctx.args.instance)
        events = [e.to_dict() for e in history.list_events(session, ctx.args.instance)]
    ctx.out({"instance_id": ctx.args.instance, "events": events, "verified": result.to_dict()}, lambda: "\n".join(
        [cli_timers.history_line(e) for e in events]
        + [("chain intact" if result.ok else f"CHAIN BROKEN at event {result.broken_seq}: {result.reason}")]))


def cmd_history_verify(ctx: Context) -> None:
    """Each case's hash chain, then its live state against the chain (``workflow.integrity``)."""
    from workflow import integrity

    with ctx.db.read() as session:
        if ctx.args.instance is not None:
            results = [history.verify_instance(session, ctx.args.instance)]
        else:
            results = list(history.verify_all(session))
        chained = [r.instance_id for r in results if r.ok]
        altered = [s for s in integrity.check_all(session, ctx.engine.cases, chained) if not s.ok]
        anchored = cli_audit.check_anchor_file(ctx, session, ctx.args.anchor) if ctx.args.anchor else None
        from workflow import journal

        journaled = journal.verify(session) if ctx.args.instance is None else None
    broken = [r for r in results if not r.ok]
    problems = [r.to_dict() for r in broken] + [
        {"instance_id": s.instance_id, "ok": False, "broken_seq": None, "reason": f"live state: {s.reason}"}
        for s in altered] + [
        {"instance_id": p["instance_id"], "ok": False, "broken_seq": None, "reason": f"anchor: {p['reason']}"}
        for p in (anchored.problems if anchored is not None else [])] + (
        [{"instance_id": None, "ok": False, "broken_seq": journaled.broken_seq, "reason": f"journal: {journaled.reason}"}]
        if journaled is not None and not journaled.ok else [])
    ok = not problems
    ctx.out({"ok": ok, "instances": len(results), "events": sum(r.events for r in results),
             "journal_events": journaled.events if journaled is not None else None, "broken": problems},
            lambda: "\n".join([f"case {r.instance_id}: BROKEN at event {r.broken_seq}: {r.reason}" for r in broken]
                              + [f"case {s.instance_id}: LIVE STATE ALTERED: {s.reason}" for s in altered]
                              + [f"ANCHOR: {p['reason']}" for p in (anchored.problems if anchored else [])]
                              + ([f"SYSTEM JOURNAL BROKEN at event {journaled.broken_seq}: {journaled.reason}"]
                                 if journaled is not None and not journaled.ok else [])
                              + ([f"anchor of {anchored.at}: {anchored.cases} case head(s) as signed"]
                                 if anchored is not None and anchored.ok else [])
                              + [f"{len(results)} case(s), {sum(r.events for r in results)} events: "
                                 + ("all chains intact, every live state matches its history" if ok
                                    else f"{len(broken)} broken chain(s), {len(altered)} altered live state(s)"
                                    + (f", {len(anchored.problems)} anchor problem(s)" if anchored else ""))]))
    if not ok:
        raise SystemExit(1)


def state_lines(state: dict[str, Any]) -> list[str]:
    """The case after a replayed event, as ``history replay --upto`` prints it."""
    event = state["event"] or {}
    lines = [f"after event #{event.get('seq')} ({event.get('type')}, {event.get('actor')}):"]
    for t in state["active_tasks"]:
        held = f", held by {t['claimed_by']}" if t["claimed_by"] else ", not claimed"
        lines.append(f"  open: {t['name']} ({t['lane'] or '-'}{held})")
    lines += [f"  waiting: {t['name']}" for t in state["waiting"]]
    lines.append(f"  {len(state['completed'])} task(s) completed so far")
    return lines


def cmd_history_replay(ctx: Context) -> None:
    from workflow.replay import replay, state_at

    state: dict[str, Any] | None = None
    with ctx.db.read() as session:
        if ctx.args.upto is not None:
            result, state = state_at(session, ctx.engine, ctx.args.instance, ctx.args.upto)
        else:
            result = replay(session, ctx.engine, ctx.args.instance)
    ctx.out({**result.to_dict(), **({"state": state} if state is not None else {})}, lambda: "\n".join(
        [f"#{s.seq:<4} {shanghai_text(s.at)}  {s.type:<18} "
         + ("state reproduced" if s.ok else f"MISMATCH: {s.note}") for s in result.steps]
        + [f"case {result.instance_id}: " + ("replay reproduces every recorded state" if result.ok
                                             else f"replay differs at event {result.first_mismatch.seq}"
                                             if result.first_mismatch else "")]
        + (state_lines(state) if state is not None else [])))
    if not result.ok:
        raise SystemExit(1)


def cmd_user_add(ctx: Context) -> None:
    password = None
    if ctx.args.password_stdin:
        password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("Password: ")
    with ctx.db.write() as session:
        check_user(session, ctx.args.role, ctx.args.district)
        actor = add_user(session, ctx.args.name, ctx.args.role, district=ctx.args.district, password=password,
                         email=ctx.args.email, now=ctx.clock.now())
    ctx.out({"name": actor.name, "roles": sorted(actor.roles), "district": actor.district},
            f"User {actor.name}: roles {', '.join(sorted(actor.roles))}"
            + (f", district {actor.district}" if actor.district else ""))


def cmd_lane_map(ctx: Context) -> None:
    with ctx.db.write() as session:
        map_lane(session, ctx.args.lane, ctx.args.role)
    ctx.out({"lane": ctx.args.lane, "role": ctx.args.role}, f"Lane '{ctx.args.lane}' → role '{ctx.args.role}'.")


def cmd_serve(ctx: Context) -> None:
    from web.app import create_app, persistent_secret_key

    migrate.upgrade(ctx.db)
    config: dict[str, Any] = {"DATABASE_URL": ctx.db.url}
    if not os.environ.get("SHANYU_SECRET_KEY"):
        config["SECRET_KEY"] = persistent_secret_key(Path("instance") / "secret_key")
    app = create_app(config)
    from web.serving import create_server, run

    # listening first: a port in use fails before the scheduler starts, and the address shown is live
    try:
        server = create_server(app, host=ctx.args.host, port=ctx.args.port)
    except OSError as exc:
        raise InvalidData(f"Cannot listen on {ctx.args.host}:{ctx.args.port}: {exc.strerror or exc}. Choose another "
                          "--port (or --host), or stop what is using it.") from None
    try:
        with cli_timers.scheduler_for(ctx, app):
            print(f"Shanyu 善育: http://{ctx.args.host}:{server.effective_port}/ (Ctrl+C stops)", file=sys.stderr,
                  flush=True)
            run(server)
    except KeyboardInterrupt:  # Ctrl-C before the server ran: the scheduler has stopped on the way out
        server.close()
    print("Shanyu stopped.", file=sys.stderr, flush=True)
