"""Handlers of the creation pipeline that are pure functions of their input: quota caps, indicator
scoring, ranking, the selection check and deadline extensions.

Every rule that depends on a cycle (quotas, deadlines, the indicator set) reads the cycle data it is
given: nothing here is specific to the first cycle. Input a user can get wrong (a score for an item
the indicator set does not have, a selection over quota, an extension past the next deadline) raises
``InvalidData`` with a message in Chinese and English; the engine then fails the command and saves
nothing, so the user corrects the form and submits again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from handlers.registry import HandlerContext, handler
from workflow.clock import SHANGHAI
from workflow.errors import InvalidData

TITLE_NAMES = {
    "shanghai": ("上海市婴幼儿照护服务示范区", "Shanghai demonstration districts"),
    "national": ("全国婴幼儿照护服务示范城市推荐", "national demonstration city recommendations"),
}


TARGET_NOTE = "全市2025年目标（一），仅供参考，不作为评审条件 / the city-wide 2025 goal (一), for information, not a pass mark"


def day(value: Any, what: str) -> date:
    """An ISO date (``2022-09-30``) from cycle or form data; ``InvalidData`` naming ``what`` otherwise."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidData(f"{what}: {value!r} is not a date such as 2022-09-30.")


# How a share of the eligible districts becomes a whole number of places: cycle data
# (``quotas.rounding``), because the notice gives only its bracketed results for 16 districts.
ROUNDINGS = {
    "half_up": (ROUND_HALF_UP, "四舍五入", "rounded half up"),
    "down": (ROUND_DOWN, "向下取整", "rounded down"),
}
DEFAULT_ROUNDING = "half_up"


def share_cap(eligible: int, share: float, explicit: int | None, rounding: str = DEFAULT_ROUNDING) -> int:
    """``share`` of ``eligible`` rounded by ``rounding`` (a key of ``ROUNDINGS``), and no more than
    an explicit cap if the cycle gives one. The notice says "不超过可申报区的10%(1-2个)" and
    "不超过40%(6个)" for Shanghai's 16 districts: 1.6 and 6.4. Half up gives 2 and 6, down gives 1
    and 6; both fit the brackets ("1-2" names both roundings of 1.6). Rounding up is not offered:
    6.4 → 7 would exceed the notice's 40% (6)."""
    if rounding not in ROUNDINGS:
        raise InvalidData(
            f"quotas.rounding: {rounding!r} 不是可用的取整方式 / is not a rounding rule; use one of "
            f"{', '.join(ROUNDINGS)}. Nothing was saved."
        )
    exact = Decimal(eligible) * Decimal(str(share))
    by_share = int(exact.quantize(Decimal(1), rounding=ROUNDINGS[rounding][0]))
    return by_share if explicit is None else min(by_share, explicit)


# -- quotas ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuotaRequest:
    eligible_count: int
    national_share: float
    shanghai_share: float
    national_cap: int | None = None
    shanghai_cap: int | None = None
    rounding: str | None = None  # given by diagrams that read quotas.rounding (earlier ones: half up)


@handler("quota_caps")
def quota_caps(req: QuotaRequest) -> dict[str, Any]:
    """Both caps of a cycle. They are caps, not targets: selecting fewer is always allowed, and
    "原则上" lets the selection exceed one only with a recorded reason (``check_selection``)."""
    n = req.eligible_count
    rounding = req.rounding or DEFAULT_ROUNDING
    return {
        "eligible_count": n,
        "national_share": req.national_share,
        "national_cap": share_cap(n, req.national_share, req.national_cap, rounding),
        "shanghai_share": req.shanghai_share,
        "shanghai_cap": share_cap(n, req.shanghai_share, req.shanghai_cap, rounding),
        "rounding": rounding,
    }


# -- indicator scoring ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreRequest:
    indicators: dict[str, Any]
    item_scores: dict[str, Any]
    population: int
    childcare_places: int


