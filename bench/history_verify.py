#!/usr/bin/env python
"""Figure 4 — history: ``shanyu history verify`` over 10,000 cases; cases/s and events/s.

The cases are made **through the engine** on SQLite (start, then claim + complete of two tasks of
a 10-user-task diagram: 5 events per case, 50,000 events), one transaction per command. With
``--postgres`` the very same rows (bundle, process versions, instances, events) are copied into a
throwaway PostgreSQL schema, so both backends verify identical chains.

Timed is what the CLI does: ``with db.read(): list(history.verify_all(session))`` — every chain
recomputed. SQLite and PostgreSQL runs alternate; medians of the repetitions. No target: the issue
asks for the figures.
"""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Table, insert, select  # noqa: E402

from bench.common import (  # noqa: E402
    Report,
    deploy_sequential,
    header,
    median,
    new_clock,
    now_ns,
    parser,
    postgres_database,
    run_case,
    sqlite_database,
)
from workflow import history  # noqa: E402
from workflow.engine import Engine  # noqa: E402
from workflow.store import Bundle, Database, HistoryEvent, Instance, ProcessVersion  # noqa: E402

TASKS, STEPS = 10, 2


def build(db: Database, cases: int) -> None:
    engine, clock = Engine(), new_clock()
    pid = deploy_sequential(engine, db, clock, TASKS)
    t0 = now_ns()
    for i in range(cases):
        run_case(engine, db, clock, pid, STEPS)
        if (i + 1) % 2000 == 0:
            print(f"  … {i + 1:,} cases, {(now_ns() - t0) / 1e9:.0f} s", flush=True)


def copy_rows(source: Database, target: Database) -> None:
    """Copy what ``verify_all`` reads (and what it references) from one database to another."""
    with source.read() as src, target.write() as dst:
        conn = dst.connection()
        for model in (Bundle, ProcessVersion, Instance, HistoryEvent):
            table = cast(Table, model.__table__)
            result = src.connection().execute(select(table).order_by(*table.primary_key.columns))
            while batch := result.fetchmany(5000):
                conn.execute(insert(table), [dict(r._mapping) for r in batch])


def verify(db: Database) -> tuple[int, int, int]:
    """(nanoseconds, cases, events) of one full verification; every chain must be intact."""
    t0 = now_ns()
    with db.read() as session:
        results = list(history.verify_all(session))
    elapsed = now_ns() - t0
    broken = [r for r in results if not r.ok]
    assert not broken, broken[:3]
    return elapsed, len(results), sum(r.events for r in results)


def main() -> int:
    args = parser(__doc__.splitlines()[1]).parse_args()
    report = Report("history_verify", args)
    cases, reps = (300, 3) if args.quick else (10_000, 5)
    with sqlite_database() as sqlite_db:
        t0 = now_ns()
        header(f"building {cases:,} cases through the engine on SQLite "
               f"(start + {STEPS} × claim/complete each)")
        build(sqlite_db, cases)
        print(f"  built in {(now_ns() - t0) / 1e9:.0f} s", flush=True)
        dbs = {"SQLite": sqlite_db}
        with postgres_database(args.postgres) if args.postgres else nullcontext() as pg_db:
            if pg_db is not None:
                t0 = now_ns()
                copy_rows(sqlite_db, pg_db)
                print(f"  copied the same rows to PostgreSQL in {(now_ns() - t0) / 1e9:.0f} s", flush=True)
                dbs["PostgreSQL"] = pg_db
            else:
                report.note("PostgreSQL not measured: pass --postgres URL or set SHANYU_BENCH_POSTGRES_URL")
            runs: dict[str, list[tuple[int, int, int]]] = {name: [] for name in dbs}
            names = list(dbs)
            for i in range(reps):
                for name in names[i % len(names):] + names[:i % len(names)]:
                    runs[name].append(verify(dbs[name]))
    for name, samples in runs.items():
        seconds = median([s[0] for s in samples]) / 1e9
        n_cases, n_events = samples[0][1], samples[0][2]
        report.add(f"{name}: verify {n_cases:,} cases / {n_events:,} events", seconds, "s",
                   detail=f"median of {reps}")
        report.add(f"{name}: cases/s", n_cases / seconds, "/s")
        report.add(f"{name}: events/s", n_events / seconds, "/s")
    return report.summary()


if __name__ == "__main__":
    sys.exit(main())
