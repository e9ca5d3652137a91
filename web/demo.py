"""``shanyu demo``: seed a database with the programme's demo — the 16 districts (fictional figures,
marked ``demo_data``), one user per role and district, the first cycle's whole history and the
years after it, and a second cycle open now with work in every role's inbox.

Contract
    ``seed(db, clock=...)`` creates the missing demo users, deploys ``bpmn/`` as ``owner`` (the
    process owner; an unchanged redeploy stores nothing), plays the history if it is not there yet, and opens the live cycle (or
    finishes opening it). It returns a ``DemoResult``; ``already_seeded`` is true when it found
    everything in place and changed nothing, so running it twice duplicates nothing. A database
    holding cases the demo did not create is refused (``DemoFailed``): the demo is for a fresh one.

The history (``play_history``)
    Played through the engine's commands on a simulated clock (``FakeClock``) from 2021-12-10 to
    ``HISTORY_END``, with every timer fired at its due time, so that each case's history replays:
    the first cycle with the notice's real dates (``demo_story.FirstCycle``: decline, late filing,
    a missed deadline, a failed audit, quotas, the notice over National Day, an upheld objection,
    naming), then the five named districts' annual reports for 2023–2026 (a missed report urged in
    2024), a low-satisfaction finding about 长宁 rectified in 2023, and 静安's title revoked after
    a major safety accident in 2025. Its commands run in many transactions; if a run is
    interrupted, the next one says so (delete the database and run again).

The live part (``demo_live``)
    Runs on the clock passed in (the CLI's ``SystemClock``; tests pass a fixed ``FakeClock``), which
    must be later than ``HISTORY_END``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from web.demo_data import DEMO_PASSWORD, DISTRICTS, NAMES, confirm, verify
from web.demo_driver import DemoFailed, Program, demo_users
from web.demo_live import LiveCycle, cycle_ids, open_live_cycle
from web.demo_story import FirstCycle, annual_reports, annual_reviews, start_revocation
from workflow import migrate
from workflow.clock import Clock, FakeClock, ensure_utc, iso, shanghai_text
from workflow.engine import Engine
from workflow.registers import titles
from workflow.specs import bundle_from_paths
from workflow.store import Database, HistoryEvent, HumanTask, Instance

if TYPE_CHECKING:
    from web.cli import Context as CliContext

BPMN = Path(__file__).resolve().parents[1] / "bpmn"
HISTORY_END = "2026-03-02T10:00:00"  # Shanghai time of the history's last step
FIRST_CYCLE_ID = FirstCycle.KEY["cycle_id"]
DEPLOYER = "owner:"  # the demo user who deploys bpmn/ (流程管理员, the process owner)


@dataclass
class DemoResult:
    users_created: int = 0
    deployed: list[str] = field(default_factory=list)  # processes a new version was stored of
    history: str = "present"  # seeded | present
    live: LiveCycle | None = None
    cases: int = 0
    open_tasks: int = 0
    register: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def already_seeded(self) -> bool:
        return (
            not self.users_created
            and not self.deployed
            and self.history == "present"
            and self.live is not None
            and not self.live.opened
            and not self.live.steps
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "already_seeded": self.already_seeded,
            "users_created": self.users_created,
            "deployed": self.deployed,
            "history": self.history,
            "live_cycle": self.live.to_dict() if self.live else None,
            "cases": self.cases,
            "open_tasks": self.open_tasks,
            "register": self.register,
            "password": DEMO_PASSWORD,
            "seconds": round(self.seconds, 1),
        }


def seed(
    db: Database,
    *,
    clock: Clock,
    engine: Engine | None = None,
    bpmn: Path = BPMN,
    password: str = DEMO_PASSWORD,
    observer: Callable[[], None] | None = None,
) -> DemoResult:
    """Seed the demo (see the module doc). Raises ``DeadlinePastCalendar`` when the live cycle's
    deadlines need a year the calendar does not know (the history is then seeded already).
    ``observer`` is called after every command (the tests' state oracle)."""
    started = time.perf_counter()
    engine = engine or Engine()
    now = clock.now()
    if now <= ensure_utc(HISTORY_END):
        raise DemoFailed(
            f"The demo's history runs until {HISTORY_END} (Shanghai); the clock says {shanghai_text(now)}."
        )
    with db.read() as session:
        state = history_state(session)
    result = DemoResult()
    with db.write() as session:
        users, result.users_created = demo_users(session, now=now, password=password)
        files = dict(bundle_from_paths([bpmn]).files)
        result.deployed = [
            d.process_id for d in engine.deploy(session, files, actor=users[DEPLOYER], now=now) if d.created
        ]
    if state == "missing":
        play_history(Program(db, engine, FakeClock(FirstCycle.START + "+08:00"), users, observer=observer))
        result.history = "seeded"
    result.live = open_live_cycle(Program(db, engine, clock, users, observer=observer))
    with db.read() as session:
        result.cases = int(session.scalar(select(func.count()).select_from(Instance)) or 0)
        result.open_tasks = int(session.scalar(select(func.count()).where(HumanTask.state == "ready")) or 0)
        result.register = [
            {
                "district": t.district,
                "name": t.district_name,
                "kind": t.kind,
                "status": t.status,
                "changes": [c["to"] for c in t.changes],
            }
            for t in titles(session)
        ]
    result.seconds = time.perf_counter() - started
    return result


def history_state(session: Session) -> str:
    """``missing`` (a fresh database) or ``present`` (played to its end). A database holding cases
    but no demo history, or a history an interrupted run left half played, is refused."""
    if FIRST_CYCLE_ID not in cycle_ids(session).values():
        count = int(session.scalar(select(func.count()).select_from(Instance)) or 0)
        if count:
            raise DemoFailed(
                f"The database already holds {count} case(s) that the demo did not create. The demo seeds a "
                "fresh database: give it another --database-url, or delete instance/shanyu.db."
            )
        return "missing"
    if not session.scalar(select(func.count()).where(HistoryEvent.at == iso(ensure_utc(HISTORY_END)))):
        raise DemoFailed(
            "An earlier `shanyu demo` was interrupted while it played the history: delete the database "
            "(instance/shanyu.db) and run `shanyu demo` again."
        )
    return "present"


def play_history(p: Program) -> None:
    """The first cycle, then 2023–2026 for the named districts (see the module doc)."""
    first = FirstCycle(p).play()
    managed = {str(code): iid for code, iid in p.cases("title_management", after=first.cycle).items()}
    places = {code: k for code, _n, _p, k in DISTRICTS}
    huangpu, xuhui, changning, jingan, putuo = FirstCycle.named()

    def grown(codes: list[str], year: int) -> dict[str, int]:
        return {c: round(places[c] * (1 + 0.06 * (year - 2022))) for c in codes}

    # 2023: five reports; 长宁's satisfaction (72%) is below the local threshold of 80% → municipal staff
    # review it and refer it → a revocation case
    everyone = [huangpu, xuhui, changning, jingan, putuo]
    annual_reports(p, managed, grown(everyone, 2023), at="2023-02-15T10:00:00")
    annual_reviews(
        p,
        managed,
        {
            huangpu: ("good", 93),
            xuhui: ("good", 90),
            changning: ("good", 72),
            jingan: ("good", 88),
            putuo: ("good", 86),
        },
    )
    p.do(  # the figure alone opens a review: municipal staff refer it (六(三))
        managed[changning],
        "Task_satisfaction",
        {
            "satisfaction_action": "refer",
            "satisfaction_opinion": "满意度调查显示家长对托育服务管理满意度不高，提请核实。",
        },
    )
    survey = p.cases("revocation")[changning]
    p.at("2023-02-20T10:00:00")
    p.do(survey, "Task_verify", verify("confirmed", "2023-02-20"))
    p.at("2023-02-22T10:00:00")
    p.do(survey, "Task_confirm", confirm("rectify", "2023-02-22", rectify_due="2023-05-19"))
    p.at("2023-04-20T10:00:00")
    p.do(
        survey,
        "Task_rectify",
        {
            "rectification_summary": "开展家长满意度提升行动，增设托育服务热线，完善家园沟通机制。",
            "rectification_report": "m-2b2b2b2b2b",
        },
    )
    p.at("2023-04-25T10:00:00")
    p.do(
        survey,
        "Task_recheck",
        {
            "recheck_result": "passed",
            "recheck_findings": "整改到位，复查满意度为86%。",
            "rechecked_on": "2023-04-25",
        },
    )

    # 2024: 普陀 misses the report; municipal staff urge it and it reports late
    annual_reports(p, managed, grown([huangpu, xuhui, changning, jingan], 2024), at="2024-02-20T10:00:00")
    annual_reviews(p, managed, {c: ("good", 88) for c in (huangpu, xuhui, changning, jingan)})
    p.at("2024-04-01T09:00:00")  # reminder on 03-25, the report fell due on 03-31 at 17:00
    p.do(
        managed[putuo],
        "Task_missed",
        {"missed_action": "urge", "new_report_due": "2024-04-19", "missed_opinion": "督促于4月19日前补报。"},
    )
    annual_reports(p, managed, grown([putuo], 2024), at="2024-04-12T10:00:00")
    annual_reviews(p, managed, {putuo: ("good", 85)})

    # 2025: five reports; a major safety accident in 静安 → verified → its title is revoked
    annual_reports(p, managed, grown(everyone, 2025), at="2025-02-18T10:00:00")
    annual_reviews(p, managed, {c: ("good", 89) for c in everyone})
    p.at("2025-06-10T10:00:00")
    accident = start_revocation(
        p, jingan, "safety_accident", "report", f"{NAMES[jingan]}某托育机构发生婴幼儿伤亡事故。"
    )
    p.at("2025-06-12T10:00:00")
    p.do(accident, "Task_verify", verify("confirmed", "2025-06-12"))
    p.at("2025-06-16T10:00:00")
    p.do(accident, "Task_confirm", confirm("revoke", "2025-06-16", number=12))

    # 2026: the four districts that hold the title report; the last review ends the history
    remaining = [huangpu, xuhui, changning, putuo]
    annual_reports(p, managed, grown(remaining, 2026), at="2026-02-24T10:00:00")
    p.at(HISTORY_END)
    annual_reviews(p, managed, {c: ("good", 90) for c in remaining})


# -- the command ---------------------------------------------------------------------------------
def cmd_demo(ctx: CliContext) -> None:
    """``shanyu demo``: upgrade the schema, then ``seed`` on the system clock."""
    migrate.upgrade(ctx.db)
    result = seed(ctx.db, clock=ctx.clock, engine=ctx.engine)
    ctx.out(result.to_dict(), lambda: summary(result))


def summary(result: DemoResult) -> str:
    live = result.live
    totals = f"{result.cases} cases, {result.open_tasks} open tasks"
    if result.already_seeded:
        return f"Demo data already seeded ({totals}): nothing changed."
    titles_text = "; ".join(
        f"{t['name']} {'上海市示范区' if t['kind'] == 'shanghai' else '全国推荐'} {t['status']}"
        for t in result.register
    )
    lines = [
        f"Demo seeded in {result.seconds:.1f} s: {totals}; {result.users_created} new users "
        f"(password {DEMO_PASSWORD}; accounts in the README).",
        "History 2021-12 → 2026-03: "
        + ("played now" if result.history == "seeded" else "already there")
        + f". Title register: {titles_text}.",
    ]
    if live is not None:
        deadlines = ", ".join(f"{stage} {day}" for stage, day in live.deadlines.items())
        lines.append(
            f"Live cycle {live.cycle_id} (case {live.cycle}): "
            + ("opened now" if live.opened else "already open")
            + f"; deadlines {deadlines}."
        )
    return "\n".join(lines)
