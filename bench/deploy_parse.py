#!/usr/bin/env python
"""Figure 6 — deploy/parse: deploying the whole bpmn/ folder; time.

The bundle is every .bpmn/.dmn file under bpmn/ (recursively, as ``shanyu deploy bpmn/`` reads
it). While bpmn/ holds none, the valid fixture diagrams of tests/bpmn/ stand in (the fixtures
that exist to be refused — unsafe or invalid on purpose — are left out, found by deploying) and
the output says so.

Timed, interleaved and repeated (medians):

* parse: ``bundle_from_files`` + ``parse_bundle`` (hardened XML parse, BPMN/DMN schema
  validation, SpiffWorkflow specs, sandbox check of every expression) — what every deploy pays;
* deploy: ``with db.write(): engine.deploy(...)`` into a database without those versions (the
  rows of the previous repetition are deleted, untimed);
* redeploy: the same bundle again — parsed, found unchanged, nothing stored.

On SQLite, and on PostgreSQL with ``--postgres``. No target: the issue asks for the time.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete  # noqa: E402

from bench.common import (  # noqa: E402
    ADMIN,
    ROOT,
    Report,
    database,
    header,
    median,
    ms,
    new_clock,
    now_ns,
    parser,
)
from workflow import specs  # noqa: E402
from workflow.engine import Engine  # noqa: E402
from workflow.errors import ShanyuError  # noqa: E402
from workflow.store import Bundle, Database, ProcessVersion  # noqa: E402

DIAGRAM_SUFFIXES = (".bpmn", ".dmn")


def folder_files(folder: Path, *, recursive: bool = True) -> dict[str, bytes]:
    """The files ``shanyu deploy FOLDER`` would bundle, named relative to the folder."""
    found = sorted(p for p in (folder.rglob("*") if recursive else folder.glob("*"))
                   if p.suffix.lower() in specs.SUFFIXES and p.is_file())
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in found}


def valid_subset(files: dict[str, bytes]) -> tuple[dict[str, bytes], list[str]]:
    """Drop the files a deploy refuses, one by one, as named by the error; returns (kept, dropped)."""
    kept, dropped = dict(files), list[str]()
    while kept:
        try:
            specs.parse_bundle(specs.bundle_from_files(kept))
            return kept, dropped
        except ShanyuError as exc:
            culprit = exc.details.get("file") or str(getattr(exc, "task", "") or "").split(":")[0]
            if culprit not in kept:
                raise
            del kept[culprit]
            dropped.append(culprit)
    raise SystemExit("no deployable file found")


def clear_versions(db: Database) -> None:
    with db.write() as session:
        session.execute(delete(ProcessVersion))
        session.execute(delete(Bundle))


def main() -> int:
    args = parser(__doc__.splitlines()[1]).parse_args()
    report = Report("deploy_parse", args)
    reps = 3 if args.quick else 9
    files = folder_files(ROOT / "bpmn")
    source = "bpmn/"
    if not any(name.lower().endswith(DIAGRAM_SUFFIXES) for name in files):
        files, dropped = valid_subset(folder_files(ROOT / "tests" / "bpmn", recursive=False))
        source = "tests/bpmn/*"
        report.note(f"bpmn/ holds no .bpmn/.dmn file yet: deploying the {len(files)} valid fixtures at the top "
                    f"of tests/bpmn/ instead (left out, refused on purpose: {', '.join(dropped)})")
    size_kib = sum(len(b) for b in files.values()) / 1024
    engine, clock = Engine(), new_clock()
    processes = len(specs.parse_bundle(specs.bundle_from_files(files)).process_ids)
    header(f"{source}: {len(files)} files, {size_kib:.0f} KiB, {processes} executable processes; "
           f"{reps} interleaved repetitions")
    labels = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    chosen = ["sqlite", "postgresql"] if args.postgres else ["sqlite"]
    if not args.postgres:
        report.note("PostgreSQL not measured: pass --postgres URL or set SHANYU_BENCH_POSTGRES_URL")
    times: dict[str, list[int]] = {"parse": []}
    with ExitStack() as stack:
        dbs = {b: stack.enter_context(database(b, args.postgres)) for b in chosen}
        for b in chosen:
            times[f"{b} deploy"], times[f"{b} redeploy"] = [], []
        for i in range(reps):
            t0 = now_ns()
            specs.parse_bundle(specs.bundle_from_files(files))
            times["parse"].append(now_ns() - t0)
            for b in chosen[i % len(chosen):] + chosen[:i % len(chosen)]:
                db = dbs[b]
                clear_versions(db)
                for step in ("deploy", "redeploy"):
                    t0 = now_ns()
                    with db.write() as session:
                        results = engine.deploy(session, files, actor=ADMIN, now=clock.now())
                    times[f"{b} {step}"].append(now_ns() - t0)
                    assert all(r.created == (step == "deploy") for r in results), (step, results)
    report.add(f"parse + validate {source}", ms(median(times["parse"])), "ms",
               detail=f"{len(files)} files, {processes} processes")
    for b in chosen:
        report.add(f"{labels[b]}: deploy (parse, validate, store, commit)", ms(median(times[f'{b} deploy'])), "ms")
        report.add(f"{labels[b]}: unchanged redeploy", ms(median(times[f'{b} redeploy'])), "ms")
    return report.summary()


if __name__ == "__main__":
    sys.exit(main())
