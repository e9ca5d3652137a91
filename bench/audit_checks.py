#!/usr/bin/env python
"""Audit checks — what replay, live-state verification and the load-time check cost.

Three figures (issue "Auditors' workbench"):

* **replay vs bare**: replaying a case of N sequential user tasks from its history (the
  ``Replayer``: each event applied with its recorded time and digest-checked) against executing the
  same inputs on bare SpiffWorkflow (``set_data`` + ``run`` + ``do_engine_steps``), interleaved
  case by case. Target ≤ 1.5×.
* **history verify with live-state checks**: cases per second over C small cases, the chain check
  alone and the chain plus the live-state check (``workflow.integrity``: each case rebuilt from its
  rows, its data records re-hashed, its digest compared with its newest event). Reported.
* **load-time check on a cold command**: a completion on a case that is not in the cache pays for
  checking the stored state it loads (``CaseStore.restore(verify=True)``). The extra time of the
  check (verified load minus plain load) against the whole cold completion. Target ≤ 10 %.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import select  # noqa: E402

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
    run_case,
    sqlite_database,
)
from workflow import history, integrity  # noqa: E402
from workflow.engine import Engine  # noqa: E402
from workflow.history import list_events  # noqa: E402
from workflow.replay import Replayer  # noqa: E402
from workflow.store import ProcessVersion  # noqa: E402

DATA = {"approved": True}
TARGET_REPLAY = 1.5
TARGET_CHECK = 0.10


def bare_run(spec: object, subs: dict[str, object], n: int) -> None:
    wf = BpmnWorkflow(spec, subs)
    wf.data.update({"district": "310101"})
    wf.do_engine_steps()
    for _ in range(n):
        task = next(t for t in wf.get_tasks(state=TaskState.READY) if t.task_spec.manual)
        task.set_data(**DATA)
        task.run()
        wf.do_engine_steps()
    assert wf.completed


def replay_vs_bare(report: Report, n: int, cases: int) -> None:
    header(f"replay of a {n}-task case vs the same inputs on bare SpiffWorkflow; {cases} cases")
    with sqlite_database() as db:
        engine, clock = Engine(check_state=False), new_clock()
        pid = deploy_sequential(engine, db, clock, n)
        ids = [run_case(engine, db, clock, pid, n, DATA) for _ in range(cases)]
        with db.read() as s:
            version = s.execute(select(ProcessVersion.id).where(ProcessVersion.process_id == pid)).scalar_one()
            spec, subs = engine.cases.specs_for(s, version)
            histories = {iid: list_events(s, iid) for iid in ids}
            replays, bares = [], []
            for k, iid in enumerate(ids):
                events = histories[iid]
                for side in (("replay", "bare") if k % 2 == 0 else ("bare", "replay")):
                    t0 = now_ns()
                    if side == "replay":
                        replayer = Replayer(s, engine, iid, events[0])
                        for event in events:
                            assert replayer.advance(event).ok
                        replays.append(now_ns() - t0)
                    else:
                        bare_run(spec, subs, n)
                        bares.append(now_ns() - t0)
    r, b = ms(median(replays)), ms(median(bares))
    report.add(f"[{n} tasks] replay of a case, median", r, "ms", detail=f"{len(histories[ids[0]])} events")
    report.add(f"[{n} tasks] the same inputs on bare SpiffWorkflow, median", b, "ms")
    report.add(f"[{n} tasks] replay / bare", r / b, "×", target=f"≤ {TARGET_REPLAY:g}", passed=r / b <= TARGET_REPLAY)


def verify_rate(report: Report, count: int) -> None:
    header(f"history verify over {count} cases (3 tasks each, completed): chain only vs chain + live state")
    with sqlite_database() as db:
        engine, clock = Engine(check_state=False), new_clock()
        pid = deploy_sequential(engine, db, clock, 3)
        for _ in range(count):
            run_case(engine, db, clock, pid, 2, DATA)
        fresh = Engine(check_state=False)
        with db.read() as s:
            t0 = now_ns()
            chains = list(history.verify_all(s))
            chain_ns = now_ns() - t0
            assert all(r.ok for r in chains)
            t0 = now_ns()
            states = list(integrity.check_all(s, fresh.cases, [r.instance_id for r in chains]))
            state_ns = now_ns() - t0
            assert all(x.ok for x in states)
    report.add(f"[{count} cases] chain check", count / (chain_ns / 1e9), "cases/s")
    report.add(f"[{count} cases] chain + live-state check", count / ((chain_ns + state_ns) / 1e9), "cases/s")


def load_check_cost(report: Report, n: int, rounds: int) -> None:
    header(f"the load-time check on a cold completion; {n}-task cases, {rounds} completions per side")
    with sqlite_database() as db:
        engine, clock = Engine(check_state=False), new_clock()
        pid = deploy_sequential(engine, db, clock, n)
        times: dict[bool, list[int]] = {True: [], False: []}
        for r in range(rounds):
            for checked in ((True, False) if r % 2 == 0 else (False, True)):
                iid = run_case(engine, db, clock, pid, n // 2, DATA)
                found = ready_task(db, iid)
                assert found is not None
                with db.write() as s:
                    engine.claim(s, found[0], actor=WORKER, now=clock.now())
                engine.cases.forget()
                engine.cases.verify_loads = checked
                t0 = now_ns()
                with db.write() as s:
                    engine.complete(s, found[0], DATA, actor=WORKER, now=clock.now())
                times[checked].append(now_ns() - t0)
                engine.cases.verify_loads = True
    with_check, without = ms(median(times[True])), ms(median(times[False]))
    report.add(f"[{n} tasks] cold completion, stored state checked, median", with_check, "ms")
    report.add(f"[{n} tasks] cold completion, not checked, median", without, "ms")
    share = max(with_check - without, 0.0) / without
    report.add(f"[{n} tasks] what the check adds to a cold completion", 100 * share, "%",
               target=f"≤ {100 * TARGET_CHECK:g} %", passed=share <= TARGET_CHECK)


def main() -> int:
    args = parser(__doc__.splitlines()[1], postgres=False).parse_args()
    report = Report("audit_checks", args)
    if args.quick:
        replay_vs_bare(report, 20, 4)
        verify_rate(report, 50)
        load_check_cost(report, 20, 6)
    else:
        replay_vs_bare(report, 20, 30)
        replay_vs_bare(report, 100, 8)
        verify_rate(report, 10_000)
        load_check_cost(report, 100, 40)
    return report.summary()


if __name__ == "__main__":
    sys.exit(main())
