"""The path a CLI user takes: every command in a fresh process that loads its case from the database.

Scenario tests run all commands in one process, where SpiffWorkflow had already wired the cycle's
multi-instance ``Invite`` task to merge its instances' results when the first instance was created.
A fresh process that only loads the cycle and completes an instance (a district's outcome message)
used to complete it without merging: the cycle's stored ``Invite`` kept ``merged: []``, its replay
differed at that event, and once every district had an outcome the cycle never reached 统一评审遴选
(issue "Trustworthy case state"). Here each district's steps run as ``shanyu`` commands, each in its
own Python process, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from SpiffWorkflow.util.task import TaskState

from tests.conftest import PgSchema, postgres_url
from tests.program.conftest import BPMN
from web.demo_data import DISTRICTS, cycle_data, indicators, intention, leadership
from web.demo_driver import Program, check_history, demo_users
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.history import list_events
from workflow.migrate import upgrade
from workflow.specs import bundle_from_paths
from workflow.store import Database
from workflow.users import Actor

REPO = Path(__file__).resolve().parents[2]
# The CLI on a fixed clock, given to ``web.cli.main`` as the app factory takes one.
CLI = (
    "import sys\n"
    "import web.cli as cli\n"
    "from workflow.clock import FakeClock\n"
    "sys.exit(cli.main(sys.argv[2:], clock=FakeClock(sys.argv[1])))\n"
)
TWO = DISTRICTS[:2]  # 黄浦, 徐汇


class Fresh:
    """A database and a way to run ``shanyu`` against it in a new process."""

    def __init__(self, db: Database, env: dict[str, str]) -> None:
        self.db, self.env = db, env

    def shanyu(self, when: str, *argv: str) -> dict[str, object]:
        done = subprocess.run(
            [sys.executable, "-c", CLI, when, "--json", "--database-url", self.db.url, *argv],
            cwd=REPO, env=self.env, capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, f"shanyu {' '.join(argv)} failed: {done.stderr or done.stdout}"
        result: dict[str, object] = json.loads(done.stdout)
        return result


@pytest.fixture
def fresh(backend: str, tmp_path: Path) -> Iterator[Fresh]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if backend == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'shanyu.db'}")
        upgrade(db)
        yield Fresh(db, env)
        db.dispose()
        return
    schema = PgSchema(postgres_url() or "")
    db = schema.database()
    upgrade(db)
    try:
        yield Fresh(db, {**env, "SHANYU_DATABASE_SCHEMA": schema.name})
    finally:
        db.dispose()
        schema.drop()


def test_outcomes_delivered_by_fresh_processes_are_merged_and_the_cycle_moves_on(fresh: Fresh, tmp_path: Path) -> None:
    clock = FakeClock("2021-12-10T09:00:00+08:00")
    engine = Engine()
    with fresh.db.write() as session:
        users, _created = demo_users(session, now=clock.now())
        admin = Actor("admin", frozenset({"admin"}))
        engine.deploy(session, dict(bundle_from_paths([BPMN]).files), actor=admin, now=clock.now())
    p = Program(fresh.db, engine, clock, users)
    cycle = p.start("creation_cycle", cycle_data(TWO))
    p.do(cycle, "Task_indicators", indicators())
    cases = p.cases("district_application", after=cycle)

    when = "2021-12-20T10:00:00+08:00"
    for code, *_rest in TWO:
        dept, leader = p.actor("district", code).name, p.actor("leader", code).name
        task = p.task(cases[code], "Task_intention")
        fresh.shanyu(when, "claim", str(task.id), "--as", dept)
        letter = tmp_path / f"intention-{code}.txt"
        letter.write_text(f"演示材料 demo material: {code} 创建意向", encoding="utf-8")
        added = fresh.shanyu(when, "material", "add", str(letter), "--as", dept, "--case", str(cases[code]))
        data = {**intention(code), "intention_materials": [added["id"]]}
        fresh.shanyu(when, "complete", str(task.id), "--as", dept, "--data", json.dumps(data))
        task = p.task(cases[code], "Task_leadership")
        fresh.shanyu(when, "claim", str(task.id), "--as", leader)
        fresh.shanyu(when, "complete", str(task.id), "--as", leader, "--data", json.dumps(leadership("decline")))

    with fresh.db.read() as session:
        delivered = [e for e in list_events(session, cycle) if e.type == "message_delivered"]
    assert [e.payload["keys"]["district"] for e in delivered] == [code for code, *_ in TWO]
    # Every case, the cycle included, replays to the states that were recorded.
    assert check_history(fresh.db) == 1 + len(TWO)
    # Both outcomes were merged, so the cycle left the invitation stage and waits for 统一评审遴选.
    engine.cases.forget()
    with fresh.db.write() as session:
        case = engine.cases.lock(session, cycle)
        [invite] = [t for t in case.workflow.get_tasks() if t.task_spec.name == "Invite"]
        assert invite.state == TaskState.COMPLETED
        assert len(invite.internal_data["merged"]) == len(TWO)
        assert sorted(o["district"] for o in invite.data["outcomes"]) == [code for code, *_ in TWO]
        assert {o["result"] for o in invite.data["outcomes"]} == {"declined"}
        session.rollback()
    assert [t.bpmn_id for t in p.tasks(cycle)] == ["Task_select"]