@handler("score_indicators")
def score_indicators(req: ScoreRequest) -> dict[str, Any]:
    """Scores per area (完善支持政策, 扩大服务供给, 推动创新融合, 完善监管服务 in the first cycle's set),
    the total, and childcare places per 1,000 residents shown next to the set's target. The target
    (4.5 by 2025, 一) is a city-wide goal, not a mark a district passes or fails: ``target_met``
    is information for the reviewers, and no gateway, ranking or check reads it."""
    items = {item["code"]: (area, item) for area in req.indicators["areas"] for item in area["items"]}
    scores = req.item_scores if isinstance(req.item_scores, dict) else {}
    problems = []
    unknown = sorted(set(scores) - set(items))
    missing = sorted(set(items) - set(scores))
    if unknown:
        problems.append(f"评估指标中没有这些指标项 not in the indicator set: {', '.join(unknown)}")
    if missing:
        problems.append(f"以下指标项未评分 items without a score: {', '.join(missing)}")
    for code, value in sorted(scores.items()):
        if code in items:
            top = items[code][1]["max_score"]
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= top:
                problems.append(
                    f"{code} {items[code][1]['name']}: 得分须在 0–{top} 之间 score must be 0–{top}"
                )
    if problems:
        version = req.indicators.get("version", "")
        raise InvalidData(
            f"逐项得分与评估指标（{version}）不符 / the scores do not fit the indicator set "
            f"{version}: " + "; ".join(problems) + ". Nothing was saved.",
            errors=problems,
        )
    if req.population <= 0:
        raise InvalidData(f"Population must be positive, got {req.population}.")
    areas = []
    for area in req.indicators["areas"]:
        got = sum(Decimal(str(scores[item["code"]])) for item in area["items"])
        top = sum(Decimal(str(item["max_score"])) for item in area["items"])
        areas.append({"code": area["code"], "name": area["name"], "score": float(got), "max": float(top)})
    total = sum(Decimal(str(a["score"])) for a in areas)
    max_total = sum(Decimal(str(a["max"])) for a in areas)
    exact = Decimal(req.childcare_places) * 1000 / Decimal(req.population)
    per_1000 = exact.quantize(Decimal("0.01"))  # shown rounded; compared with the goal on the exact figure
    target = Decimal(str(req.indicators["target_places_per_1000"]))
    pass_score = req.indicators.get("pass_score")
    return {
        "version": req.indicators.get("version", ""),
        "areas": areas,
        "total": float(total),
        "max_total": float(max_total),
        "percent": float((total * 100 / max_total).quantize(Decimal("0.1"))) if max_total else 0.0,
        "places_per_1000": float(per_1000),
        "target_places_per_1000": float(target),
        "target_met": exact >= target,
        "target_note": TARGET_NOTE,
        "meets_pass_score": None if pass_score is None else total >= Decimal(str(pass_score)),
    }


# -- ranking and selection ------------------------------------------------------------------------


@dataclass(frozen=True)
class RankRequest:
    outcomes: list[dict[str, Any]]


@handler("rank_candidates")
def rank_candidates(req: RankRequest) -> dict[str, Any]:
    """The districts that passed the audit, best first (audit score, then places per 1,000, then
    code), and the others with their reasons; counts per result."""
    passed = [o for o in req.outcomes if o.get("result") == "passed"]
    passed.sort(key=lambda o: (-(o.get("audit_score") or 0), -(o.get("places_per_1000") or 0), o["district"]))
    ranked = [
        {
            "rank": i,
            "code": o["district"],
            "name": o.get("district_name", ""),
            "audit_score": o.get("audit_score"),
            "self_score": o.get("self_score"),
            "places_per_1000": o.get("places_per_1000"),
            "target_met": o.get("target_met"),
        }
        for i, o in enumerate(passed, start=1)
    ]
    others = sorted(
        (
            {
                "code": o["district"],
                "name": o.get("district_name", ""),
                "result": o.get("result"),
                "stage": o.get("stage"),
                "reason": o.get("reason"),
            }
            for o in req.outcomes
            if o.get("result") != "passed"
        ),
        key=lambda o: str(o["code"]),
    )
    counts: dict[str, int] = {"invited": len(req.outcomes)}
    for o in req.outcomes:
        counts[str(o.get("result"))] = counts.get(str(o.get("result")), 0) + 1
    return {"passed": ranked, "others": others, "counts": counts}


