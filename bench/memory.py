#!/usr/bin/env python
"""Figure 5 — memory: RSS of one long-running process after work on 10,000 cases vs 100 cases.

One process, one ``Engine()`` as the CLI and web create it (case cache bounded by its defaults
``cache_size`` cases and ``cache_tasks`` tasks), SQLite. Cases of 20 sequential user tasks are started and their first task
claimed and completed **through the engine**, one transaction per command; RSS (``VmRSS`` from
/proc/self/status, after ``gc.collect()``) is read at checkpoints along the way.

Target (issue 5): RSS after 10,000 cases ≤ 1.2 × RSS after 100 cases.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    Report,
    deploy_sequential,
    header,
    new_clock,
    now_ns,
    parser,
    rss_kib,
    run_case,
    sqlite_database,
)
from workflow.engine import Engine  # noqa: E402

TASKS = 20
TARGET = 1.2


def main() -> int:
    args = parser(__doc__.splitlines()[1], postgres=False).parse_args()
    report = Report("memory", args)
    total = 1_000 if args.quick else 10_000
    checkpoints = sorted({100, 256, 1_000, total // 2, total})
    engine = Engine()
    cache_size, cache_tasks = engine.cases.cache_size, engine.cases.cache_tasks
    header(f"{total:,} cases of {TASKS} user tasks through one Engine (cache_size={cache_size}, "
           f"cache_tasks={cache_tasks:,}), SQLite; "
           "start + claim + complete each")
    rss: dict[int, int] = {}
    with sqlite_database() as db:
        clock = new_clock()
        pid = deploy_sequential(engine, db, clock, TASKS)
        t0 = now_ns()
        for i in range(1, total + 1):
            run_case(engine, db, clock, pid, 1)
            if i in checkpoints:
                gc.collect()
                rss[i] = rss_kib()
                cached, cached_tasks = engine.cases.cached()
                print(f"  after {i:>6,} cases: RSS {rss[i] / 1024:7.1f} MiB, {cached} cases ({cached_tasks:,} tasks) cached, "
                      f"{(now_ns() - t0) / 1e9:5.0f} s", flush=True)
    before, after = rss[100] / 1024, rss[total] / 1024
    report.add("RSS after 100 cases", before, "MiB")
    report.add(f"RSS after {total:,} cases", after, "MiB")
    report.add(f"RSS ratio {total:,} / 100 cases", after / before, "×", target=f"≤ {TARGET:g}",
               passed=after / before <= TARGET, detail=f"cache_size={cache_size}, cache_tasks={cache_tasks:,}")
    return report.summary()


if __name__ == "__main__":
    sys.exit(main())
