"""``shanyu clauses``: which elements of the diagrams carry out each clause of the notice.

Contract
    Every task, event, gateway and subprocess of a diagram starts its documentation with the clause
    it implements, ``【五(三)】`` (several: ``【五(一)；四(二)】``), or ``【本地做法】`` when the notice does
    not ask for it (local practice). ``trace(bundle)`` reads those marks and returns, for each clause
    of the notice in ``NOTICE``, the elements that implement it, plus the local-practice elements
    and the faults: an obligation of the notice that no element implements, an element without a
    mark, a mark naming a clause the notice does not have. The command prints the report (``--json``:
    the same as an object) and exits 1 when there is a fault, so a check can rely on it.

The notice is 沪教委托幼〔2021〕8号, 《上海市开展全国婴幼儿照护服务示范城市创建活动实施方案》. A clause is an
obligation when it asks something of the programme's actors that a case can show being done; the
aims and the exhortations (一, 四(一), 四(三)) are not steps of a case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflow.specs import Bundle, bundle_from_paths
from workflow.xmlsafe import parse_xml

if TYPE_CHECKING:
    from web.cli import Context

BPMN_DIR = Path(__file__).resolve().parents[1] / "bpmn"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
LOCAL = "本地做法"
MARK = re.compile(r"^\s*【([^】]+)】")
ELEMENTS = (
    "startEvent",
    "endEvent",
    "intermediateThrowEvent",
    "intermediateCatchEvent",
    "boundaryEvent",
    "userTask",
    "serviceTask",
    "scriptTask",
    "businessRuleTask",
    "receiveTask",
    "sendTask",
    "manualTask",
    "task",
    "callActivity",
    "subProcess",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
)


@dataclass(frozen=True)
class Clause:
    id: str
    title: str
    says: str
    obligation: bool


NOTICE = (
    Clause("一", "总体目标", "到2025年每千人口拥有3岁以下婴幼儿托位数达到4.5个（全市目标）", False),
    Clause(
        "二",
        "创建范围",
        "以区为单位、自主申报，原则上两年一个周期；全国推荐不超过10%（1-2个），上海市示范区不超过40%（6个）",
        True,
    ),
    Clause("三", "创建内容", "完善支持政策、扩大服务供给、推动创新融合、完善监管服务四个方面", True),
    Clause("四(一)", "统一思想，加强管理", "各区召开托幼工作联席会议，明确各部门责任", False),
    Clause(
        "四(二)",
        "编制方案，有序开展",
        "创建区制定具体创建方案：明确目标任务，细化评估内容，建立激励机制",
        True,
    ),
    Clause("四(三)", "认真组织，有效实施", "发挥职能部门和街镇作用，与三年行动计划和民心工程相结合", False),
    Clause("四(四)", "表彰宣传，示范辐射", "对获得称号的区给予表彰奖励，宣传先进经验", True),
    Clause(
        "五(一)", "申报阶段", "区有关部门将创建意向报区委、区政府研究同意后，以区人民政府名义提出申请", True
    ),
    Clause("五(二)", "创建自评", "市有关部门制定评估指标；申请区逐项自评，形成自评报告，按时上报资料", True),
    Clause(
        "五(三)",
        "现场审核",
        "市有关部门组织审核专家组或第三方机构现场核实、听取汇报、查阅资料，逐一审核",
        True,
    ),
    Clause(
        "五(四)", "评审遴选", "对通过现场审核的区统一评审遴选，经“中国上海”门户网站公示5个工作日后上报", True
    ),
    Clause("五(五)", "市级命名", "经市有关部门审核批准后命名上海市示范区；全国示范城市由国家审核命名", True),
    Clause(
        "六", "管理办法", "上海市示范区每年向市有关部门报送工作情况；市有关部门督查指导、动态监测和管理", True
    ),
    Clause("六(一)", "发生重大安全责任事故", "经核实的，参照全国管理办法进行处理", True),
    Clause("六(二)", "措施不力，工作退步，存在弄虚作假", "经核实的，参照全国管理办法进行处理", True),
    Clause(
        "六(三)",
        "满意度不高",
        "托育机构、婴幼儿家庭对政策环境和服务管理满意度不高，经核实的，参照全国管理办法进行处理",
        True,
    ),
)


@dataclass(frozen=True)
class Element:
    process: str
    id: str
    kind: str
    name: str
    clauses: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"process": self.process, "id": self.id, "kind": self.kind, "name": self.name}


@dataclass
class Trace:
    by_clause: dict[str, list[Element]] = field(default_factory=dict)
    local: list[Element] = field(default_factory=list)
    unmarked: list[Element] = field(default_factory=list)
    unknown: list[Element] = field(default_factory=list)  # marks naming no clause of the notice

    @property
    def uncovered(self) -> list[Clause]:
        return [c for c in NOTICE if c.obligation and not self.by_clause.get(c.id)]

    @property
    def ok(self) -> bool:
        return not (self.uncovered or self.unmarked or self.unknown)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "clauses": [
                {
                    "clause": c.id,
                    "title": c.title,
                    "says": c.says,
                    "obligation": c.obligation,
                    "elements": [e.to_dict() for e in self.by_clause.get(c.id, [])],
                }
                for c in NOTICE
            ],
            "local_practice": [e.to_dict() for e in self.local],
            "uncovered": [c.id for c in self.uncovered],
            "unmarked": [e.to_dict() for e in self.unmarked],
            "unknown": [{**e.to_dict(), "clauses": list(e.clauses)} for e in self.unknown],
        }


def trace(bundle: Bundle) -> Trace:
    """The clause marks of every flow element of the bundle's BPMN files (see the module doc)."""
    known = {c.id for c in NOTICE}
    result = Trace(by_clause={c.id: [] for c in NOTICE})
    for name, text in bundle.files:
        if not name.lower().endswith(".bpmn"):
            continue
        root = parse_xml(text, filename=name)
        for process in root.iter(f"{{{BPMN_NS}}}process"):
            for el in process.iter(*(f"{{{BPMN_NS}}}{kind}" for kind in ELEMENTS)):  # in document order
                doc = el.findtext(f"{{{BPMN_NS}}}documentation") or ""
                found = MARK.match(doc)
                marks = tuple(m.strip() for m in found.group(1).split("；")) if found else ()
                kind = el.tag.rsplit("}", 1)[-1]
                element = Element(process.get("id", ""), el.get("id", ""), kind, el.get("name") or "", marks)
                if not marks:
                    result.unmarked.append(element)
                elif marks == (LOCAL,):
                    result.local.append(element)
                elif any(m not in known for m in marks):
                    result.unknown.append(element)
                else:
                    for m in marks:
                        result.by_clause[m].append(element)
    return result


