"""Fixtures for the programme's scenarios: the diagrams in ``bpmn/`` deployed, the demo's users (one
per role and district), a fake clock, and ``program``, the demo's driver (``web.demo_driver.Program``)
that acts as the users would.

Every scenario runs twice (``roundtrip``): reusing cached cases, and restoring every case from the
database before each command (the save/restore round trip). After every command the state oracle
(``tests/oracle.py``) compares each case the command changed with its reload, its SpiffWorkflow
serializer round trip and its replay. At the end, every case's evidence bundle must verify
(``shanyu history check-bundle``'s check, with no database).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.oracle import StateOracle
from web.demo_driver import Program, demo_users
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.evidence import check_bundle, export_case, read_bundle
from workflow.specs import bundle_from_paths
from workflow.store import Database, Instance
from workflow.users import Actor

BPMN = Path(__file__).resolve().parents[2] / "bpmn"


def make_engine() -> Engine:
    """The engine as production builds it: the working-day functions read the database's calendar
    and their results are recorded in history."""
    return Engine()


@pytest.fixture
def engine() -> Engine:
    return make_engine()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock("2021-12-10T09:00:00+08:00")


@pytest.fixture(params=["cached", "roundtrip"])
def roundtrip(request: pytest.FixtureRequest) -> bool:
    return bool(request.param == "roundtrip")


@pytest.fixture
def program(db: Database, engine: Engine, clock: FakeClock, roundtrip: bool) -> Iterator[Program]:
    with db.write() as session:
        users, _created = demo_users(session, now=clock.now())
        admin = Actor("admin", frozenset({"admin"}))
        files = dict(bundle_from_paths([BPMN]).files)
        engine.deploy(session, files, actor=admin, now=clock.now())
    oracle = StateOracle(db, engine)
    yield Program(db, engine, clock, users, roundtrip=roundtrip, observer=oracle)
    if oracle.checked == 0:
        oracle()  # a scenario made of one command still gets its case checked
    check_bundles(db, clock)


def check_bundles(db: Database, clock: FakeClock) -> None:
    """Every case the scenario made exports an evidence bundle that verifies without the database."""
    with db.read() as session:
        ids = session.execute(select(Instance.id).where(Instance.event_count > 0)).scalars().all()
        bundles = [export_case(session, iid, now=clock.now(), exported_by="auditor") for iid in ids]
    checker = Engine(check_state=False)
    for bundle in bundles:
        result = check_bundle(read_bundle(json.dumps(bundle, ensure_ascii=False)), checker)
        assert result.ok, (bundle["case"], result.to_dict())


__all__ = ["Program", "make_engine"]
