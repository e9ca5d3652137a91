#!/usr/bin/env python
"""Figure 3 — inbox scaling: one user's claimable-tasks query, 1,000 vs 100,000 open tasks.

Two data sets side by side (two SQLite files; two PostgreSQL schemas): 100 cases with 1,000 open
tasks, and 10,000 cases with 100,000 open tasks, each also holding half as many completed tasks.
Rows are **bulk-inserted** with SQL into ``instance`` and ``human_task`` (pinned to a really
deployed process version), shaped as the engine writes them: 16 Shanghai districts, five lanes,
some tasks claimed, some with a due time.

The measured users' inboxes are the same in both sets (20 claimable tasks + 3 they claimed), so
the query's cost may grow only with the table, not with its answer: an indexed query stays flat,
a scan grows ~100×. Users: a district user (role 区有关部门, district 310101) and a municipal user
(role 市有关部门, every district).

Measured is the engine's inbox query, ``workflow.inbox.claimable_tasks(session, actor)`` (execute,
fetch, ``TaskView`` rows) inside an open read transaction. Every answer is checked against ``Actor.may_work_on`` applied in Python to
all ready rows — what ``shanyu tasks --as`` did before the engine had the query; that scan is timed
too, for reference. Queries alternate between the sets and the users; p95 over the repetitions.

Target (issue 5): p95(100,000) ≤ 2 × p95(1,000), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import random
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Table, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.common import (  # noqa: E402
    Report,
    database,
    deploy_sequential,
    header,
    median,
    ms,
    new_clock,
    now_ns,
    parser,
    percentile,
)
from workflow.engine import Engine  # noqa: E402
from workflow.inbox import claimable_query, claimable_tasks
from workflow.store import Database, HumanTask, Instance, ProcessVersion  # noqa: E402
from workflow.users import Actor  # noqa: E402

HT = cast(Table, HumanTask.__table__)
INSTANCE = cast(Table, Instance.__table__)
TARGET = 2.0
DISTRICTS = ["310101", "310104", "310105", "310106", "310107", "310109", "310110", "310112", "310113",
             "310114", "310115", "310116", "310117", "310118", "310120", "310151"]
DISTRICT_ROLE, CITY_ROLE = "区有关部门", "市有关部门"
OTHER_ROLES = ["区政府", "专家组", "市教委"]
USERS = {
    "district user": Actor("huangpu", frozenset({DISTRICT_ROLE}), "310101"),
    "municipal user": Actor("city", frozenset({CITY_ROLE}), None),
}
OWN_CLAIMABLE, OWN_CLAIMED, TASKS_PER_CASE = 20, 3, 10
WARM_UP = 20


# -- the query under test: the engine's own (workflow.inbox) -----------------------------------
SOURCE = "workflow.inbox.claimable_tasks"


def python_filter(session: Session, actor: Actor) -> list[HumanTask]:
    """All ready rows filtered with ``Actor.may_work_on`` (the old ``shanyu tasks --as``)."""
    rows = list(session.execute(select(HumanTask).where(HumanTask.state == "ready")
                                .order_by(HumanTask.id)).scalars())
    return [t for t in rows if t.claimed_by == actor.name
            or (t.claimed_by is None and actor.may_work_on(t.role, t.district))]


# -- the data sets -----------------------------------------------------------------------------
def build(db: Database, cases: int, seed: int) -> dict[str, int]:
    """Deploy a process, then bulk-insert ``cases`` instances with 10 open tasks each (plus 5
    completed), placing exactly the measured users' inboxes among them."""
    rng = random.Random(seed)
    engine, clock = Engine(), new_clock()
    pid = deploy_sequential(engine, db, clock, TASKS_PER_CASE)
    now = clock.now()
    with db.read() as session:
        version_id = session.execute(select(ProcessVersion.id).where(ProcessVersion.process_id == pid)).scalar_one()
    instances, tasks = [], []
    # a few cases in 310101 carry the district user's tasks; the rest lie in other districts
    own_cases = max(2, OWN_CLAIMABLE // TASKS_PER_CASE + 1)
    for iid in range(1, cases + 1):
        district = "310101" if iid <= own_cases else rng.choice(DISTRICTS[1:])
        started = now - timedelta(days=rng.randint(1, 300))
        instances.append({"id": iid, "process_version_id": version_id, "process_id": pid, "status": "running",
                          "district": district, "started_by": "bench", "started_at": started,
                          "updated_at": now, "lock_version": 15, "state_token": uuid.uuid4().hex, "meta": "{}",
                          "event_count": 15, "head_hash": uuid.uuid4().hex * 2})
        for k in range(TASKS_PER_CASE + TASKS_PER_CASE // 2):
            is_open = k < TASKS_PER_CASE
            role = rng.choice(OTHER_ROLES + [DISTRICT_ROLE]) if district != "310101" else rng.choice(OTHER_ROLES)
            claimer = rng.choice(["zhang", "li", "wang"]) if is_open and rng.random() < 0.2 else None
            tasks.append({
                "instance_id": iid, "task_id": str(uuid.UUID(int=rng.getrandbits(128))), "process_id": pid,
                "bpmn_id": f"T{k + 1}", "name": f"任务{k + 1}", "lane": role, "role": role, "district": district,
                "form": f"forms/step{k + 1}.json", "state": "ready" if is_open else "completed",
                "due_at": now + timedelta(days=rng.randint(1, 30)) if rng.random() < 0.3 else None,
                "claimed_by": claimer, "claimed_at": now if claimer else None,
                "created_at": started + timedelta(hours=k), "completed_at": None if is_open else now,
                "completed_by": None if is_open else "zhang"})
    # the measured users' inboxes, identical in both sets: rewrite some open rows in place
    open_rows = [t for t in tasks if t["state"] == "ready"]
    own = [t for t in open_rows if t["district"] == "310101"]
    for i, t in enumerate(own[:OWN_CLAIMABLE + OWN_CLAIMED]):
        t.update(role=DISTRICT_ROLE, lane=DISTRICT_ROLE, claimed_by="huangpu" if i >= OWN_CLAIMABLE else None)
    elsewhere = [t for t in open_rows if t["district"] != "310101"]
    for i, t in enumerate(rng.sample(elsewhere, OWN_CLAIMABLE + OWN_CLAIMED)):
        t.update(role=CITY_ROLE, lane=CITY_ROLE, claimed_by="city" if i >= OWN_CLAIMABLE else None)
    with db.write() as session:
        conn = session.connection()
        for start in range(0, len(instances), 5000):
            conn.execute(insert(INSTANCE), instances[start:start + 5000])
        for start in range(0, len(tasks), 5000):
            conn.execute(insert(HT), tasks[start:start + 5000])
    if not db.is_sqlite:
        with db.engine.connect() as conn:  # autovacuum would do this soon after a load this size
            conn.execute(text("ANALYZE"))
            conn.commit()
    return {"cases": cases, "open": len(open_rows), "rows": len(tasks)}


def explain(db: Database, actor: Actor) -> str:
    query = claimable_query(actor)
    with db.read() as session:
        compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        if db.is_sqlite:
            rows = session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
            return "; ".join(str(r[-1]) for r in rows if str(r[-1]).startswith(("SEARCH", "SCAN")))
        rows = session.execute(text(f"EXPLAIN {compiled}")).all()
        return "; ".join(str(r[0]).strip().lstrip("-> ").split("  (cost")[0] for r in rows
                         if "Scan" in str(r[0]))


def measure_backend(backend: str, pg_url: str | None, reps: int, scan_reps: int, quick: bool,
                    report: Report) -> None:
    sizes = {"small": 10 if quick else 100, "large": 1000 if quick else 10_000}
    label = "SQLite" if backend == "sqlite" else "PostgreSQL"
    with database(backend, pg_url) as small, database(backend, pg_url) as large:
        dbs = {"small": small, "large": large}
        t0 = now_ns()
        built = {name: build(db, sizes[name], seed=7) for name, db in dbs.items()}
        n_small, n_large = (f"{built[s]['open']:,}" for s in ("small", "large"))
        header(f"{label}: bulk-inserted (SQL, not through the engine) {n_small} and {n_large} open tasks "
               f"in {built['small']['cases']:,} / {built['large']['cases']:,} cases, "
               f"{ms(now_ns() - t0) / 1000:.1f} s; query: {SOURCE}")
        # the answer must be what Actor.may_work_on allows, and the same in both sets
        for who, actor in USERS.items():
            sizes_seen = []
            for db in dbs.values():
                with db.read() as session:
                    got = [r.id for r in claimable_tasks(session, actor)]
                    expected = [t.id for t in python_filter(session, actor)]
                    assert got == expected, f"{who}: the query disagrees with Actor.may_work_on"
                sizes_seen.append(len(got))
            assert sizes_seen == [OWN_CLAIMABLE + OWN_CLAIMED] * 2, sizes_seen
        for who, actor in USERS.items():
            print(f"  plan for the {who} at {n_large}: {explain(large, actor)}")
        samples: dict[tuple[str, str], list[int]] = {(s, w): [] for s in dbs for w in USERS}
        with small.read() as s_small, large.read() as s_large:
            sessions = {"small": s_small, "large": s_large}
            order = [(s, w) for s in dbs for w in USERS]
            for i in range(reps + WARM_UP):
                rot = i % len(order)
                for size, who in order[rot:] + order[:rot]:
                    t = now_ns()
                    claimable_tasks(sessions[size], USERS[who])
                    if i >= WARM_UP:
                        samples[(size, who)].append(now_ns() - t)
        for who in USERS:
            small_p95 = ms(percentile(samples[("small", who)], 95))
            large_p95 = ms(percentile(samples[("large", who)], 95))
            report.add(f"{label} {who}: p95 at {n_small} open", small_p95, "ms",
                       detail=f"median {ms(median(samples[('small', who)])):.3f} ms")
            report.add(f"{label} {who}: p95 at {n_large} open", large_p95, "ms",
                       detail=f"median {ms(median(samples[('large', who)])):.3f} ms")
            ratio = large_p95 / small_p95
            report.add(f"{label} {who}: p95 ratio", ratio, "×", target=f"≤ {TARGET:g}", passed=ratio <= TARGET)
        # for reference: every ready row filtered in Python (the old `shanyu tasks --as`)
        scan: dict[str, list[int]] = {"small": [], "large": []}
        for _ in range(scan_reps):
            for size, db in dbs.items():
                with db.read() as session:
                    t = now_ns()
                    python_filter(session, USERS["district user"])
                    scan[size].append(now_ns() - t)
        scan_small, scan_large = ms(median(scan["small"])), ms(median(scan["large"]))
        report.add(f"{label} scan + Python filter (old CLI), at {n_large}", scan_large, "ms",
                   detail=f"median; {scan_small:.2f} ms at {n_small}, ×{scan_large / scan_small:.0f}; reference only")


def main() -> int:
    args = parser(__doc__.splitlines()[1]).parse_args()
    report = Report("inbox_scaling", args)
    reps, scan_reps = (100, 2) if args.quick else (1000, 5)
    report.note(f"query measured: {SOURCE}")
    if not args.postgres:
        report.note("PostgreSQL not measured: pass --postgres URL or set SHANYU_BENCH_POSTGRES_URL")
    for backend in ["sqlite", "postgresql"] if args.postgres else ["sqlite"]:
        measure_backend(backend, args.postgres, reps, scan_reps, args.quick, report)
    return report.summary()


if __name__ == "__main__":
    sys.exit(main())
