"""``web.demo.seed`` on a migrated database, with a fixed clock (2026-11-30 10:00 in Shanghai) as
"now": the history replays and verifies, the register shows the titles, every role finds live
work, a second run changes nothing, and a live cycle that would reach 2027 fails with the calendar
error and its fix, after the history was seeded."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import BPMN as TEST_BPMN
from tests.conftest import PgSchema, postgres_url
from tests.oracle import StateOracle
from web.demo import BPMN, DemoResult, seed
from web.demo_data import ROLES, SLUGS, user_specs
from web.demo_driver import DemoFailed, Program, check_history, demo_users
from web.demo_live import TARGETS, TITLED, live_deadlines
from web.demo_story import FirstCycle
from workflow import migrate
from workflow.calendar import WorkCalendar
from workflow.clock import SHANGHAI, FakeClock
from workflow.engine import Engine
from workflow.errors import DeadlinePastCalendar
from workflow.history import verify_all
from workflow.inbox import claimable_tasks
from workflow.registers import titles
from workflow.specs import bundle_from_paths
from workflow.store import Database, HistoryEvent, Instance, ProcessVersion, User
from workflow.users import Actor, load_actor

NOW = "2026-11-30T10:00:00+08:00"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@dataclass
class Seeded:
    db: Database
    result: DemoResult


def fresh_database(backend: str, folder: Path) -> tuple[Database, PgSchema | None]:
    if backend == "sqlite":
        db = Database(f"sqlite:///{folder / 'demo.db'}")
        migrate.upgrade(db)
        return db, None
    schema = PgSchema(postgres_url() or "")
    db = schema.database()
    migrate.upgrade(db)
    return db, schema


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """One demo per backend, shared by the tests that only read it."""
    db, schema = fresh_database(str(request.param), tmp_path_factory.mktemp("demo"))
    try:
        engine = Engine()
        oracle = StateOracle(db, engine)  # every command of the demo story, checked as it runs
        result = seed(db, clock=FakeClock(NOW), engine=engine, observer=oracle)
        assert oracle.checked >= result.cases
        yield Seeded(db, result)
    finally:
        db.dispose()
        if schema is not None:
            schema.drop()


def test_the_history_is_complete_and_every_case_replays_and_verifies(seeded: Seeded) -> None:
    db = seeded.db
    assert seeded.result.history == "seeded" and not seeded.result.already_seeded
    assert seeded.result.users_created == len(user_specs()) == 2 * 16 + 6
    with db.read() as s:
        rows = s.execute(
            select(Instance.id, Instance.process_id, Instance.status).order_by(Instance.id)
        ).all()
        assert all(result.ok for result in verify_all(s))
    first_cycle = [(iid, status) for iid, process, status in rows if process == "creation_cycle"][0]
    first_districts = [status for iid, process, status in rows[:17] if process == "district_application"]
    assert first_cycle == (rows[0][0], "completed")
    assert first_districts == ["completed"] * 16
    assert check_history(db) == len(rows)  # verify_all, then replay every case with a fresh engine


def test_the_register_shows_the_named_districts_a_rectified_and_a_revoked_title(seeded: Seeded) -> None:
    with seeded.db.read() as s:
        register = {(t.kind, t.district): (t.status, [c["to"] for c in t.changes]) for t in titles(s)}
        statuses = dict(
            s.execute(
                select(Instance.district, Instance.status).where(Instance.process_id == "title_management")
            ).all()
        )
    named = FirstCycle.named()
    assert named == ["310101", "310104", "310105", "310106", "310107"]
    assert register == {
        ("national", "310101"): ("named", ["named"]),
        ("national", "310104"): ("named", ["named"]),
        ("shanghai", "310101"): ("named", ["named"]),
        ("shanghai", "310104"): ("named", ["named"]),
        ("shanghai", "310105"): ("named", ["named", "rectifying", "named"]),  # low satisfaction, rectified
        ("shanghai", "310106"): ("revoked", ["named", "revoked"]),  # a major safety accident
        ("shanghai", "310107"): ("named", ["named"]),
    }
    # 静安's title management ended with the revocation; the others wait for the 2027 report window
    assert statuses == {code: "completed" if code == "310106" else "running" for code in named}
    assert seeded.result.register[-1]["status"] == "named"


def test_every_role_finds_live_work_in_its_inbox(seeded: Seeded) -> None:
    now = FakeClock(NOW).now()
    work: dict[str, list[tuple[str, str | None]]] = {}
    with seeded.db.read() as s:
        for _key, name, _roles, _district, _display in user_specs():
            tasks = claimable_tasks(s, load_actor(s, name))
            work[name] = [(t.bpmn_id, t.district) for t in tasks]
            assert all(t.due_at is None or now < t.due_at for t in tasks), name
            assert all(t.due_at is None or t.due_at.astimezone(SHANGHAI).year == 2026 for t in tasks), name
    stages = {
        "dept": {"Task_intention", "Task_file", "Task_self"},
        "leader": {"Task_leadership"},
    }
    for code, target in TARGETS.items():
        for kind, tasks in stages.items():
            expected = [(target, code)] if target in tasks else []
            assert work[f"{SLUGS[code]}-{kind}"] == expected, (code, kind)
    assert work["city"] == [("Task_extend", None), ("Task_assign", "310110")]  # the live cycle's deadline decision
    assert work["expert"] == [("Task_audit", "310109")]
    assert work["approver"] == [("Task_confirm", "310104")]
    for code in TITLED:  # not invited by the live cycle: they hold a title from the first cycle
        assert work[f"{SLUGS[code]}-dept"] == work[f"{SLUGS[code]}-leader"] == [], code
    assert len(work["admin"]) == seeded.result.open_tasks == 14
    assert work["auditor"] == []  # auditors read every case and change nothing
    with_work = {role for _k, name, roles, _d, _n in user_specs() if work[name] for role in roles}
    assert with_work == set(ROLES.values()) | {"admin"}
    idle = {code for code in TARGETS if not work[f"{SLUGS[code]}-dept"] and not work[f"{SLUGS[code]}-leader"]}
    assert idle == {"310109", "310110"}  # their cases wait for the audit panel and municipal staff


def test_a_second_run_seeds_nothing(seeded: Seeded) -> None:
    def counts() -> tuple[int, ...]:
        with seeded.db.read() as s:
            return tuple(
                int(s.scalar(select(func.count()).select_from(table)) or 0)
                for table in (Instance, HistoryEvent, User, ProcessVersion)
            )

    before = counts()
    again = seed(seeded.db, clock=FakeClock("2026-12-01T10:00:00+08:00"))
    assert again.already_seeded and again.users_created == 0 and again.history == "present"
    assert again.live is not None and not again.live.opened and again.live.steps == 0
    assert counts() == before


def test_live_deadlines_stay_within_the_known_calendar() -> None:
    calendar = WorkCalendar()
    late_2026 = live_deadlines(date(2026, 11, 30), calendar)
    assert list(late_2026.values()) == sorted(late_2026.values())
    assert "2026-11-30" < late_2026["application"] and late_2026["naming"] <= "2026-12-31"
    spring = live_deadlines(date(2026, 3, 2), calendar)  # 60 working days ahead
    assert spring["naming"] == calendar.add_workdays(date(2026, 3, 2), 60).isoformat()
    # too few known working days left: the timeline a cycle normally has, which reaches 2027
    assert live_deadlines(date(2026, 12, 28), calendar)["self_assessment"].startswith("2027-")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_live_cycle_reaching_2027_fails_with_the_calendar_fix_after_the_history_is_seeded(
    backend: str, tmp_path: Path
) -> None:
    db, schema = fresh_database(backend, tmp_path)
    try:
        with pytest.raises(DeadlinePastCalendar, match="does not know the year 2027.*shanyu calendar import"):
            seed(db, clock=FakeClock("2026-12-28T10:00:00+08:00"))
        with db.read() as s:
            cycles = s.execute(select(Instance.status).where(Instance.process_id == "creation_cycle")).all()
        assert cycles == [("completed",)]  # the history is there, the live cycle is not
        # once the calendar allows it (here: on an earlier day), the next run opens only the live cycle
        result = seed(db, clock=FakeClock(NOW))
        assert (result.history, result.users_created) == ("present", 0)
        assert result.live is not None and result.live.opened and result.open_tasks == 14
    finally:
        db.dispose()
        if schema is not None:
            schema.drop()


def test_a_clock_before_the_history_or_a_database_with_other_cases_is_refused_unchanged(
    tmp_path: Path,
) -> None:
    db, _schema = fresh_database("sqlite", tmp_path)
    clock = FakeClock(NOW)
    try:
        with pytest.raises(DemoFailed, match="history runs until 2026-03-02"):
            seed(db, clock=FakeClock("2025-06-01T10:00:00+08:00"))
        engine = Engine()
        admin = Actor("admin", frozenset({"admin"}))
        with db.write() as s:
            basic = {"engine_basic.bpmn": (TEST_BPMN / "engine_basic.bpmn").read_bytes()}
            engine.deploy(s, basic, actor=admin, now=clock.now())
            engine.start(s, "engine_basic", {"district": "310101"}, actor=admin, now=clock.now())
        with pytest.raises(DemoFailed, match="already holds 1 case\\(s\\) that the demo did not create"):
            seed(db, clock=clock)
        with db.read() as s:
            assert s.scalar(select(func.count()).select_from(Instance)) == 1
            assert s.scalar(select(func.count()).select_from(User)) == 0
            assert s.scalar(select(func.count(func.distinct(ProcessVersion.process_id)))) == 1
    finally:
        db.dispose()


def test_a_history_left_half_played_is_reported(tmp_path: Path) -> None:
    db, _schema = fresh_database("sqlite", tmp_path)
    try:
        clock = FakeClock(FirstCycle.START + "+08:00")
        engine = Engine()
        with db.write() as s:
            users, _created = demo_users(s, now=clock.now())
            engine.deploy(
                s,
                dict(bundle_from_paths([BPMN]).files),
                actor=Actor("admin", frozenset({"admin"})),
                now=clock.now(),
            )
        FirstCycle(Program(db, engine, clock, users)).open()  # then the run was interrupted
        with pytest.raises(DemoFailed, match="interrupted.*delete the database"):
            seed(db, clock=FakeClock(NOW))
    finally:
        db.dispose()
