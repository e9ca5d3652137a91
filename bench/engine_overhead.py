#!/usr/bin/env python
"""Figure 1 — engine overhead: completing one user task through the engine vs bare SpiffWorkflow.

Two comparisons, each interleaved task by task (which side goes first alternates every step),
complete the same tasks of the same diagram (N sequential user tasks, spec objects shared):
engine vs bare, then engine vs naive on fresh cases. The sides:

* **engine**: ``with db.write(): engine.complete(...)`` on SQLite (WAL) — load the case (the cache,
  validated by the row's state token), run, write changed rows, projections, history event with
  state digest, commit. The claim is its own transaction, done beforehand and not timed.
* **bare**: SpiffWorkflow in memory on a workflow built from the same spec:
  ``get_task_from_id`` + ``set_data`` + ``task.run()`` + ``workflow.do_engine_steps()``.
* **cold**: the engine side with the case cache emptied before each completion, so the command
  loads the case from the database (a fresh process, or a case evicted from the cache).
* **claim**: the claim before each engine completion, its own transaction (it loads no workflow);
  claim + complete per task is reported against bare too (the unit peers count).
* **naive**: the design the engine must beat: bare, plus a full ``BpmnWorkflowSerializer``
  (SPIFF_CONFIG) ``deserialize_json`` + ``serialize_json`` round trip, plus writing that JSON to a
  SQLite (WAL) table and committing.

The ready task is found outside the timed block the same way for every side (by its task id).
Targets (issue 5): engine/bare ≤ 5 at 20 and at 100 tasks; engine/naive ≤ 0.25 at 100 tasks.
"""

from __future__ import annotations

import cProfile
import pstats
import sqlite3
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

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
from workflow.engine import Engine  # noqa: E402
from workflow.store import Database, ProcessVersion  # noqa: E402

DATA = {"approved": True, "comment": "同意", "score": 90}
TARGET_BARE = 5.0
TARGET_NAIVE = 0.25


