"""The programme's pure handlers: quota caps from cycle data, indicator scoring, ranking, the
selection check, deadline extensions, cycle-data validation and objection records."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from handlers.cycle_data import CycleData, validate_cycle
from handlers.notices import (
    NoticeRequest,
    ObjectionRequest,
    latest_publication,
    publication_status,
    publish_notice,
    record_objection,
)
from handlers.program import (
    ExtensionRequest,
    QuotaRequest,
    RankRequest,
    ScoreRequest,
    SelectionRequest,
    check_selection,
    grant_extension,
    quota_caps,
    rank_candidates,
    score_indicators,
    share_cap,
)
from handlers.registry import REGISTRY, HandlerContext
from handlers.titles import RevocationRequest, check_revocation_request
from web.demo_data import AREAS, DISTRICTS, cycle_data, scores
from workflow.calendar import WorkCalendar
from workflow.errors import InvalidData

INDICATORS = cycle_data()["indicators"]


def test_every_handler_the_diagrams_name_is_registered() -> None:
    assert {
        "validate_cycle",
        "quota_caps",
        "score_indicators",
        "rank_candidates",
        "check_selection",
        "grant_extension",
        "publish_notice",
        "record_objection",
        "close_notice",
        "notify",
        "register_titles",
        "title_status",
        "update_title_register",
        "check_revocation_request",
        "screen_invitees",
        "latest_publication",
    } <= set(REGISTRY.names())


@pytest.mark.parametrize(
    ("eligible", "share", "cap", "expected"),
    [
        (16, 0.10, None, 2),  # "不超过可申报区的10%(1-2个)": 1.6 rounds to 2
        (16, 0.40, None, 6),  # "不超过40%(6个)": 6.4 rounds to 6
        (16, 0.10, 1, 1),  # an explicit cap lower than the share wins
        (15, 0.10, None, 2),  # 1.5 rounds half up
        (14, 0.40, None, 6),  # 5.6
        (3, 0.10, None, 0),
    ],
)
def test_quota_caps_follow_the_cycle_data(
    eligible: int, share: float, cap: int | None, expected: int
) -> None:
    assert share_cap(eligible, share, cap) == expected


def test_quota_caps_of_the_first_cycle() -> None:
    caps = quota_caps(QuotaRequest(16, 0.10, 0.40, 2, 6))
    assert (caps["national_cap"], caps["shanghai_cap"]) == (2, 6)


def test_scoring_sums_each_area_and_checks_the_places_target() -> None:
    result = score_indicators(ScoreRequest(INDICATORS, scores(100), 1_000_000, 4_500))
    assert [a["name"] for a in result["areas"]] == [
        "完善支持政策",
        "扩大服务供给",
        "推动创新融合",
        "完善监管服务",
    ]
    assert [a["score"] for a in result["areas"]] == [25, 25, 25, 25]
    assert (result["total"], result["max_total"], result["percent"]) == (100, 100, 100.0)
    assert (result["places_per_1000"], result["target_places_per_1000"], result["target_met"]) == (
        4.5,
        4.5,
        True,
    )
    below = score_indicators(ScoreRequest(INDICATORS, scores(50), 1_000_000, 4_499))
    assert (below["places_per_1000"], below["target_met"], below["meets_pass_score"]) == (4.5, False, False)


def test_scores_that_do_not_fit_the_indicator_set_are_refused_with_every_problem() -> None:
    bad = {**scores(80), "9.9": 3, "1.1": 50}
    del bad["4.3"]
    with pytest.raises(InvalidData) as err:
        score_indicators(ScoreRequest(INDICATORS, bad, 1_000_000, 4_500))
    message = err.value.message
    assert (
        "9.9" in message
        and "4.3" in message
        and "1.1 纳入国民经济和社会发展规划: 得分须在 0–8 之间" in message
    )


def outcome(
    code: str, result: str, audit: float | None = None, per_1000: float | None = None
) -> dict[str, Any]:
    return {
        "district": code,
        "district_name": code,
        "result": result,
        "stage": "audit",
        "reason": "",
        "audit_score": audit,
        "self_score": audit,
        "places_per_1000": per_1000,
        "target_met": None,
    }


def test_ranking_orders_the_passed_districts_by_audit_score_then_places() -> None:
    ranked = rank_candidates(
        RankRequest(
            [
                outcome("310104", "passed", 88, 4.6),
                outcome("310101", "passed", 90, 4.0),
                outcome("310105", "passed", 88, 4.9),
                outcome("310106", "failed", 50, 3.0),
                outcome("310107", "declined"),
            ]
        )
    )
    assert [r["code"] for r in ranked["passed"]] == ["310101", "310105", "310104"]
    assert [r["rank"] for r in ranked["passed"]] == [1, 2, 3]
    assert [o["code"] for o in ranked["others"]] == ["310106", "310107"]
    assert ranked["counts"] == {"invited": 5, "passed": 3, "failed": 1, "declined": 1}


def selection(shanghai: list[str], national: list[str]) -> SelectionRequest:
    codes = [code for code, *_ in DISTRICTS[:8]]
    ranking = rank_candidates(RankRequest([outcome(c, "passed", 90 - i) for i, c in enumerate(codes)]))
    return SelectionRequest(shanghai, national, ranking, quota_caps(QuotaRequest(16, 0.10, 0.40, 2, 6)))


def test_a_selection_within_both_caps_is_returned_in_ranking_order() -> None:
    picked = check_selection(selection(["310106", "310101"], ["310104"]))
    assert [c["code"] for c in picked["shanghai"]] == ["310101", "310106"]
    assert [c["code"] for c in picked["national"]] == ["310104"]


@pytest.mark.parametrize(
    ("shanghai", "national", "message"),
    [
        (
            [c for c, *_ in DISTRICTS[:7]],
            [],
            "上海市婴幼儿照护服务示范区拟选 7 个，超过本周期限额 6 个（可申报区 16 个的 40%）",
        ),
        (
            [],
            ["310101", "310104", "310105"],
            "3 national demonstration city recommendations selected, but the cap for this "
            "cycle is 2 \\(10% of 16 eligible districts\\)",
        ),
        (["310151"], [], "310151 did not pass the on-site audit"),
        (["310101", "310101"], [], "names a district twice"),
    ],
)
def test_a_selection_over_quota_or_outside_the_passed_districts_is_refused(
    shanghai: list[str], national: list[str], message: str
) -> None:
    with pytest.raises(InvalidData, match=message):
        check_selection(selection(shanghai, national))


def context(now: str = "2022-01-04T09:00:00+08:00") -> HandlerContext:
    return HandlerContext(
        None, 1, "district_application", "310101", "Extend_apply", datetime.fromisoformat(now).astimezone(UTC)
    )


def test_an_extension_must_be_after_the_missed_deadline_and_today_and_before_the_next() -> None:
    due = {"application": "2021-12-31", "self_assessment": "2022-05-31"}
    moved = grant_extension(
        ExtensionRequest(due, "application", "2022-01-14", "2022-05-31", "改期"), context()
    )
    assert moved == {"application": "2022-01-14", "self_assessment": "2022-05-31"}
    for new, message in (
        ("2022-05-31", "须早于下一阶段期限"),
        ("2021-12-31", "须晚于原期限"),
        ("2022-01-03", "今天 2022-01-04"),
        ("2022-1-14", "not a date"),
    ):
        with pytest.raises(InvalidData, match=message):
            grant_extension(ExtensionRequest(due, "application", new, "2022-05-31", "改期"), context())


def cycle(**changes: Any) -> CycleData:
    return CycleData(**{**cycle_data(), **changes})


def test_the_first_cycle_data_is_valid() -> None:
    summary = validate_cycle(cycle())
    assert (summary["eligible_count"], summary["indicator_items"]) == (16, 12)
    assert list(summary["deadlines"].values()) == [
        "2021-12-31",
        "2022-05-31",
        "2022-07-31",
        "2022-09-30",
        "2022-12-31",
    ]


def test_cycle_data_problems_are_all_reported() -> None:
    data = cycle_data()
    with pytest.raises(InvalidData) as err:
        validate_cycle(
            cycle(
                deadlines={**data["deadlines"], "audit": "2022-05-01"},
                eligible_districts=[*data["eligible_districts"], data["eligible_districts"][0]],
                quotas={"national_share": 1.5, "shanghai_share": 0.4},
                indicators={**data["indicators"], "areas": [*AREAS, AREAS[0]]},
                notice_workdays=0,
                management={**data["management"], "annual_report_due": "3-31"},
            )
        )
    problems = err.value.details["errors"]
    assert len(problems) == 6
    assert any("self_assessment (2022-05-31) must come before audit (2022-05-01)" in p for p in problems)


def test_a_notice_of_fewer_than_five_working_days_is_refused_even_by_an_older_cycle() -> None:
    """Cycle data checked by an earlier form (1–60 working days) still cannot publish a shorter notice."""
    with pytest.raises(InvalidData, match="不少于5个工作日.*gives 4"):
        publish_notice(
            NoticeRequest("2021-2022", "公示", "https://x.cn/n", 4, {}), context("2022-09-26T10:00:00+08:00")
        )
    # a case pinned to a diagram that still asks for the date: only today's date is accepted
    with pytest.raises(InvalidData, match="公示发布日期须为发布当日 2022-09-26"):
        publish_notice(
            NoticeRequest("2021-2022", "公示", "https://x.cn/n", 5, {}, "2022-09-01", "2022-09-07"),
            context("2022-09-26T10:00:00+08:00"),
        )
    problems = []
    for workdays in (3, 5, 7):
        try:
            validate_cycle(cycle(notice_workdays=workdays))
        except InvalidData as exc:
            problems.append((workdays, exc.details["errors"]))
    assert [w for w, _p in problems] == [3] and "五(四)" in problems[0][1][0]


def test_an_upheld_objection_must_name_a_candidate() -> None:
    candidates = {"shanghai": [{"code": "310101"}], "national": []}
    log = record_objection(
        ObjectionRequest([], {"district": "310101"}, "upheld", "310101", "属实", "取消", candidates)
    )
    log = record_objection(
        ObjectionRequest(log, {"district": "310104"}, "dismissed", "310104", "不属实", "不成立", candidates)
    )
    assert [(e["result"], e["district"]) for e in log] == [("upheld", "310101"), ("dismissed", None)]
    with pytest.raises(InvalidData, match="310104 is not on it"):
        record_objection(ObjectionRequest([], {}, "upheld", "310104", "属实", "取消", candidates))


def test_a_revocation_request_needs_one_of_the_grounds() -> None:
    assert check_revocation_request(RevocationRequest("fraud", "report"))["ground_name"] == "存在弄虚作假情形"
    with pytest.raises(InvalidData, match="Unknown ground"):
        check_revocation_request(RevocationRequest("rumour", "report"))


@pytest.mark.parametrize(
    ("eligible", "share", "rounding", "expected"),
    [
        (16, 0.10, "half_up", 2),  # 1.6: the "2" of "(1-2个)"
        (16, 0.10, "down", 1),  # 1.6: the "1" of "(1-2个)"
        (16, 0.40, "half_up", 6),  # 6.4: "(6个)"
        (16, 0.40, "down", 6),
        (15, 0.10, "down", 1),  # 1.5
        (14, 0.40, "down", 5),  # 5.6
    ],
)
def test_the_rounding_of_a_share_is_cycle_data(eligible: int, share: float, rounding: str, expected: int) -> None:
    assert share_cap(eligible, share, None, rounding) == expected
    caps = quota_caps(QuotaRequest(eligible, share, share, rounding=rounding))
    assert (caps["national_cap"], caps["rounding"]) == (expected, rounding)


def test_a_rounding_rule_the_notice_rules_out_is_refused() -> None:
    with pytest.raises(InvalidData, match="quotas.rounding"):
        share_cap(16, 0.40, None, "up")  # 6.4 → 7 would exceed the notice's 40% (6)
    with pytest.raises(InvalidData, match="quotas.rounding: 'up' is not one of half_up, down"):
        validate_cycle(cycle(quotas={**cycle_data()["quotas"], "rounding": "up"}))


def test_the_local_settings_of_a_cycle_are_checked() -> None:
    assert validate_cycle(cycle(cutoff_time="16:30", report_workdays=0))["cycle_id"] == "2021-2022"
    with pytest.raises(InvalidData) as err:
        validate_cycle(cycle(cutoff_time="5pm", report_workdays=-1))
    assert err.value.details["errors"] == [
        "cutoff_time: a time of day such as 17:00",
        "report_workdays: a whole number of working days, 0–30",
    ]


def test_a_cap_may_be_exceeded_only_with_a_reason() -> None:
    seven = [c for c, *_ in DISTRICTS[:7]]
    request = selection(seven, [])
    with pytest.raises(InvalidData, match="超出限额的理由"):
        check_selection(SelectionRequest(**{**request.__dict__, "over_quota_reason": ""}))
    with pytest.raises(InvalidData, match="at least 10 characters"):
        check_selection(SelectionRequest(**{**request.__dict__, "over_quota_reason": "理由太短"}))
    reason = "第七个区的现场审核得分与第六个区相同，经研究一并命名。"
    picked = check_selection(SelectionRequest(**{**request.__dict__, "over_quota_reason": reason}))
    assert [c["code"] for c in picked["shanghai"]] == seven


def test_the_places_goal_is_information_and_decides_nothing() -> None:
    below = score_indicators(ScoreRequest(INDICATORS, scores(95), 1_000_000, 3_000))
    assert (below["places_per_1000"], below["target_met"]) == (3.0, False)
    assert "仅供参考" in below["target_note"] and "not a pass mark" in below["target_note"]
    # a district below the goal that passed the audit ranks by its audit score and may be selected
    outcomes = [
        {**outcome("310101", "passed", 95), "places_per_1000": 3.0, "target_met": False},
        {**outcome("310104", "passed", 80), "places_per_1000": 6.0, "target_met": True},
    ]
    ranking = rank_candidates(RankRequest(outcomes))
    assert [r["code"] for r in ranking["passed"]] == ["310101", "310104"]
    picked = check_selection(
        SelectionRequest(["310101"], ["310101"], ranking, quota_caps(QuotaRequest(16, 0.10, 0.40)))
    )
    assert [c["code"] for c in picked["shanghai"]] == ["310101"]


@pytest.mark.parametrize(
    ("deadline", "notice", "report", "expected"),
    [
        # 五(四): by 30 September 2022 (a Friday); five working days from Friday 23rd end on Thursday
        # 29th, and the report goes up on Friday 30th
        ("2022-09-30", 5, 1, ("2022-09-23", "2022-09-29", "2022-09-30")),
        ("2022-09-30", 5, 0, ("2022-09-26", "2022-09-30", "2022-09-30")),  # report the day it ends
        # across the National Day holiday: 30 Sep, then the working weekend of 8 and 9 October
        ("2022-10-12", 5, 1, ("2022-09-30", "2022-10-11", "2022-10-12")),
        ("2022-10-08", 5, 1, ("2022-09-26", "2022-09-30", "2022-10-08")),  # 8 October 2022 was worked
        ("2022-09-30", 7, 1, ("2022-09-21", "2022-09-29", "2022-09-30")),
    ],
)
def test_the_latest_publication_date_leaves_the_notice_and_the_report_within_the_deadline(
    deadline: str, notice: int, report: int, expected: tuple[str, str, str]
) -> None:
    found = latest_publication(WorkCalendar(), date.fromisoformat(deadline), notice, report)
    assert (found["latest_on"], found["notice_ends_on"], found["report_on"]) == expected


def test_the_publication_status_says_late_only_after_the_latest_date() -> None:
    data = {"publish_by": {"latest_on": "2022-09-23", "selection_deadline": "2022-09-30"}}
    assert publication_status(data, date(2022, 9, 23))["late"] is False  # type: ignore[index]
    assert publication_status(data, date(2022, 9, 26))["late"] is True  # type: ignore[index]
    assert publication_status({}, date(2022, 9, 26)) is None  # cases of earlier diagrams have none
