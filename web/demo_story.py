"""Stretches of the programme played through the diagrams with ``Program``: the whole first cycle
over the 16 districts with the notice's real dates, a year of annual reports, and the start of a
revocation case.

The demo plays them in order (``web.demo``); the scenario tests in ``tests/program`` play the same
stages one at a time and check the programme between them. Each stage first moves the simulated
clock to its own time (``Program.at``, which fires the timers that fall due on the way), so a test
may move it earlier to look at the state in between.
"""

from __future__ import annotations

from collections.abc import Mapping

from web.demo_data import (
    DISTRICTS,
    application,
    assignment,
    audit,
    cycle_data,
    indicators,
    intention,
    leadership,
    report,
    request,
    review,
    selection,
    self_assessment,
)
from web.demo_driver import DemoFailed, Program


class FirstCycle:
    """The first cycle (2021-12 → 2022-12) over the 16 districts: three districts decline, one files
    late after the reminder, one misses the self-assessment deadline, one fails the audit, eleven
    pass; six Shanghai candidates and two national recommendations are selected; the public notice
    published on 2022-09-29 runs through the National Day holiday to 2022-10-10; an upheld objection
    removes one candidate; the State names two, the approver names five; commendation closes it."""

    START = "2021-12-10T09:00:00"
    DECLINE = frozenset({"310116", "310120", "310151"})  # 金山, 奉贤, 崇明 do not apply this cycle
    LATE_FILER = "310107"  # 普陀 files after the reminder, still in time
    MISSES_SELF = "310118"  # 青浦 misses the self-assessment deadline
    FAILS_AUDIT = "310113"  # 宝山 fails the on-site audit
    KEY = {"cycle_id": "2021-2022"}
    STAGES = (
        "open",
        "applications",
        "self_assessments",
        "missed_self_assessment",
        "audits",
        "select",
        "publish",
        "objections",
        "uphold_objection",
        "dismiss_objection",
        "report",
        "national_result",
        "name",
        "commend",
    )

    def __init__(self, p: Program) -> None:
        self.p = p
        self.cycle = 0
        self.districts: dict[str | None, int] = {}

    def play(self) -> FirstCycle:
        for stage in self.STAGES:
            getattr(self, stage)()
        return self

    # -- who ends where -------------------------------------------------------------------------
    @classmethod
    def applicants(cls) -> list[tuple[str, int]]:
        return [(code, places) for code, _n, _p, places in DISTRICTS if code not in cls.DECLINE]

    @staticmethod
    def audit_percent(code: str) -> int:
        """A distinct audit result per district, so that the ranking is clear: earlier codes score higher."""
        return 96 - 2 * [c for c, _n, _p, _k in DISTRICTS].index(code)

    @classmethod
    def passed(cls) -> list[str]:
        out = cls.DECLINE | {cls.MISSES_SELF, cls.FAILS_AUDIT}
        return [code for code, *_ in DISTRICTS if code not in out]

    @classmethod
    def removed(cls) -> str:
        """The candidate an upheld objection removes from the notice."""
        return cls.passed()[5]

    @classmethod
    def named(cls) -> list[str]:
        """The Shanghai demonstration districts named on 2022-12-28."""
        return [c for c in cls.passed()[:6] if c != cls.removed()]

    # -- stages ---------------------------------------------------------------------------------
    def open(self) -> None:
        p = self.p
        p.at(self.START)
        self.cycle = p.start("creation_cycle", cycle_data())
        p.do(self.cycle, "Task_indicators", indicators())
        self.districts = p.cases("district_application", after=self.cycle)

    def applications(self) -> None:
        p, districts = self.p, self.districts
        p.at("2021-12-13T10:00:00")
        for code, iid in districts.items():
            p.do(iid, "Task_intention", intention(str(code)))
        p.at("2021-12-15T15:00:00")
        for code, iid in districts.items():
            p.do(iid, "Task_leadership", leadership("decline" if code in self.DECLINE else "approve"))
        p.at("2021-12-20T10:00:00")
        for code, iid in districts.items():
            if code not in self.DECLINE and code != self.LATE_FILER:
                p.do(iid, "Task_file", application(str(code)))
        p.at("2021-12-27T10:00:00")  # the application reminder fell due on 2021-12-24 09:00
        p.do(districts[self.LATE_FILER], "Task_file", application(self.LATE_FILER, "2021-12-27"))

    def self_assessments(self) -> None:
        self.p.at("2022-05-10T10:00:00")
        for code, places in self.applicants():
            if code != self.MISSES_SELF:
                self.p.do(
                    self.districts[code], "Task_self", self_assessment(self.audit_percent(code) + 1, places)
                )

    def missed_self_assessment(self) -> None:
        self.p.at("2022-06-01T09:00:00")  # reminder on 05-24, deadline passed on 05-31 at 17:00
        self.p.do(
            self.districts[self.MISSES_SELF],
            "Task_self_overdue",
            {"overdue_reason": "未在创建自评期限前报送自评报告和相关资料。"},
        )

    def audits(self) -> None:
        p = self.p
        p.at("2022-06-15T10:00:00")
        for code, _places in self.applicants():
            if code != self.MISSES_SELF:
                p.do(self.districts[code], "Task_assign", assignment("2022-06-20"))
        p.at("2022-06-28T16:00:00")
        for code, places in self.applicants():
            if code != self.MISSES_SELF:
                conclusion = "fail" if code == self.FAILS_AUDIT else "pass"
                p.do(self.districts[code], "Task_audit", audit(conclusion, self.audit_percent(code), places))

    def select(self) -> None:
        self.p.at("2022-09-20T10:00:00")
        passed = self.passed()
        self.p.do(self.cycle, "Task_select", selection(passed[:6], passed[:2]))

    def publish(self) -> None:
        self.p.at("2022-09-29T10:00:00")
        self.p.do(
            self.cycle,
            "Task_publish",
            {
                "notice_title": "关于第一批上海市婴幼儿照护服务示范区拟命名名单的公示",
                "notice_url": "https://www.shanghai.gov.cn/notice/2022-0929",
            },
        )

    def objections(self) -> None:
        p = self.p
        p.at("2022-10-08T10:00:00")
        p.message(
            "objection_received",
            self.KEY,
            {"district": self.removed(), "content": "该区托位数据存在虚报。", "contact": "市民甲"},
        )
        p.at("2022-10-09T10:00:00")
        p.message(
            "objection_received",
            self.KEY,
            {"district": self.passed()[0], "content": "对该区托育服务有意见。", "contact": "市民乙"},
        )

    def uphold_objection(self) -> None:
        first = self.p.tasks(self.cycle, "Task_objection")[0]
        self.p.complete(
            first,
            {
                "objection_result": "upheld",
                "objection_district": self.removed(),
                "objection_verification": "经核查，托位数据与实际不符，异议成立。",
                "objection_reply": "异议成立，取消该区拟命名资格。",
            },
        )

    def dismiss_objection(self) -> None:
        self.p.at("2022-10-10T16:59:00")  # the notice's last working day, before it ends at 17:00
        second = self.p.tasks(self.cycle, "Task_objection")[0]
        self.p.complete(
            second,
            {
                "objection_result": "dismissed",
                "objection_verification": "经核查，反映问题不属实。",
                "objection_reply": "经核查不属实，异议不成立。",
            },
        )

    def report(self) -> None:
        self.p.at("2022-10-12T10:00:00")
        self.p.do(
            self.cycle,
            "Task_report",
            {
                "report_document_no": "沪教委托幼〔2022〕21号",
                "reported_on": "2022-10-12",
                "report_summary": "公示期满，拟命名5个区，推荐2个区申报全国婴幼儿照护服务示范城市。",
            },
        )

    def national_result(self) -> None:
        self.p.at("2022-12-20T10:00:00")
        self.p.message(
            "national_result",
            self.KEY,
            {"named": self.passed()[:2], "document": "国卫人口函〔2022〕300号", "named_on": "2022-12-20"},
        )

    def name(self) -> None:
        self.p.at("2022-12-28T10:00:00")  # the naming reminder fell due on 2022-12-26 09:00
        self.p.do(
            self.cycle,
            "Task_name",
            {
                "naming_document_no": "沪教委托幼〔2022〕30号",
                "named_on": "2022-12-28",
                "excluded_districts": [],
                "approval_opinion": "同意命名第一批上海市婴幼儿照护服务示范区。",
            },
        )

    def commend(self) -> None:
        self.p.at("2022-12-30T10:00:00")
        self.p.do(
            self.cycle,
            "Task_commend",
            {
                "commendation_document_no": "沪教委托幼〔2022〕31号",
                "commended_on": "2022-12-30",
                "publicity_summary": "召开推进会，宣传推广示范区先进经验做法。",
            },
        )
        if self.p.status(self.cycle) != "completed":
            raise DemoFailed(f"The first cycle (case {self.cycle}) did not complete after commendation.")


# -- title management ------------------------------------------------------------------------------


def annual_reports(p: Program, managed: Mapping[str, int], places: Mapping[str, int], *, at: str) -> None:
    """At ``at``, the districts in ``places`` report their year's work (their report window is open)."""
    p.at(at)
    for code, count in places.items():
        p.do(managed[code], "Task_report", report(count))


def annual_reviews(p: Program, managed: Mapping[str, int], reviews: Mapping[str, tuple[str, float]]) -> None:
    """Municipal staff review the reports: (conclusion, satisfaction %) per district. A finding starts
    a revocation case; a satisfaction below the cycle's threshold (a local setting) opens a review task."""
    for code, (conclusion, satisfaction) in reviews.items():
        p.do(managed[code], "Task_review", review(conclusion, satisfaction))


# -- revocation ------------------------------------------------------------------------------------


def start_revocation(p: Program, district: str, ground: str, source: str, summary: str) -> int:
    """A report, monitoring finding or survey starts a revocation case; returns its id."""
    reached = p.message("revocation_requested", {"district": district}, request(ground, source, summary))
    if len(reached) != 1:
        raise DemoFailed(f"revocation_requested for {district} reached {reached}, not one new case.")
    return reached[0]