class NaiveStore:
    """The naive design's storage: one row per case holding the whole serialized workflow."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=60000"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.conn.execute("CREATE TABLE workflow_state (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")

    def write(self, case_id: int, body: str) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute("INSERT OR REPLACE INTO workflow_state (id, body) VALUES (?, ?)", (case_id, body))
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


def first_ready(workflow: BpmnWorkflow) -> UUID:
    found: UUID = next(t.id for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual)
    return found


class Sides:
    """The engine, bare and naive sides of one diagram; each side works its own copy of a case."""

    def __init__(self, db: Database, n: int) -> None:
        self.db, self.n = db, n
        self.engine = Engine()
        self.clock = new_clock()
        self.pid = deploy_sequential(self.engine, db, self.clock, n)
        with db.read() as session:
            version_id = session.query(ProcessVersion.id).filter_by(process_id=self.pid).scalar()
            self.spec, self.subprocess_specs = self.engine.cases.specs_for(session, version_id)
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
        self.naive_store = NaiveStore(Path(db.url.split("///", 1)[1]).with_name("naive.db"))

    def new_workflow(self) -> BpmnWorkflow:
        wf = BpmnWorkflow(self.spec, self.subprocess_specs)
        wf.data.update({"district": "310101"})
        wf.do_engine_steps()
        return wf

    def compare(self, names: tuple[str, str], rounds: int) -> dict[str, list[int]]:
        """Complete every task of ``rounds`` cases on both sides, alternating which side goes first."""
        times: dict[str, list[int]] = {name: [] for name in (*names, "claim", "claim+complete")}
        for r in range(rounds):
            with self.db.write() as session:
                iid = self.engine.start(session, self.pid, {"district": "310101"}, actor=WORKER,
                                        now=self.clock.now())
            workflow = self.new_workflow()  # the bare or the naive side's case
            text = self.serializer.serialize_json(workflow)
            if "naive" in names:
                self.naive_store.write(r, text)
            for k in range(self.n):
                # -- preparation, not timed: find each side's ready task; the engine's is claimed
                found = ready_task(self.db, iid)
                assert found is not None, "the engine case has no ready task"
                hid = found[0]
                self.clock.advance(seconds=1)
                t0 = now_ns()
                with self.db.write() as session:
                    self.engine.claim(session, hid, actor=WORKER, now=self.clock.now())
                claim = now_ns() - t0
                times["claim"].append(claim)
                self.clock.advance(seconds=1)
                other_id = first_ready(workflow)
                for side in names if (k + r) % 2 == 0 else names[::-1]:
                    if side == "cold":  # the case is not cached: loaded from the database by the command
                        self.engine.cases.forget()
                    t0 = now_ns()
                    if side in ("engine", "cold"):
                        with self.db.write() as session:
                            self.engine.complete(session, hid, DATA, actor=WORKER, now=self.clock.now())
                    elif side == "bare":
                        task = workflow.get_task_from_id(other_id)
                        task.set_data(**DATA)
                        task.run()
                        workflow.do_engine_steps()
                    else:  # naive: load the whole workflow, run, save it whole, commit
                        workflow = self.serializer.deserialize_json(text)
                        task = workflow.get_task_from_id(other_id)
                        task.set_data(**DATA)
                        task.run()
                        workflow.do_engine_steps()
                        text = self.serializer.serialize_json(workflow)
                        self.naive_store.write(r, text)
                    times[side].append(now_ns() - t0)
                    if side in ("engine", "cold"):
                        times["claim+complete"].append(claim + times[side][-1])
            assert workflow.completed and ready_task(self.db, iid) is None
        return times


def measure(n: int, rounds: int, report: Report, *, profile: bool = False) -> None:
    header(f"{n} sequential user tasks: engine vs bare, then engine vs naive; {rounds} cases, "
           f"{n * rounds} completions per side each")
    with sqlite_database() as db:
        sides = Sides(db, n)
        try:
            vs_bare = sides.compare(("engine", "bare"), rounds)
            vs_naive = sides.compare(("engine", "naive"), rounds)
            cold = sides.compare(("cold", "naive"), rounds)
            if profile:
                profile_engine(sides.engine, db, sides.clock, sides.pid, n)
        finally:
            sides.naive_store.close()
    eng, bare_ms = ms(median(vs_bare["engine"])), ms(median(vs_bare["bare"]))
    report.add(f"[{n} tasks] bare SpiffWorkflow, median per completion", bare_ms, "ms")
    report.add(f"[{n} tasks] engine complete (SQLite), median", eng, "ms", detail="interleaved with bare")
    report.add(f"[{n} tasks] engine / bare", eng / bare_ms, "×", target=f"≤ {TARGET_BARE:g}",
               passed=eng / bare_ms <= TARGET_BARE)
    claim_ms = ms(median(vs_bare["claim"]))
    both_ms = ms(median(vs_bare["claim+complete"]))
    report.add(f"[{n} tasks] engine claim (SQLite), median", claim_ms, "ms", detail="no workflow load")
    report.add(f"[{n} tasks] engine claim + complete / bare complete", both_ms / bare_ms, "×",
               target=f"≤ {TARGET_BARE:g}", passed=both_ms / bare_ms <= TARGET_BARE)
    eng, naive_ms = ms(median(vs_naive["engine"])), ms(median(vs_naive["naive"]))
    report.add(f"[{n} tasks] naive (bare+round trip+write), median", naive_ms, "ms")
    report.add(f"[{n} tasks] engine complete (SQLite), median", eng, "ms", detail="interleaved with naive")
    if n >= 100:
        report.add(f"[{n} tasks] engine / naive", eng / naive_ms, "×", target=f"≤ {TARGET_NAIVE:g}",
                   passed=eng / naive_ms <= TARGET_NAIVE)
    else:
        report.add(f"[{n} tasks] engine / naive", eng / naive_ms, "×")
    cold_ms, cold_naive = ms(median(cold["cold"])), ms(median(cold["naive"]))
    report.add(f"[{n} tasks] engine complete, case loaded from the database (cold), median", cold_ms, "ms",
               detail="interleaved with naive")
    report.add(f"[{n} tasks] engine cold / naive", cold_ms / cold_naive, "×")


def profile_engine(engine: Engine, db: Database, clock: Any, pid: str, n: int) -> None:
    """cProfile over the engine side only (one more case): own time by package, then the
    functions of workflow/ by cumulative time and all functions by own time."""
    with db.write() as session:
        iid = engine.start(session, pid, {"district": "310101"}, actor=WORKER, now=clock.now())
    prof = cProfile.Profile()
    for _ in range(n):
        found = ready_task(db, iid)
        assert found is not None
        clock.advance(seconds=1)
        with db.write() as session:
            engine.claim(session, found[0], actor=WORKER, now=clock.now())
        prof.enable()
        with db.write() as session:
            engine.complete(session, found[0], DATA, actor=WORKER, now=clock.now())
        prof.disable()
    stats = pstats.Stats(prof, stream=sys.stdout)
    groups: dict[str, float] = {}
    for (file, _line, func), (_cc, _nc, own, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        group = next((g for key, g in PACKAGES if key in file or key in func), "other")
        groups[group] = groups.get(group, 0.0) + own
    total = sum(groups.values())
    print(f"-- profile of {n} engine completions ({n} tasks); own time by package (cProfile inflates totals)")
    for group, own in sorted(groups.items(), key=lambda item: -item[1]):
        print(f"   {group:<22} {100 * own / total:5.1f} %")
    stats.sort_stats("cumulative").print_stats("/workflow/", 25)
    stats.sort_stats("tottime").print_stats(20)


PACKAGES = [("sqlalchemy", "SQLAlchemy"), ("SpiffWorkflow", "SpiffWorkflow"), ("/workflow/", "workflow/ (Shanyu)"),
            ("sqlite3", "sqlite3 driver"), ("json", "json"), ("uuid", "uuid"), ("hashlib", "hashlib"),
            ("sha256", "hashlib")]


def main() -> int:
    p = parser(__doc__.splitlines()[1], postgres=False)
    p.add_argument("--profile", action="store_true", help="also print a cProfile of the engine side")
    args = p.parse_args()
    report = Report("engine_overhead", args)
    plan = [(20, 4), (100, 2)] if args.quick else [(20, 25), (100, 6)]
    for n, rounds in plan:
        measure(n, rounds, report, profile=args.profile)
    return report.summary()


if __name__ == "__main__":
    sys.exit(main())
