#!/usr/bin/env python
"""Figure 2 — throughput: sequential task completions per second, in-process, one engine.

Each completion is what a user does through the CLI or the web, one transaction per command:
claim the task (``with db.write(): engine.claim``), then complete it (``with db.write():
engine.complete``). Cases of 20 sequential user tasks are worked round-robin, so that consecutive
commands hit different cases (the engine's case cache holds them all, as it would in a worker).

Backends, measured in interleaved blocks of completions and repeated; medians of the blocks:

* SQLite, WAL, ``synchronous=FULL`` — durable commits: a commit survives power loss.
* SQLite, WAL, ``synchronous=NORMAL`` — the store's default (``SHANYU_SQLITE_SYNCHRONOUS``): a
  commit survives a crash of the process, but the last commits may be lost on power loss or OS crash.
* PostgreSQL (with ``--postgres``), default ``synchronous_commit``.

Reported: completions/s counting only the complete command (its transaction, commit included) and
user cycles/s (claim + complete, wall time). No target: the issue asks for both figures.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from bench.common import (  # noqa: E402
    WORKER,
    Report,
    deploy_sequential,
    header,
    median,
    new_clock,
    now_ns,
    parser,
    postgres_database,
    ready_task,
    sqlite_database,
)
from workflow.engine import Engine  # noqa: E402
from workflow.store import Database  # noqa: E402

TASKS = 20
DATA = {"approved": True, "comment": "同意", "score": 90}


@contextmanager
def sqlite_with(synchronous: str) -> Iterator[Database]:
    """A bench SQLite database configured as ``SHANYU_SQLITE_SYNCHRONOUS=<synchronous>`` would."""
    with sqlite_database(name=f"throughput-{synchronous.lower()}.db", synchronous=synchronous) as db:
        with db.read() as session:
            value = session.execute(text("PRAGMA synchronous")).scalar()
        assert value == {"FULL": 2, "NORMAL": 1}[synchronous], value
        yield db


class Side:
    """One backend with its own engine, clock and cases, worked round-robin."""

    def __init__(self, label: str, db: Database, cases: int) -> None:
        self.label = label
        self.db = db
        self.engine = Engine()
        self.clock = new_clock()
        self.pid = deploy_sequential(self.engine, db, self.clock, TASKS)
        self.cases: list[int] = []
        self.rates: list[float] = []
        self.cycle_rates: list[float] = []
        for _ in range(cases):
            self._start()

    def _start(self) -> None:
        with self.db.write() as session:
            self.cases.append(self.engine.start(session, self.pid, {"district": "310101"}, actor=WORKER,
                                                now=self.clock.now()))

    def _pick(self, count: int) -> list[int]:
        """The ready tasks of the next ``count`` cases (one each), looked up beforehand as a user
        would see them in the inbox; finished cases are replaced by fresh ones (not timed)."""
        picked: list[int] = []
        visited = 0
        for iid in list(self.cases):
            if len(picked) == count:
                break
            visited += 1
            found = ready_task(self.db, iid)
            if found is None:
                self.cases.remove(iid)
                self._start()  # appended at the end: worked from the next chunk on
            else:
                picked.append(found[0])
        self.cases = self.cases[visited:] + self.cases[:visited]  # round-robin
        return picked

    def block(self, count: int) -> None:
        complete_ns = 0
        wall = 0
        done = 0
        while done < count:
            tasks = self._pick(min(count - done, len(self.cases)))
            t_chunk = now_ns()
            for hid in tasks:
                self.clock.advance(seconds=1)
                with self.db.write() as session:
                    self.engine.claim(session, hid, actor=WORKER, now=self.clock.now())
                t0 = now_ns()
                with self.db.write() as session:
                    self.engine.complete(session, hid, DATA, actor=WORKER, now=self.clock.now())
                complete_ns += now_ns() - t0
            wall += now_ns() - t_chunk
            done += len(tasks)
        self.rates.append(count / (complete_ns / 1e9))
        self.cycle_rates.append(count / (wall / 1e9))


def main() -> int:
    args = parser(__doc__.splitlines()[1]).parse_args()
    report = Report("throughput", args)
    blocks, per_block, cases = (3, 40, 8) if args.quick else (7, 150, 40)
    header(f"{blocks} interleaved blocks of {per_block} completions per backend; "
           f"{cases} cases of {TASKS} sequential user tasks each, worked round-robin")
    with ExitStack() as stack:
        sides = [Side("SQLite synchronous=FULL (durable)", stack.enter_context(sqlite_with("FULL")), cases),
                 Side("SQLite synchronous=NORMAL (default)", stack.enter_context(sqlite_with("NORMAL")),
                      cases)]
        if args.postgres:
            sides.append(Side("PostgreSQL", stack.enter_context(postgres_database(args.postgres)), cases))
        else:
            report.note("PostgreSQL not measured: pass --postgres URL or set SHANYU_BENCH_POSTGRES_URL")
        for b in range(blocks):
            for i in range(len(sides)):
                sides[(b + i) % len(sides)].block(per_block)
    for side in sides:
        report.add(f"{side.label}: completions/s", median(side.rates), "/s",
                   detail=f"complete command only, median of {blocks} blocks")
        report.add(f"{side.label}: claim+complete cycles/s", median(side.cycle_rates), "/s")
    return report.summary()


if __name__ == "__main__":
    sys.exit(main())
