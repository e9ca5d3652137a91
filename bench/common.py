"""Shared plumbing for the benchmark scripts: databases, actors, statistics and the report format.

Every script builds its data, measures the two sides of its comparison interleaved in one
process (the machines are shared and noisy), and prints one line per figure::

    <figure>  <value> <unit>  [ratio …]  target <target>  PASS|FAIL|REPORT

then one summary line. ``--json PATH`` also writes the figures for ``bench/run``.

Databases: SQLite lives in a temporary directory (WAL, as ``workflow.store.Database`` configures
it); PostgreSQL (``--postgres URL`` or ``SHANYU_BENCH_POSTGRES_URL``) gets a throwaway schema,
selected through ``SHANYU_DATABASE_SCHEMA`` exactly as ``tests/conftest.py`` does, and dropped
afterwards.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python bench/x.py` from anywhere
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, select, text  # noqa: E402

from bench.diagrams import sequential_user_tasks  # noqa: E402
from workflow.clock import FakeClock  # noqa: E402
from workflow.engine import Engine  # noqa: E402
from workflow.store import Database, HumanTask  # noqa: E402
from workflow.users import Actor  # noqa: E402

PG_ENV = "SHANYU_BENCH_POSTGRES_URL"
ADMIN = Actor("bench-admin", frozenset({"admin"}))
WORKER = Actor("bench-user", frozenset({"bench"}))  # the lane of bench/diagrams.py is "bench"


# -- command line ------------------------------------------------------------------------------
def parser(description: str, *, postgres: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    if postgres:
        p.add_argument("--postgres", metavar="URL", default=os.environ.get(PG_ENV),
                       help=f"also measure on PostgreSQL (default: ${PG_ENV}; unset = SQLite only)")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON (used by bench/run)")
    p.add_argument("--quick", action="store_true", help="small sizes, for checking that the script works")
    return p


# -- databases ---------------------------------------------------------------------------------
def _psycopg(url: str) -> str:
    return "postgresql+psycopg://" + url[len("postgresql://"):] if url.startswith("postgresql://") else url


@contextmanager
def sqlite_database(directory: str | Path | None = None, name: str = "bench.db", *,
                    synchronous: str | None = None) -> Iterator[Database]:
    """A fresh SQLite database (WAL) in a temporary directory, removed afterwards; ``synchronous``
    as ``Database`` takes it (default: the store's default)."""
    with tempfile.TemporaryDirectory(prefix="shanyu-bench-", dir=directory) as tmp:
        db = Database(f"sqlite:///{Path(tmp) / name}", synchronous=synchronous)
        db.create_all()
        try:
            yield db
        finally:
            db.dispose()


@contextmanager
def postgres_database(url: str) -> Iterator[Database]:
    """A fresh schema on PostgreSQL, dropped afterwards (even on Ctrl-C)."""
    admin = create_engine(_psycopg(url), isolation_level="AUTOCOMMIT")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db: Database | None = None
    try:
        os.environ["SHANYU_DATABASE_SCHEMA"] = schema
        try:
            db = Database(url)
        finally:
            del os.environ["SHANYU_DATABASE_SCHEMA"]
        db.create_all()
        yield db
    finally:
        if db is not None:
            db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def database(backend: str, pg_url: str | None = None) -> Iterator[Database]:
    if backend == "sqlite":
        with sqlite_database() as db:
            yield db
    else:
        assert pg_url, "PostgreSQL needs a URL"
        with postgres_database(pg_url) as db:
            yield db


# -- engine helpers ----------------------------------------------------------------------------
def new_clock() -> FakeClock:
    return FakeClock("2026-11-02T09:00:00+08:00")


def deploy_sequential(engine: Engine, db: Database, clock: FakeClock, n: int) -> str:
    """Deploy the N-sequential-user-task diagram; returns its process id."""
    pid = f"bench_seq_{n}"
    with db.write() as session:
        engine.deploy(session, {f"{pid}.bpmn": sequential_user_tasks(n, pid)}, actor=ADMIN, now=clock.now())
    return pid


def ready_task(db: Database, instance_id: int) -> tuple[int, str] | None:
    """The one ready inbox row of a sequential case: (human_task id, SpiffWorkflow task id)."""
    with db.read() as session:
        row = session.execute(select(HumanTask.id, HumanTask.task_id).where(
            HumanTask.instance_id == instance_id, HumanTask.state == "ready")).first()
    return None if row is None else (int(row[0]), str(row[1]))


def run_case(engine: Engine, db: Database, clock: FakeClock, pid: str, steps: int,
             data: dict[str, Any] | None = None) -> int:
    """Start one case through the engine and claim + complete its first ``steps`` tasks, one
    transaction per command as the CLI and web do; returns the instance id."""
    with db.write() as session:
        iid = engine.start(session, pid, {"district": "310101"}, actor=WORKER, now=clock.now())
    for _ in range(steps):
        found = ready_task(db, iid)
        assert found is not None, f"case {iid} has no ready task"
        clock.advance(seconds=1)
        with db.write() as session:
            engine.claim(session, found[0], actor=WORKER, now=clock.now())
        clock.advance(seconds=1)
        with db.write() as session:
            engine.complete(session, found[0], data or {"approved": True}, actor=WORKER, now=clock.now())
    return iid


# -- measuring ---------------------------------------------------------------------------------
def now_ns() -> int:
    return time.perf_counter_ns()


def ms(ns: float) -> float:
    return ns / 1e6


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])