@dataclass(frozen=True)
class SelectionRequest:
    shanghai_selected: list[str]
    national_selected: list[str]
    ranking: dict[str, Any]
    quota: dict[str, Any]
    # given by diagrams whose selection form has the field (earlier ones: no cap may be exceeded)
    over_quota_reason: str | None = None


MIN_REASON = 10  # characters of a reason for exceeding a cap, like the form's other opinions


@handler("check_selection")
def check_selection(req: SelectionRequest) -> dict[str, Any]:
    """Both lists must hold districts that passed the audit, each once. The caps hold "原则上" (二):
    a list over its cap is accepted only with ``over_quota_reason``, which the form records in the
    case and its history; without one it is refused with the cap. A diagram that passes no reason
    keeps the earlier rule (over the cap is refused)."""
    passed = {r["code"]: r for r in req.ranking["passed"]}
    order = [r["code"] for r in req.ranking["passed"]]
    reason = (req.over_quota_reason or "").strip()
    result: dict[str, Any] = {}
    for kind, chosen in (("shanghai", req.shanghai_selected), ("national", req.national_selected)):
        zh, en = TITLE_NAMES[kind]
        cap, share, n = req.quota[f"{kind}_cap"], req.quota[f"{kind}_share"], req.quota["eligible_count"]
        if len(set(chosen)) != len(chosen):
            raise InvalidData(
                f"{zh}名单中有重复的区 / the list of {en} names a district twice. Nothing was saved."
            )
        outside = [code for code in chosen if code not in passed]
        if outside:
            raise InvalidData(
                f"{zh}：{', '.join(outside)} 未通过现场审核，不能入选 / {', '.join(outside)} did not "
                f"pass the on-site audit and cannot be selected as {en}. Nothing was saved.",
                kind=kind,
                districts=outside,
            )
        if len(chosen) > cap and len(reason) < MIN_REASON:
            allowed = req.over_quota_reason is not None
            raise InvalidData(
                f"{zh}拟选 {len(chosen)} 个，超过本周期限额 {cap} 个（可申报区 {n} 个的 {share:.0%}）"
                + ("；限额“原则上”不超过，确需超出的，请在“超出限额的理由”中说明（至少10字）" if allowed else "")
                + f" / {len(chosen)} {en} selected, but the cap for this cycle is {cap} ({share:.0%} of {n} "
                "eligible districts)"
                + (
                    f"; the cap holds 'in principle': to exceed it, give the reason (at least {MIN_REASON} "
                    "characters)"
                    if allowed
                    else ""
                )
                + ". Nothing was saved.",
                kind=kind,
                cap=cap,
                selected=len(chosen),
            )
        result[kind] = [passed[code] for code in order if code in chosen]
    return result


# -- deadlines ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExtensionRequest:
    due: dict[str, str]
    stage: str
    new_deadline: str
    limit: str
    reason: str


@handler("grant_extension")
def grant_extension(req: ExtensionRequest, ctx: HandlerContext) -> dict[str, str]:
    """The stage's deadlines with ``stage`` moved to ``new_deadline``: later than the missed one and
    than today, earlier than ``limit`` (the next stage's deadline)."""
    current = day(req.due[req.stage], "the current deadline")
    new = day(req.new_deadline, "新的期限 new deadline")
    limit = day(req.limit, "the next deadline")
    today = ctx.now.astimezone(SHANGHAI).date()
    if new <= max(current, today):
        raise InvalidData(
            f"新的期限 {new} 须晚于原期限 {current} 和今天 {today} / the new deadline {new} must be "
            f"after the missed one ({current}) and after today ({today}). Nothing was saved."
        )
    if new >= limit:
        raise InvalidData(
            f"新的期限 {new} 须早于下一阶段期限 {limit} / the new deadline {new} must be before the "
            f"next deadline of the cycle ({limit}). Nothing was saved."
        )
    return {**req.due, req.stage: new.isoformat()}
