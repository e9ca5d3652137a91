"""The data of the programme's demo and of its scenario tests: the 16 districts, the roles and one
user per role and district, the indicator set, the first cycle's data, and what each user types
into each form.

The districts are Shanghai's (codes and names as in PROCESS.md); their population and childcare
place figures are FICTIONAL demo data, and every district in a cycle's data says so
(``"demo_data": true``). The indicator set follows the notice's four areas (创建内容) and the 4.5
places per 1,000 residents target; its items and scores are illustrative. Nothing here is IO.
"""

from __future__ import annotations

from typing import Any

from workflow.districts import DISTRICTS as SHANGHAI
from workflow.users import PROCESS_OWNER

# code -> (population (fictional), childcare places for under-3s (fictional)); the codes and names
# are Shanghai's (workflow.districts)
FIGURES: dict[str, tuple[int, int]] = {
    "310101": (660_000, 3_150),
    "310104": (1_110_000, 5_400),
    "310105": (690_000, 3_200),
    "310106": (970_000, 4_500),
    "310107": (1_240_000, 5_200),
    "310109": (760_000, 3_300),
    "310110": (1_240_000, 5_600),
    "310112": (2_650_000, 11_800),
    "310113": (2_230_000, 8_900),
    "310114": (1_830_000, 8_300),
    "310115": (5_680_000, 26_500),
    "310116": (820_000, 3_100),
    "310117": (1_910_000, 8_700),
    "310118": (1_270_000, 5_100),
    "310120": (1_140_000, 4_400),
    "310151": (640_000, 2_300),
}
# code, name, population (fictional), childcare places for under-3s (fictional)
DISTRICTS: list[tuple[str, str, int, int]] = [(code, name, *FIGURES[code]) for code, name in SHANGHAI.items()]
NAMES = {code: name for code, name, _p, _c in DISTRICTS}
# the first part of each demo user's name (huangpu-dept, huangpu-leader, ...)
SLUGS = {
    "310101": "huangpu",
    "310104": "xuhui",
    "310105": "changning",
    "310106": "jingan",
    "310107": "putuo",
    "310109": "hongkou",
    "310110": "yangpu",
    "310112": "minhang",
    "310113": "baoshan",
    "310114": "jiading",
    "310115": "pudong",
    "310116": "jinshan",
    "310117": "songjiang",
    "310118": "qingpu",
    "310120": "fengxian",
    "310151": "chongming",
}

# role key -> the role (= BPMN lane name) its user holds
ROLES = {
    "district": "区有关部门",
    "leader": "区委区政府",
    "city": "市有关部门",
    "approver": "市级审批",
    "audit": "审核专家组",
}
DISTRICT_ROLES = ("district", "leader")
DEMO_PASSWORD = "shanyu-demo"


def user_specs() -> list[tuple[str, str, list[str], str | None, str]]:
    """Every demo user: (key, user name, roles, district, display name). The key is what
    ``Program.actor`` looks users up by: ``district:310101``, ``leader:310101``, ``city:``, ..."""
    specs: list[tuple[str, str, list[str], str | None, str]] = []
    for code, name, _p, _c in DISTRICTS:
        specs.append(
            (f"district:{code}", f"{SLUGS[code]}-dept", [ROLES["district"]], code, f"{name}有关部门（演示）")
        )
        specs.append(
            (f"leader:{code}", f"{SLUGS[code]}-leader", [ROLES["leader"]], code, f"{name}委区政府（演示）")
        )
    specs += [
        ("city:", "city", [ROLES["city"]], None, "市有关部门（演示）"),
        ("owner:", "owner", [PROCESS_OWNER], None, "流程管理员（演示）"),
        ("approver:", "approver", [ROLES["approver"]], None, "市级审批（演示）"),
        ("audit:", "expert", [ROLES["audit"]], None, "审核专家组（演示）"),
        ("admin:", "admin", ["admin"], None, "系统管理员（演示）"),
        ("auditor:", "auditor", ["auditor"], None, "监督审计（演示）"),
    ]
    return specs


