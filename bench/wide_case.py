#!/usr/bin/env python
"""Figure 7 — one wide case: a multi-instance user task of N parallel instances (default 5,000).

Measured on SQLite, each command in its own transaction as the CLI and web run them: starting the
case, claiming one instance with the case cached and with the cache emptied (a fresh process), and
completing one instance warm and cold. A claim changes no workflow state and loads no workflow, so
it should cost the same on a wide case as on a small one; a cold completion loads the whole case.
Issue 9 recorded a claim of 8.6 s on such a case before claims stopped loading it. Figures are
reported, without targets.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from bench.common import ADMIN, WORKER, Report, header, median, ms, new_clock, now_ns, parser, sqlite_database  # noqa: E402
from bench.diagrams import parallel_user_tasks  # noqa: E402
from workflow.engine import Engine  # noqa: E402
from workflow.store import HumanTask  # noqa: E402


def main() -> int:
    p = parser(__doc__.splitlines()[1], postgres=False)
    p.add_argument("--tasks", type=int, default=5_000, help="parallel instances (default 5,000)")
    args = p.parse_args()
    n = 500 if args.quick else args.tasks
    rounds = 3 if args.quick else 5
    report = Report("wide_case", args)
    header(f"one case of {n:,} parallel user tasks (SQLite); {rounds} claims and completions each way")
    with sqlite_database() as db:
        engine = Engine(cache_tasks=max(5_000, 2 * n + 100))
        clock = new_clock()
        pid = f"bench_par_{n}"
        with db.write() as session:
            engine.deploy(session, {f"{pid}.bpmn": parallel_user_tasks(n, pid)}, actor=ADMIN, now=clock.now())
        t0 = now_ns()
        with db.write() as session:
            iid = engine.start(session, pid, {"district": "310101"}, actor=WORKER, now=clock.now())
        report.add(f"start (creates {n:,} ready tasks)", ms(now_ns() - t0), "ms")
        with db.read() as session:
            ids = list(session.execute(select(HumanTask.id).where(HumanTask.instance_id == iid)
                                       .order_by(HumanTask.id).limit(4 * rounds)).scalars())
        times: dict[str, list[int]] = {"claim warm": [], "claim cold": [], "complete warm": [], "complete cold": []}
        for k in range(2 * rounds):
            cold = k % 2 == 1
            label = "cold" if cold else "warm"
            hid = ids[k]
            clock.advance(seconds=1)
            if cold:
                engine.cases.forget()
            t0 = now_ns()
            with db.write() as session:
                engine.claim(session, hid, actor=WORKER, now=clock.now())
            times[f"claim {label}"].append(now_ns() - t0)
            clock.advance(seconds=1)
            if cold:
                engine.cases.forget()
            t0 = now_ns()
            with db.write() as session:
                engine.complete(session, hid, {"approved": True}, actor=WORKER, now=clock.now())
            times[f"complete {label}"].append(now_ns() - t0)
    for name, values in times.items():
        report.add(f"{name}, median", ms(median(values)), "ms",
                   detail="case cached" if "warm" in name else "case loaded from the database")
    return report.summary()


if __name__ == "__main__":
    sys.exit(main())
