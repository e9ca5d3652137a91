"""Who a cycle invites (二, 五(一)): a district that holds a title already — the Shanghai title or
the national one, named or under rectification — is not invited again; the cycle records who was
left out and why, for municipal staff to see in the case data and its history."""

from __future__ import annotations

from typing import Any

import pytest

from tests.program.scenarios import SMALL, small_cycle
from web.demo_data import DISTRICTS, cycle_data, indicators
from web.demo_driver import Program
from workflow.errors import InvalidData
from workflow.history import list_events

SECOND = {
    "cycle_id": "2023-2024",
    "cycle_name": "第二批上海市婴幼儿照护服务示范区创建（2023—2024年）",
    "deadlines": {
        "application": "2023-03-31",
        "self_assessment": "2023-06-30",
        "audit": "2023-08-31",
        "selection": "2023-09-28",
        "naming": "2023-12-29",
    },
}


def screening(p: Program, cycle: int) -> dict[str, Any]:
    """The ``screen_invitees`` result the cycle's history recorded."""
    with p.db.read() as s:
        [found] = [
            r["result"]
            for e in list_events(s, cycle)
            for r in e.payload.get("handler_results", [])
            if r["operation"] == "screen_invitees"
        ]
    return dict(found)


def test_districts_holding_a_title_are_not_invited_by_the_next_cycle(program: Program) -> None:
    p = program
    small_cycle(p)  # 黄浦, 徐汇, 长宁, 静安 named on 2022-12-28; 黄浦 also by the State
    second = p.start("creation_cycle", cycle_data(DISTRICTS[:5], **SECOND))
    found = screening(p, second)
    assert [d["code"] for d in found["invited"]] == ["310107"]  # 普陀 holds no title
    left = {d["code"]: d for d in found["left_out"]}
    assert list(left) == [code for code, *_ in SMALL]
    assert [t["kind"] for t in left["310101"]["titles"]] == ["shanghai", "national"]
    assert "已持有“上海市婴幼儿照护服务示范区”（SH-2021-2022-310101，已命名）" in left["310101"]["reason"]
    assert "“全国婴幼儿照护服务示范城市”（CN-2021-2022-310101，已命名）" in left["310101"]["reason"]
    assert left["310104"]["reason"].endswith("not invited again")

    p.do(second, "Task_indicators", indicators("沪教委托幼〔2023〕9号", "2022-12-28"))
    invited = p.cases("district_application", after=second)
    assert list(invited) == ["310107"]
    # the quotas stay shares of the cycle's eligible list: municipal staff gave five districts
    with p.db.read() as s:
        results = {
            r["operation"]: r["result"]
            for e in list_events(s, second)
            for r in e.payload.get("handler_results", [])
        }
    assert results["quota_caps"]["eligible_count"] == 5
    p.check_history()


def test_a_cycle_with_nobody_left_to_invite_is_refused_and_nothing_is_saved(program: Program) -> None:
    p = program
    small_cycle(p)
    before = p.cases("creation_cycle")
    with pytest.raises(InvalidData, match="均已持有称号.*nobody to invite"):
        p.start("creation_cycle", cycle_data(SMALL, **SECOND))
    assert p.cases("creation_cycle") == before