def rss_kib() -> int:
    """Resident set size of this process now (VmRSS), in KiB."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    import resource  # not Linux: fall back to the peak

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


# -- reporting ---------------------------------------------------------------------------------
@dataclass
class Figure:
    script: str
    name: str
    value: float
    unit: str
    target: str | None = None
    passed: bool | None = None  # None: reported, no target
    detail: str = ""

    @property
    def verdict(self) -> str:
        return "REPORT" if self.passed is None else ("PASS" if self.passed else "FAIL")


def fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 0.1:
        return f"{value:.3f}"
    return f"{value:.4f}"


class Report:
    """Collects the figures of one script, prints them as they come, then a summary line."""

    def __init__(self, script: str, args: argparse.Namespace) -> None:
        self.script = script
        self.args = args
        self.figures: list[Figure] = []
        self.notes: list[str] = []
        self.started = time.perf_counter()

    def note(self, message: str) -> None:
        self.notes.append(message)
        print(f"  note: {message}", flush=True)

    def add(self, name: str, value: float, unit: str, *, target: str | None = None,
            passed: bool | None = None, detail: str = "") -> Figure:
        fig = Figure(self.script, name, value, unit, target, passed, detail)
        self.figures.append(fig)
        target_text = f"  target {target}" if target else ""
        detail_text = f"  ({detail})" if detail else ""
        print(f"  {name:<58} {fmt(value):>10} {unit:<4}{target_text}  {fig.verdict}{detail_text}", flush=True)
        return fig

    def summary(self) -> int:
        passed = sum(1 for f in self.figures if f.passed is True)
        failed = sum(1 for f in self.figures if f.passed is False)
        reported = sum(1 for f in self.figures if f.passed is None)
        seconds = time.perf_counter() - self.started
        verdict = "FAIL" if failed else "PASS"
        print(f"SUMMARY {self.script}: {verdict} — {passed} pass, {failed} fail, {reported} reported "
              f"in {seconds:.0f} s", flush=True)
        if getattr(self.args, "json", None):
            Path(self.args.json).write_text(json.dumps({
                "script": self.script, "seconds": seconds, "notes": self.notes,
                "figures": [asdict(f) | {"verdict": f.verdict} for f in self.figures],
            }, ensure_ascii=False, indent=2), encoding="utf-8")
        return 1 if failed else 0


def header(title: str) -> None:
    print(f"== {title}", flush=True)
