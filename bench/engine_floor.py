#!/usr/bin/env python
"""Figure 1's floor — what a claim + completion costs in SQL alone, against the engine and bare SpiffWorkflow.

The engine's claim and completion each send a handful of statements to SQLite in one transaction.
This script records those statements, with their parameters, as the engine sends them to the
driver, and sends the same statements again, on a raw ``sqlite3`` connection, to a copy of the
database kept in step with the engine's: the time that takes is what the database itself needs
(SQLite's work, the driver's, the page writes of the commit), with none of the engine's Python.
Each step of a case is measured four ways, interleaved (the order rotates every step):

* **engine**: claim, then complete, each ``with db.write()``, on a database of its own (untraced);
* **traced**: the same commands on a second database whose connections record every statement
  (``sqlite3.connect(factory=...)``, through SQLAlchemy's ``do_connect`` event); not timed;
* **raw**: the recorded statements of that step, replayed on the copy (``BEGIN IMMEDIATE`` ...
  ``COMMIT``, rows fetched as the engine fetches them);
* **bare**: SpiffWorkflow's own completion of the same task, in memory (as ``engine_overhead.py``).

So ``raw / bare`` is how much of the ``engine_overhead.py`` ratio the database takes before the
engine runs any Python of its own, and ``5 × bare − bare − raw`` is what the target of issue 9
(claim + complete ≤ 5 × bare) leaves for it. Medians over every step; SQLite only.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from sqlalchemy import event  # noqa: E402

from bench.common import (  # noqa: E402
    WORKER,
    Report,
    deploy_sequential,
    header,
    median,
    ms,
    new_clock,
    now_ns,
    parser,
    ready_task,
    sqlite_database,
)
from bench.engine_overhead import DATA, TARGET_BARE, first_ready  # noqa: E402
from workflow.engine import Engine  # noqa: E402
from workflow.store import Database, ProcessVersion  # noqa: E402

# [kind, SQL, parameters, rows changed]; kind: execute, executemany, commit, rollback
Statement = list[Any]


class Recorder:
    """Where the traced connections put what they send, while ``on``."""

    def __init__(self) -> None:
        self.on = False
        self.log: list[Statement] = []

    def add(self, kind: str, sql: str = "", params: Any = ()) -> Statement:
        entry: Statement = [kind, sql, params, -1]
        if self.on:
            self.log.append(entry)
        return entry

    def take(self) -> list[Statement]:
        found, self.log = self.log, []
        return found


RECORDER = Recorder()


class TracedCursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:  # type: ignore[override]
        entry = RECORDER.add("execute", sql, parameters)
        found = super().execute(sql, parameters)
        entry[3] = self.rowcount
        return found

    def executemany(self, sql: str, seq: Any, /) -> sqlite3.Cursor:  # type: ignore[override]
        rows = list(seq)
        entry = RECORDER.add("executemany", sql, rows)
        found = super().executemany(sql, rows)
        entry[3] = self.rowcount
        return found


class TracedConnection(sqlite3.Connection):
    def cursor(self, factory: Any = TracedCursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:  # type: ignore[override]
        return self.cursor().execute(sql, parameters)

    def commit(self) -> None:
        RECORDER.add("commit")
        super().commit()

    def rollback(self) -> None:
        RECORDER.add("rollback")
        super().rollback()


def traced(db: Database) -> Database:
    """``db`` with every new connection recording through ``RECORDER`` (before any is opened)."""

    @event.listens_for(db.engine, "do_connect")
    def _factory(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        cparams["factory"] = TracedConnection

    return db


def replay(conn: sqlite3.Connection, statements: list[Statement]) -> None:
    """Send recorded statements again, fetching every row a statement gives. Each must change as
    many rows as it did on the traced database (the copy is in step), or the figures mean nothing."""
    for kind, sql, params, changed in statements:
        if kind == "commit":
            conn.commit()
        elif kind == "rollback":
            conn.rollback()
        else:
            cursor = conn.cursor()
            if kind == "execute":
                cursor.execute(sql, params)
                count = cursor.rowcount  # as the traced side read it: before any row was fetched
                cursor.fetchall()
            else:
                cursor.executemany(sql, params)
                count = cursor.rowcount
            if count != changed:
                raise AssertionError(f"the copy is out of step: {sql[:60]!r} changed {count} rows, not {changed}")
            cursor.close()


class Sides:
    def __init__(self, plain: Database, traced_db: Database, copy_path: Path, n: int) -> None:
        self.n = n
        self.plain, self.traced = plain, traced_db
        self.engines = {"engine": Engine(), "traced": Engine()}
        self.clocks = {"engine": new_clock(), "traced": new_clock()}
        self.dbs = {"engine": plain, "traced": traced_db}
        self.pid = ""
        for side in ("engine", "traced"):
            self.pid = deploy_sequential(self.engines[side], self.dbs[side], self.clocks[side], n)
        with traced_db.read() as session:
            version_id = session.query(ProcessVersion.id).filter_by(process_id=self.pid).scalar()
            self.spec, self.subprocess_specs = self.engines["traced"].cases.specs_for(session, version_id)
        # the copy starts as the traced database is now, then receives every statement it is sent
        traced_db.dispose()
        source = Path(traced_db.url.split("///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{source}{suffix}").exists():
                shutil.copyfile(f"{source}{suffix}", f"{copy_path}{suffix}")
        self.raw = sqlite3.connect(copy_path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "busy_timeout=60000", "foreign_keys=ON", "synchronous=NORMAL"):
            self.raw.execute(f"PRAGMA {pragma}")

    def command(self, side: str, kind: str, iid: int, hid: int) -> int:
        """One claim or completion on an engine side; returns its time in ns."""
        engine, clock, db = self.engines[side], self.clocks[side], self.dbs[side]
        clock.advance(seconds=1)
        t0 = now_ns()
        with db.write() as session:
            if kind == "claim":
                engine.claim(session, hid, actor=WORKER, now=clock.now())
            else:
                engine.complete(session, hid, DATA, actor=WORKER, now=clock.now())
        return now_ns() - t0

    def start(self, side: str) -> int:
        engine, clock, db = self.engines[side], self.clocks[side], self.dbs[side]
        with db.write() as session:
            return engine.start(session, self.pid, {"district": "310101"}, actor=WORKER, now=clock.now())

    def run(self, rounds: int) -> dict[str, list[int]]:
        times: dict[str, list[int]] = {key: [] for key in (
            "engine claim", "engine complete", "raw claim", "raw complete", "bare", "statements claim",
            "statements complete")}
        step = 0
        for _ in range(rounds):
            RECORDER.on = True
            traced_iid = self.start("traced")
            RECORDER.on = False
            replay(self.raw, RECORDER.take())
            iid = self.start("engine")
            workflow = BpmnWorkflow(self.spec, self.subprocess_specs)
            workflow.data.update({"district": "310101"})
            workflow.do_engine_steps()
            for _k in range(self.n):
                found, traced_found = ready_task(self.plain, iid), ready_task(self.traced, traced_iid)
                assert found is not None and traced_found is not None
                recorded: dict[str, list[Statement]] = {}
                for kind in ("claim", "complete"):
                    RECORDER.on = True
                    self.command("traced", kind, traced_iid, traced_found[0])
                    RECORDER.on = False
                    recorded[kind] = RECORDER.take()
                    times[f"statements {kind}"].append(sum(1 for s in recorded[kind] if s[0].startswith("exec")))
                order = ["engine", "raw", "bare"]
                order = order[step % 3:] + order[:step % 3]
                step += 1
                for side in order:
                    if side == "engine":
                        for kind in ("claim", "complete"):
                            times[f"engine {kind}"].append(self.command("engine", kind, iid, found[0]))
                    elif side == "raw":
                        for kind in ("claim", "complete"):
                            t0 = now_ns()
                            replay(self.raw, recorded[kind])
                            times[f"raw {kind}"].append(now_ns() - t0)
                    else:
                        task = workflow.get_task_from_id(first_ready(workflow))
                        t0 = now_ns()
                        task.set_data(**DATA)
                        task.run()
                        workflow.do_engine_steps()
                        times["bare"].append(now_ns() - t0)
            assert workflow.completed and ready_task(self.plain, iid) is None
        self.raw.close()
        return times


def measure(n: int, rounds: int, report: Report) -> None:
    header(f"{n} sequential user tasks, {rounds} cases: engine, its statements replayed raw, bare")
    with sqlite_database() as plain, sqlite_database(name="traced.db") as traced_db:
        copy_path = Path(traced_db.url.split("///", 1)[1]).with_name("copy.db")
        times = Sides(plain, traced(traced_db), copy_path, n).run(rounds)
    bare = ms(median(times["bare"]))
    engine_claim, engine_complete = ms(median(times["engine claim"])), ms(median(times["engine complete"]))
    raw_claim, raw_complete = ms(median(times["raw claim"])), ms(median(times["raw complete"]))
    engine_pair, raw_pair = engine_claim + engine_complete, raw_claim + raw_complete
    report.add(f"[{n} tasks] bare SpiffWorkflow completion, median", bare, "ms")
    report.add(f"[{n} tasks] engine claim; complete, medians", engine_claim, "ms", detail=f"complete {engine_complete:.3f} ms")
    report.add(f"[{n} tasks] the same statements raw: claim; complete, medians", raw_claim, "ms",
               detail=f"complete {raw_complete:.3f} ms; statements sent: claim "
                      f"{median(times['statements claim']):g}, complete {median(times['statements complete']):g}")
    report.add(f"[{n} tasks] engine claim + complete / bare", engine_pair / bare, "×", target=f"≤ {TARGET_BARE:g}",
               passed=engine_pair / bare <= TARGET_BARE)
    report.add(f"[{n} tasks] statements alone (raw claim + complete) / bare", raw_pair / bare, "×")
    report.add(f"[{n} tasks] the engine's own work beyond statements and bare (per claim + complete)",
               engine_pair - raw_pair - bare, "ms", detail=f"{(engine_pair - raw_pair - bare) / bare:.2f} × bare")
    report.add(f"[{n} tasks] what ≤ {TARGET_BARE:g} × bare leaves for it", TARGET_BARE * bare - bare - raw_pair, "ms",
               detail=f"{TARGET_BARE - 1 - raw_pair / bare:.2f} × bare")


def main() -> int:
    p = parser(__doc__.splitlines()[1], postgres=False)
    args = p.parse_args()
    report = Report("engine_floor", args)
    plan = [(20, 3), (100, 1)] if args.quick else [(20, 25), (100, 6)]
    for n, rounds in plan:
        measure(n, rounds, report)
    return report.summary()


if __name__ == "__main__":
    sys.exit(main())
