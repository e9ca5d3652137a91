"""Handlers of the title register: naming, looking up a district's title, and changing its status
(rectifying, restored, revoked). Every change appends a ``title_change`` row naming the case and the
service task that made it, so the register and the cases' histories can be checked against each
other; a revoked title keeps its row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from handlers.program import day
from handlers.registry import HandlerContext, handler
from workflow.clock import SHANGHAI
from workflow.errors import InvalidData
from workflow.registers import ACTIVE_STATUSES, TITLE_KINDS, Title, TitleChange

PREFIX = {"shanghai": "SH", "national": "CN"}
STATUS_NAMES = {"named": "已命名", "rectifying": "整改中", "revoked": "已撤销"}
KIND_NAMES = {"shanghai": "上海市婴幼儿照护服务示范区", "national": "全国婴幼儿照护服务示范城市"}
TRANSITIONS = {  # action -> (statuses it applies to, new status)
    "rectify": (("named", "rectifying"), "rectifying"),  # a further rectification is its own decision
    "restore": (("rectifying",), "named"),
    "revoke": (("named", "rectifying"), "revoked"),
}


def _change(ctx: HandlerContext, title: Title, to: str, reason: str, decided_on: Any, document: str) -> None:
    seq = ctx.session.execute(select(func.count()).where(TitleChange.title_id == title.id)).scalar_one() + 1
    ctx.session.add(
        TitleChange(
            title_id=title.id,
            seq=seq,
            from_status=None if seq == 1 else title.status,
            to_status=to,
            reason=reason,
            decided_on=decided_on,
            document=document,
            instance_id=ctx.instance_id,
            task=ctx.task,
            at=ctx.now,
        )
    )
    title.status, title.updated_at = to, ctx.now


@dataclass(frozen=True)
class NamingRequest:
    kind: str
    cycle_id: str
    districts: list[dict[str, Any]]
    named_on: str
    document: str


@handler("register_titles")
def register_titles(req: NamingRequest, ctx: HandlerContext) -> list[dict[str, Any]]:
    """Enter the named districts in the register; returns their title ids (e.g. SH-2021-1-310101)."""
    if req.kind not in TITLE_KINDS:
        raise InvalidData(f"Unknown title kind {req.kind!r}; use one of {', '.join(TITLE_KINDS)}.")
    named_on = day(req.named_on, "命名日期 named_on")
    titles = []
    for district in req.districts:
        code, name = str(district["code"]), str(district.get("name", ""))
        held = ctx.session.execute(
            select(Title.code).where(
                Title.district == code, Title.kind == req.kind, Title.status.in_(ACTIVE_STATUSES)
            )
        ).scalar()
        if held is not None:
            raise InvalidData(
                f"{name}（{code}）已持有该称号（{held}）/ district {code} already holds this title "
                f"({held}). Nothing was saved."
            )
        title = Title(
            code=f"{PREFIX[req.kind]}-{req.cycle_id}-{code}",
            kind=req.kind,
            district=code,
            district_name=name,
            cycle_id=req.cycle_id,
            status="named",
            named_on=named_on,
            document=req.document,
            instance_id=ctx.instance_id,
            updated_at=ctx.now,
        )
        ctx.session.add(title)
        ctx.session.flush()
        _change(ctx, title, "named", "命名 named", named_on, req.document)
        titles.append({"title_id": title.code, "district": code, "district_name": name, "kind": req.kind})
    ctx.session.flush()
    return titles


GROUNDS = {  # the notice's three situations; the second has two faces, told apart for the decision
    "safety_accident": "发生重大安全责任事故",
    "backsliding": "措施不力、工作退步",
    "fraud": "存在弄虚作假情形",
    "low_satisfaction": "托育机构、婴幼儿家庭对政策环境和服务管理满意度不高",
}
SOURCES = {
    "report": "举报或事故报告",
    "monitoring": "动态监测",
    "supervision": "督查指导",
    "annual_review": "年度报送审核",
    "missed_annual_report": "逾期未报送年度工作情况",
    "survey": "满意度调查",
}


@dataclass(frozen=True)
class RevocationRequest:
    ground: str
    source: str


@handler("check_revocation_request")
def check_revocation_request(req: RevocationRequest) -> dict[str, str]:
    """The ground and source of a revocation case, with their Chinese names; unknown ones are refused."""
    if req.ground not in GROUNDS:
        raise InvalidData(
            f"Unknown ground {req.ground!r}: use one of {', '.join(GROUNDS)}. Nothing was saved."
        )
    if req.source not in SOURCES:
        raise InvalidData(
            f"Unknown source {req.source!r}: use one of {', '.join(SOURCES)}. Nothing was saved."
        )
    return {
        "ground": req.ground,
        "ground_name": GROUNDS[req.ground],
        "source": req.source,
        "source_name": SOURCES[req.source],
    }


@dataclass(frozen=True)
class TitleQuery:
    district: str
    kind: str = "shanghai"


@handler("title_status")
def title_status(req: TitleQuery, ctx: HandlerContext) -> dict[str, Any]:
    """The district's current (named or rectifying) title of ``kind``; status "none" if it holds none."""
    title = ctx.session.execute(
        select(Title).where(
            Title.district == req.district, Title.kind == req.kind, Title.status.in_(ACTIVE_STATUSES)
        )
    ).scalar()
    if title is None:
        return {
            "status": "none",
            "title_id": "",
            "district": req.district,
            "district_name": "",
            "kind": req.kind,
        }
    return {
        "status": title.status,
        "title_id": title.code,
        "district": title.district,
        "district_name": title.district_name,
        "kind": title.kind,
        "named_on": title.named_on.isoformat(),
        "cycle_id": title.cycle_id,
    }


