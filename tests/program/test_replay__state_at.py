"""The state at event N: for every case of the demo, the replayed case after each event shows the
open user tasks (with who held them) that the live case had at that event, recorded as the story
was played; and ``history replay --upto N --json`` returns that state and writes nothing."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.web.pages import NOW, copy_sqlite
from web.cli import main
from web.demo import seed
from workflow import migrate
from workflow.cases import CaseStore
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.history import list_events
from workflow.paths import task_paths
from workflow.replay import Holders, Replayer, state_view
from workflow.store import Database, HistoryEvent, HumanTask, Instance

Snapshot = Counter[tuple[str, str, str | None, str | None]]


def live_snapshots(db: Database) -> dict[tuple[int, int], Snapshot]:
    with db.read() as s:
        heads = dict(s.execute(select(Instance.id, Instance.event_count)).all())
        rows = s.execute(select(HumanTask.instance_id, HumanTask.bpmn_id, HumanTask.name, HumanTask.lane,
                                HumanTask.claimed_by).where(HumanTask.state == "ready")).all()
    found: dict[tuple[int, int], Snapshot] = {(iid, seq): Counter() for iid, seq in heads.items()}
    for iid, bpmn_id, name, lane, who in rows:
        found[(iid, heads[iid])][(bpmn_id, name, lane, who)] += 1
    return found


def test_every_demo_case_replays_to_the_open_tasks_it_had_at_each_event(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'demo.db'}")
    migrate.upgrade(db)
    recorded: dict[tuple[int, int], Snapshot] = {}
    seed(db, clock=FakeClock(NOW), engine=Engine(check_state=False),
         observer=lambda: recorded.update(live_snapshots(db)))
    engine = Engine()
    store: CaseStore = engine.cases
    checked = 0
    with db.read() as s:
        for iid, version in s.execute(select(Instance.id, Instance.process_version_id)).all():
            events = list_events(s, iid)
            replayer = Replayer(s, engine, iid, events[0])
            holders = Holders(task_paths(store.restore(s, iid, version).workflow))
            for n, event in enumerate(events):
                step = replayer.advance(event)
                assert step.ok, (iid, event.seq, step.note)
                holders.follow(event)
                live = recorded.get((iid, event.seq))
                if live is None:  # several events in one command: the observer saw only the last
                    continue
                view = state_view(replayer.case, holders, events[: n + 1])
                replayed: Snapshot = Counter((t["bpmn_id"], t["name"], t["lane"], t["claimed_by"])
                                             for t in view["active_tasks"])
                assert replayed == live, (iid, event.seq, event.type)
                checked += 1
    assert checked > 400  # most events of the story's ~460 are checked
    db.dispose()


def test_history_replay_upto_returns_the_state_and_writes_nothing(demo_template: Path, tmp_path: Path,
                                                                   capsys: Any) -> None:
    url = copy_sqlite(demo_template, tmp_path)
    db = Database(url)
    with db.read() as s:
        iid, count = s.execute(select(Instance.id, Instance.event_count).where(
            Instance.process_id == "district_application", Instance.district == "310112",
            Instance.cycle_id == "2026-demo")).one()
        events = s.execute(select(HistoryEvent.id)).all()
    assert main(["history", "replay", str(iid), "--upto", str(count), "--json", "--database-url", url]) == 0
    out = json.loads(capsys.readouterr().out)
    state = out["state"]
    assert out["ok"] and state["event"]["seq"] == count
    [open_task] = state["active_tasks"]
    assert (open_task["name"], open_task["lane"], open_task["claimed_by"]) == ("逐项自评并报送材料", "区有关部门", None)
    assert state["data"]["district"] == "310112" and state["completed"]
    assert all({"task", "bpmn_id", "by", "at"} <= set(c) for c in state["completed"])
    assert main(["history", "replay", str(iid), "--upto", "1", "--database-url", url]) == 0
    text = capsys.readouterr().out
    assert "after event #1 (instance_started" in text
    with db.read() as s:
        assert s.execute(select(HistoryEvent.id)).all() == events
    db.dispose()


def test_every_demo_case_exports_a_bundle_that_checks(demo_template: Path) -> None:
    from workflow.evidence import check_bundle, export_case, read_bundle

    db = Database(f"sqlite:///{demo_template}")
    engine = Engine()
    with db.read() as s:
        ids = s.execute(select(Instance.id)).scalars().all()
        bundles = [export_case(s, iid, now=FakeClock(NOW).now(), exported_by="auditor") for iid in ids]
    db.dispose()
    assert len(bundles) == 38  # the live cycle does not invite the four districts titled in the first
    for bundle in bundles:  # through the file format, as check-bundle reads it
        result = check_bundle(read_bundle(json.dumps(bundle, ensure_ascii=False)), engine)
        assert result.ok and result.replayed == len(bundle["events"]), (bundle["case"], result)