AREAS: list[dict[str, Any]] = [
    {
        "code": "policy",
        "name": "完善支持政策",
        "items": [
            {"code": "1.1", "name": "纳入国民经济和社会发展规划", "max_score": 8},
            {"code": "1.2", "name": "托育服务三年行动计划", "max_score": 8},
            {"code": "1.3", "name": "规划、土地、房屋、财政等综合支持政策", "max_score": 9},
        ],
    },
    {
        "code": "supply",
        "name": "扩大服务供给",
        "items": [
            {"code": "2.1", "name": "普惠性托育资源与幼儿园托班", "max_score": 10},
            {"code": "2.2", "name": "科学育儿指导服务", "max_score": 8},
            {"code": "2.3", "name": "社区托育服务圈", "max_score": 7},
        ],
    },
    {
        "code": "innovation",
        "name": "推动创新融合",
        "items": [
            {"code": "3.1", "name": "教养医结合", "max_score": 8},
            {"code": "3.2", "name": "智能监管与数字化应用", "max_score": 9},
            {"code": "3.3", "name": "母婴设施全覆盖", "max_score": 8},
        ],
    },
    {
        "code": "supervision",
        "name": "完善监管服务",
        "items": [
            {"code": "4.1", "name": "依法申办、信息公示、质量评估", "max_score": 9},
            {"code": "4.2", "name": "综合监管与安全责任", "max_score": 8},
            {"code": "4.3", "name": "家庭满意度", "max_score": 8},
        ],
    },
]
ITEMS = [(item["code"], item["max_score"]) for area in AREAS for item in area["items"]]

FIRST_CYCLE_DEADLINES = {
    "application": "2021-12-31",
    "self_assessment": "2022-05-31",
    "audit": "2022-07-31",
    "selection": "2022-09-30",
    "naming": "2022-12-31",
}


def cycle_data(districts: list[tuple[str, str, int, int]] | None = None, **changes: Any) -> dict[str, Any]:
    """The JSON municipal staff give to start the first cycle (see bpmn/forms/cycle_start.json);
    ``changes`` replace top-level keys (another cycle's id, name and deadlines)."""
    data: dict[str, Any] = {
        "cycle_id": "2021-2022",
        "cycle_name": "第一批上海市婴幼儿照护服务示范区创建（2021—2022年）",
        "eligible_districts": [
            {"code": c, "name": n, "population": p, "childcare_places": k, "demo_data": True}
            for c, n, p, k in (districts or DISTRICTS)
        ],
        "deadlines": dict(FIRST_CYCLE_DEADLINES),
        "quotas": {"national_share": 0.10, "national_cap": 2, "shanghai_share": 0.40, "shanghai_cap": 6},
        "indicators": {
            "version": "沪2021-评估指标",
            "target_places_per_1000": 4.5,
            "pass_score": 60,
            "areas": AREAS,
        },
        "notice_workdays": 5,
        "reminder_workdays": 5,
        "management": {
            "annual_report_opens": "01-04",
            "annual_report_due": "03-31",
            "satisfaction_threshold": 80,
        },
    }
    data.update(changes)
    return data


def scores(percent: int) -> dict[str, float]:
    """Item scores at about ``percent`` of each item's maximum (whole or half points)."""
    return {code: round(top * percent / 100 * 2) / 2 for code, top in ITEMS}


# -- form data the users submit: creation cycle ---------------------------------------------------


def indicators(document_no: str = "沪教委托幼〔2021〕9号", on: str = "2021-12-10") -> dict[str, Any]:
    return {
        "indicators_document_no": document_no,
        "indicators_published_on": on,
        "indicators_confirmed": True,
    }


def intention(code: str) -> dict[str, Any]:
    return {
        "intention_summary": f"{NAMES[code]}拟申报创建上海市婴幼儿照护服务示范区，由区教育局牵头推进。",
        "lead_department": "区教育局",
        "participating_departments": ["区卫生健康委", "区发展改革委"],
        "contact_name": "王老师",
        "contact_phone": "021-63210000",
        "intention_materials": ["m-0a1b2c3d4e"],
    }


def leadership(decision: str, on: str = "2021-12-15") -> dict[str, Any]:
    opinion = "同意以区人民政府名义申报。" if decision == "approve" else "本周期暂不申报，继续夯实基础。"
    return {"leadership_decision": decision, "meeting_date": on, "leadership_opinion": opinion}


