"""Test data for the programme's scenarios.

The 16 districts are Shanghai's (codes and names as in PROCESS.md); their population and childcare
place figures are FICTIONAL test data. The indicator set follows the notice's four areas (创建内容)
and the 4.5 places per 1,000 residents target; its items and scores are illustrative.
"""

from __future__ import annotations

from typing import Any

# code, name, population (fictional), childcare places for under-3s (fictional)
DISTRICTS: list[tuple[str, str, int, int]] = [
    ("310101", "黄浦区", 660_000, 3_150),
    ("310104", "徐汇区", 1_110_000, 5_400),
    ("310105", "长宁区", 690_000, 3_200),
    ("310106", "静安区", 970_000, 4_500),
    ("310107", "普陀区", 1_240_000, 5_200),
    ("310109", "虹口区", 760_000, 3_300),
    ("310110", "杨浦区", 1_240_000, 5_600),
    ("310112", "闵行区", 2_650_000, 11_800),
    ("310113", "宝山区", 2_230_000, 8_900),
    ("310114", "嘉定区", 1_830_000, 8_300),
    ("310115", "浦东新区", 5_680_000, 26_500),
    ("310116", "金山区", 820_000, 3_100),
    ("310117", "松江区", 1_910_000, 8_700),
    ("310118", "青浦区", 1_270_000, 5_100),
    ("310120", "奉贤区", 1_140_000, 4_400),
    ("310151", "崇明区", 640_000, 2_300),
]
NAMES = {code: name for code, name, _p, _c in DISTRICTS}

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
    """The JSON municipal staff give to start the first cycle (see bpmn/forms/cycle_start.json)."""
    data: dict[str, Any] = {
        "cycle_id": "2021-2022",
        "cycle_name": "第一批上海市婴幼儿照护服务示范区创建（2021—2022年）",
        "eligible_districts": [
            {"code": c, "name": n, "population": p, "childcare_places": k}
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


# -- form data the users submit --------------------------------------------------------------------


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
        "application_document_no": f"{NAMES[code][:-1]}府〔2021〕88号",
        "applied_on": on,
        "application_letter": "m-1f2e3d4c5b",
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