@dataclass(frozen=True)
class TitleChangeRequest:
    title_id: str
    action: str
    reason: str
    decided_on: str
    document: str = ""


@handler("update_title_register")
def update_title_register(req: TitleChangeRequest, ctx: HandlerContext) -> dict[str, Any]:
    """Move a title to rectifying, back to named, or to revoked, with the reason and the decision."""
    if req.action not in TRANSITIONS:
        raise InvalidData(f"Unknown register action {req.action!r}; use one of {', '.join(TRANSITIONS)}.")
    title = ctx.session.execute(select(Title).where(Title.code == req.title_id)).scalar()
    if title is None:
        raise InvalidData(f"The title register has no title {req.title_id}.")
    allowed, to = TRANSITIONS[req.action]
    if title.status not in allowed:
        raise InvalidData(
            f"称号 {title.code} 当前状态为 {title.status}，不能执行 {req.action} / title {title.code} is "
            f"{title.status}; '{req.action}' applies to {' or '.join(allowed)} titles only."
        )
    decided_on = day(req.decided_on, "决定日期 decided_on")
    before = title.status
    _change(ctx, title, to, req.reason, decided_on, req.document)
    if to == "revoked":
        title.revoked_on = decided_on
    ctx.session.flush()
    return {
        "title_id": title.code,
        "district": title.district,
        "from": before,
        "to": to,
        "decided_on": decided_on.isoformat(),
    }


@dataclass(frozen=True)
class RectifyDueRequest:
    due: str
    decided_on: str


@handler("check_rectify_due")
def check_rectify_due(req: RectifyDueRequest, ctx: HandlerContext) -> str:
    """The rectification deadline the approver set, if it lies after the decision date and after
    today. The notice gives no rectification period, so the decision sets it; nothing is assumed."""
    due = day(req.due, "整改期限 rectify_due")
    decided = day(req.decided_on, "决定日期 decided_on")
    today = ctx.now.astimezone(SHANGHAI).date()
    if due <= max(decided, today):
        raise InvalidData(
            f"整改期限 {due} 须晚于决定日期 {decided} 和今天 {today} / the rectification deadline {due} must be "
            f"after the decision date ({decided}) and after today ({today}). Nothing was saved."
        )
    return due.isoformat()


@dataclass(frozen=True)
class ScreenRequest:
    cycle_id: str
    districts: list[dict[str, Any]]


@handler("screen_invitees")
def screen_invitees(req: ScreenRequest, ctx: HandlerContext) -> dict[str, Any]:
    """The cycle's districts split into those it invites and those it leaves out because they hold a
    title already (named or rectifying), each left out with the title and the reason. The programme
    creates demonstration districts (二); a district that holds the Shanghai title, or the national
    title the State named, is not invited to create it again. A revoked title does not count: that
    district may apply again. The eligible list itself is unchanged (the quotas are shares of it).
    Every district left out is refused the whole cycle: a cycle with nobody to invite is refused."""
    codes = [str(d["code"]) for d in req.districts]
    held: dict[str, list[Title]] = {}
    for title in ctx.session.execute(
        select(Title)
        .where(Title.district.in_(codes), Title.status.in_(ACTIVE_STATUSES))
        .order_by(Title.district, Title.kind.desc(), Title.code)  # shanghai before national
    ).scalars():
        held.setdefault(title.district, []).append(title)
    invited, left_out = [], []
    for district in req.districts:
        titles = held.get(str(district["code"]), [])
        if not titles:
            invited.append(district)
            continue
        names = "、".join(f"“{KIND_NAMES[t.kind]}”（{t.code}，{STATUS_NAMES[t.status]}）" for t in titles)
        left_out.append(
            {
                "code": str(district["code"]),
                "name": str(district.get("name", "")),
                "titles": [{"title_id": t.code, "kind": t.kind, "status": t.status} for t in titles],
                "reason": f"已持有{names}，本周期不再邀请 / already holds "
                + ", ".join(f"{t.code} ({t.status})" for t in titles)
                + "; not invited again",
            }
        )
    if not invited:
        raise InvalidData(
            f"周期 {req.cycle_id} 的可申报区均已持有称号，没有可邀请的区 / every district of cycle {req.cycle_id} "
            "already holds a title; there is nobody to invite. Nothing was saved.",
            left_out=[d["code"] for d in left_out],
        )
    return {"invited": invited, "left_out": left_out}