def report(t: Trace) -> str:
    lines = []
    for c in NOTICE:
        elements = t.by_clause.get(c.id, [])
        kind = "obligation" if c.obligation else "aim"
        head = f"{c.id} {c.title} ({kind}): {len(elements)} element(s)"
        if c.obligation and not elements:
            head += "  — NOT IMPLEMENTED"
        lines.append(head)
        lines += [f"    {e.process}: {e.id} {e.name}".rstrip() for e in elements]
    lines.append(f"{LOCAL} (local practice, not in the notice): {len(t.local)} element(s)")
    lines += [f"    {e.process}: {e.id} {e.name}".rstrip() for e in t.local]
    for title, faults in (
        ("without a clause mark", t.unmarked),
        ("naming no clause of the notice", t.unknown),
    ):
        if faults:
            lines.append(f"Elements {title}: {len(faults)}")
            lines += [f"    {e.process}: {e.id} {e.name} {'；'.join(e.clauses)}".rstrip() for e in faults]
    lines.append(
        "every obligation of the notice is implemented and every element is marked"
        if t.ok
        else f"FAULTS: {len(t.uncovered)} obligation(s) not implemented, {len(t.unmarked)} unmarked, "
        f"{len(t.unknown)} unknown clause mark(s)"
    )
    return "\n".join(lines)


def cmd_clauses(ctx: Context) -> None:
    """``shanyu clauses [PATH...]``: the report for the given diagrams (default: the programme's)."""
    paths = [Path(p) for p in ctx.args.paths] or [BPMN_DIR]
    result = trace(bundle_from_paths(paths))
    ctx.out(result.to_dict(), lambda: report(result))
    if not result.ok:
        raise SystemExit(1)


def split_mark(documentation: str | None) -> tuple[list[tuple[str, str]], str]:
    """A diagram element's documentation as the pages show it: the clauses its mark names, each
    with the clause's title (``本地做法`` for local practice), and the rest of the text."""
    text = documentation or ""
    found = MARK.match(text)
    if not found:
        return [], text.strip()
    titles = {c.id: c.title for c in NOTICE}
    marks = [part.strip() for part in re.split(r"[；;、,，]", found.group(1)) if part.strip()]
    return [(m, titles.get(m, "本地做法" if m == LOCAL else "")) for m in marks], text[found.end():].strip()
