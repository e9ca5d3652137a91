"""Service tasks call handlers registered by name; a handler with a context acts in the command's
transaction; results are recorded in history and replay reads them instead of calling again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from handlers.registry import HandlerContext, HandlerRegistry
from tests.conftest import deploy
from workflow import errors
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.history import list_events
from workflow.replay import replay
from workflow.store import Database
from workflow.users import Actor


@dataclass(frozen=True)
class ScoreRequest:
    places: int
    population: int


def make_registry(calls: list[Any]) -> HandlerRegistry:
    registry = HandlerRegistry()

    def score(req: ScoreRequest) -> dict[str, float]:
        calls.append(("score", req))
        return {"per_1000": round(req.places * 1000 / req.population, 2)}

    def note(params: dict[str, Any], ctx: HandlerContext) -> str:
        calls.append(("note", ctx.instance_id, ctx.task, ctx.district))
        ctx.session.execute(text("UPDATE instance SET district = district WHERE id = :i"), {"i": ctx.instance_id})
        return f"{params['text']} @ {ctx.now.isoformat()}"

    registry.register("test_score", score)
    registry.register("test_note", note)
    return registry


def test_handlers_run_and_replay_from_history(db: Database, clock: FakeClock, users: dict[str, Actor]) -> None:
    calls: list[Any] = []
    engine = Engine(handlers=make_registry(calls))
    deploy(engine, db, clock, "engine_service.bpmn")
    with db.write() as s:
        iid = engine.start(s, "engine_service", {"district": "310101", "places": 450, "population": 100_000},
                           actor=users["city"], now=clock.now())
    assert calls[0] == ("score", ScoreRequest(450, 100_000))
    assert calls[1] == ("note", iid, "Service_note", "310101")
    with db.read() as s:
        [started] = list_events(s, iid)
        results = started.payload["handler_results"]
        assert [r["operation"] for r in results] == ["test_score", "test_note"]
        assert results[0]["result"] == {"per_1000": 4.5}
        assert results[1]["result"].startswith("score=4.5 @ 2022-01-04T01:00:00")

        replay_calls: list[Any] = []
        result = replay(s, Engine(handlers=make_registry(replay_calls)), iid)
        assert result.ok, result.to_dict()
    assert replay_calls == []  # replay never repeats a side effect


def test_unknown_handler_fails_the_command_and_saves_nothing(db: Database, clock: FakeClock,
                                                            users: dict[str, Actor]) -> None:
    engine = Engine(handlers=HandlerRegistry())
    deploy(engine, db, clock, "engine_service.bpmn")
    with pytest.raises(errors.WorkflowFailed, match="test_score"), db.write() as s:
        engine.start(s, "engine_service", {"places": 1, "population": 1}, actor=users["city"], now=clock.now())
    with db.read() as s:
        assert s.execute(text("SELECT count(*) FROM instance")).scalar() == 0