def application(code: str, on: str = "2021-12-20") -> dict[str, Any]:
    return {
        "applicant": f"{NAMES[code]}人民政府",
        "application_document_no": f"{NAMES[code][:-1]}府〔{on[:4]}〕88号",
        "applied_on": on,
        "application_letter": "m-1f2e3d4c5b",
        "plan_targets": "到2025年每千人口托位数不低于4.5个，普惠托位占比逐年提高。",
        "plan_evaluation": "对照评估指标四个方面，逐项明确责任部门和完成时限。",
        "plan_incentives": "对新增普惠托位的托育机构给予建设补贴和运营奖励。",
        "plan_file": "m-2e3f4a5b6c",
        "application_materials": [],
    }


def self_assessment(percent: int, places: int) -> dict[str, Any]:
    return {
        "self_scores": scores(percent),
        "current_places": places,
        "self_summary": "对照评估指标逐项开展自评，形成自评报告，相关资料已按时上报。",
        "self_report": "m-5a5a5a5a5a",
        "self_materials": ["m-6b6b6b6b6b", "m-7c7c7c7c7c"],
    }


ASSIGNMENT = {
    "audit_body_type": "expert_panel",
    "audit_body": "上海市婴幼儿照护服务示范区审核专家组",
    "audit_members": ["陈教授", "刘主任"],
    "planned_on": "2022-06-20",
}


def assignment(planned_on: str) -> dict[str, Any]:
    return {**ASSIGNMENT, "planned_on": planned_on}


def audit(conclusion: str, percent: int, places: int, on: str = "2022-06-28") -> dict[str, Any]:
    findings = (
        "现场核实、听取汇报、查阅资料，自评结果基本属实。"
        if conclusion == "pass"
        else "托位供给与自评不符，多项指标未达标。"
    )
    return {
        "audit_conclusion": conclusion,
        "audit_findings": findings,
        "audit_scores": scores(percent),
        "verified_places": places,
        "site_visit_on": on,
        "hearing_held": True,
        "materials_reviewed": True,
        "audit_report": "m-8d8d8d8d8d",
    }


def selection(shanghai: list[str], national: list[str], summary: str = "") -> dict[str, Any]:
    return {
        "shanghai_selected": shanghai,
        "national_selected": national,
        "data_check_done": True,
        "review_summary": summary or "综合现场审核、上报资料和数据审核情况，按得分择优遴选。",
    }


# -- form data: title management and revocation ---------------------------------------------------


def report(places: int) -> dict[str, Any]:
    return {
        "annual_summary": "本年度落实托育服务三年行动计划，新增普惠托位，完善监管服务。",
        "annual_places": places,
        "annual_report_file": "m-9e9e9e9e9e",
        "annual_materials": [],
    }


def review(conclusion: str, satisfaction: float) -> dict[str, Any]:
    return {
        "review_conclusion": conclusion,
        "satisfaction_rate": satisfaction,
        "annual_review_opinion": "结合督查指导和动态监测，审核年度工作情况。",
    }


def request(ground: str, source: str, summary: str) -> dict[str, Any]:
    return {"ground": ground, "source": source, "summary": summary}


def verify(result: str, on: str) -> dict[str, Any]:
    return {
        "verification_result": result,
        "verified_on": on,
        "verification_findings": "经现场核实、调阅资料和约谈相关负责人，情况如下。",
        "verification_materials": ["m-4d4d4d4d4d"],
    }


def confirm(decision: str, on: str, *, number: int = 5, rectify_due: str | None = None) -> dict[str, Any]:
    """The approver's decision: its own document number (``number``) and reasons; a rectification
    deadline with a rectify decision (the notice gives no period, so the decision sets it)."""
    reasons = {
        "rectify": "经核实属实，参照国家管理办法，责令限期整改。",
        "revoke": "经核实属实，情节严重，参照国家管理办法，撤销称号。",
        "no_action": "经审定，情况已整改到位，不予撤销称号。",
    }
    data = {
        "final_decision": decision,
        "decided_on": on,
        "decision_document_no": f"沪教委托幼〔{on[:4]}〕{number}号",
        "decision_reasons": reasons[decision],
    }
    if rectify_due is not None:
        data["rectify_due"] = rectify_due
    return data
