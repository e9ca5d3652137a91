"""The programme's diagrams: they pass SpiffWorkflow's XSD validator and our deploy checks, carry
standard DI for every shape and edge (so bpmn.io and Camunda Modeler open them), name every element
in Chinese with bilingual documentation, Chinese first then English (issue 12 point 7), and give every
user task a lane, a form and instructions."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from workflow.forms import parse_form
from workflow.specs import bundle_from_paths, parse_bundle

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
FLOW_NODES = (
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
    "task",
    "manualTask",
    "callActivity",
    "subProcess",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
)
DIAGRAMS = sorted(BPMN_DIR.glob("*.bpmn"))
CJK = re.compile(r"[\u4e00-\u9fff]")
DOC_PREFIX = re.compile(r"^\s*(【[^】]*】)?\s*(办理：[^（]*（泳道）。)?\s*")
PROCESSES = {
    "creation_cycle": "创建周期",
    "district_application": "区创建申报",
    "title_management": "示范区管理",
    "revocation": "撤销称号",
}


def doc(path: Path) -> Any:
    return etree.parse(str(path)).getroot()


def elements(root: Any, *tags: str) -> list[Any]:
    return [el for tag in tags for el in root.iter(f"{{{NS['bpmn']}}}{tag}")]


def bounds(shape: Any) -> tuple[float, float, float, float]:
    b = shape.find("dc:Bounds", NS)
    return tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]


@pytest.fixture(scope="module")
def parsed() -> Any:
    return parse_bundle(bundle_from_paths([BPMN_DIR]))


def test_the_bundle_passes_the_xsd_validator_and_the_deploy_checks(parsed: Any) -> None:
    assert sorted(parsed.process_ids) == sorted(PROCESSES)
    assert {pid: parsed.process_names[pid] for pid in parsed.process_ids} == PROCESSES
    assert [p.name for p in DIAGRAMS] == [f"{pid}.bpmn" for pid in sorted(PROCESSES)]
    assert "revocation_decision" in parsed.parser.dmn_parsers


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_every_shape_and_edge_has_di(path: Path) -> None:
    root = doc(path)
    shapes = {s.get("bpmnElement"): s for s in root.iter(f"{{{NS['bpmndi']}}}BPMNShape")}
    edges = {e.get("bpmnElement"): e for e in root.iter(f"{{{NS['bpmndi']}}}BPMNEdge")}
    plane, *sub_planes = root.findall(".//bpmndi:BPMNPlane", NS)
    [collaboration] = elements(root, "collaboration")
    assert plane.get("bpmnElement") == collaboration.get("id")
    collapsed = {s.get("bpmnElement") for s in shapes.values() if s.get("isExpanded") == "false"}
    assert sorted(p.get("bpmnElement") for p in sub_planes) == sorted(collapsed)  # drill-down planes
    needing_shapes = elements(root, *FLOW_NODES, "lane", "participant", "dataObjectReference")
    assert needing_shapes
    missing = [el.get("id") for el in needing_shapes if el.get("id") not in shapes]
    assert missing == []
    for el in elements(root, "sequenceFlow", "messageFlow", "dataInputAssociation", "dataOutputAssociation"):
        edge = edges.get(el.get("id"))
        assert edge is not None, el.get("id")
        assert len(edge.findall("di:waypoint", NS)) >= 2, el.get("id")
    ids = set(root.xpath("//@id"))
    assert all(ref in ids for ref in [*shapes, *edges])
    for sub in elements(root, "subProcess"):
        assert shapes[sub.get("id")].get("isExpanded") in ("true", "false")
    for boundary in elements(root, "boundaryEvent"):  # drawn on its host's border
        bx, by, bw, bh = bounds(shapes[boundary.get("id")])
        hx, hy, hw, hh = bounds(shapes[boundary.get("attachedToRef")])
        assert hx <= bx + bw / 2 <= hx + hw and abs(by + bh / 2 - (hy + hh)) < 1


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_nodes_are_drawn_inside_their_lanes_and_the_pool(path: Path) -> None:
    root = doc(path)
    shapes = {s.get("bpmnElement"): bounds(s) for s in root.iter(f"{{{NS['bpmndi']}}}BPMNShape")}
    process = elements(root, "process")[0]
    [pool] = [p for p in elements(root, "participant") if p.get("processRef") == process.get("id")]
    px, py, pw, ph = shapes[pool.get("id")]
    plane = root.find(".//bpmndi:BPMNPlane", NS)  # the collaboration's; drill-down planes draw no lanes
    on_root = {s.get("bpmnElement") for s in plane.iter(f"{{{NS['bpmndi']}}}BPMNShape")}
    for lane in elements(root, "lane"):
        lx, ly, lw, lh = shapes[lane.get("id")]
        assert px <= lx and ly >= py and lx + lw <= px + pw and ly + lh <= py + ph
        for ref in lane.findall("bpmn:flowNodeRef", NS):
            if ref.text not in on_root:
                continue
            x, y, w, h = shapes[ref.text]
            assert lx <= x + w / 2 <= lx + lw and ly <= y + h / 2 <= ly + lh, (lane.get("name"), ref.text)


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_names_are_chinese_and_documentation_chinese_first(path: Path) -> None:
    root = doc(path)
    named = elements(
        root,
        "process",
        "participant",
        "lane",
        "userTask",
        "serviceTask",
        "scriptTask",
        "businessRuleTask",
        "receiveTask",
        "subProcess",
        "boundaryEvent",
        "intermediateThrowEvent",
        "intermediateCatchEvent",
        "message",
    )
    for el in named:
        tag = etree.QName(el).localname
        if tag != "message":
            assert CJK.search(el.get("name") or ""), f"{el.get('id')} needs a Chinese name"
        if tag not in ("message",):
            text = el.findtext("bpmn:documentation", default="", namespaces=NS)
            assert_chinese_first(el.get("id"), text)
    for el in elements(root, *FLOW_NODES, "sequenceFlow"):
        if el.get("name"):
            assert CJK.search(el.get("name")), el.get("id")
            assert el.findtext("bpmn:documentation", default="", namespaces=NS), el.get("id")
    for node in root.iter(f"{{{NS['bpmn']}}}documentation"):
        assert_chinese_first(node.getparent().get("id"), node.text or "")


def assert_chinese_first(element_id: str | None, text: str) -> None:
    """Documentation is bilingual, Chinese first: after the optional clause mark 【…】 and the
    optional ``办理：<lane>（泳道）。`` prefix, a Chinese character comes within the first few
    characters, and English text follows for the English pages."""
    rest = DOC_PREFIX.sub("", text, count=1)
    assert CJK.search(rest[:4]), f"{element_id} needs Chinese first in its documentation: {text!r}"
    assert re.search(r"[A-Za-z]{3}", rest), f"{element_id} needs English after the Chinese: {text!r}"


def test_every_user_task_has_its_lane_a_form_and_instructions(parsed: Any) -> None:
    forms = {name for name, _ in parsed.bundle.files if name.startswith("forms/")}
    seen = 0
    for pid in parsed.process_ids:
        root = parsed.documents[f"{pid}.bpmn"]
        listed = {
            ref.text: lane.get("name")
            for lane in elements(root, "lane")
            for ref in lane.findall("bpmn:flowNodeRef", NS)
        }
        spec, subprocesses = parsed.get_specs(pid)
        for sp in [spec, *subprocesses.values()]:
            for ts in sp.task_specs.values():
                if not getattr(ts, "manual", False):
                    continue
                seen += 1
                assert ts.lane and ts.lane == listed.get(ts.bpmn_id), (pid, ts.bpmn_id, ts.lane)
                props = ts.extensions.get("properties", {})
                assert props.get("form") in forms, (pid, ts.bpmn_id)
                assert CJK.search(ts.extensions.get("instructionsForEndUser") or ""), (pid, ts.bpmn_id)
    assert seen == 26


def test_the_roles_are_the_lanes(parsed: Any) -> None:
    assert {pid: parsed.lanes(pid) for pid in parsed.process_ids} == {
        "creation_cycle": ["市有关部门", "市级审批"],
        "district_application": ["区有关部门", "区委区政府", "市有关部门", "审核专家组"],
        "title_management": ["区有关部门", "市有关部门"],
        "revocation": ["市有关部门", "市级审批", "区有关部门"],
    }


def test_deadlines_and_quotas_are_not_written_into_the_diagrams() -> None:
    for path in DIAGRAMS:
        text = path.read_text(encoding="utf-8")
        for constant in ("2021-12-31", "2022-05-31", "2022-07-31", "2022-09-30", "2022-12", "0.4", "0.1"):
            assert constant not in text, (path.name, constant)


@pytest.mark.parametrize("path", sorted((BPMN_DIR / "forms").glob("*.json")), ids=lambda p: p.stem)
def test_forms_are_labelled_json_schemas(path: Path) -> None:
    schema = parse_form(path.name, path.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert CJK.search(schema["title"]) and schema["x-title-en"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) <= set(schema["properties"])
    assert schema["x-ui"]["order"] == list(schema["properties"])
    for name, prop in schema["properties"].items():
        assert CJK.search(prop.get("title", "")) and prop.get("x-title-en"), (path.name, name)


def test_the_decision_table_states_the_basis_of_every_ground_and_proposes_no_outcome() -> None:
    """第六条 gives no severity scale and no outcome: one rule per ground, keyed by the ground alone,
    each naming its clause; no rule proposes dismissing, rectifying or revoking, and the two values a
    rule gives (the reminder lead and the deadline's cut-off time) are labelled local settings (本地设定)."""
    root = doc(BPMN_DIR / "revocation_decision.dmn")
    dmn = {
        "dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/",
        "dmndi": "https://www.omg.org/spec/DMN/20191111/DMNDI/",
    }
    assert root.find(".//dmndi:DMNShape[@dmnElementRef='revocation_decision']", dmn) is not None
    outputs = [o.get("name") for o in root.iterfind(".//dmn:output", dmn)]
    assert outputs == ["clause", "decision_basis", "recommendation", "reminder_workdays", "rectify_cutoff"]
    for setting in ("reminder_workdays", "rectify_cutoff"):
        assert "本地设定" in root.find(f".//dmn:output[@name='{setting}']", dmn).get("label")
    rules = {}
    for rule in root.iterfind(".//dmn:rule", dmn):
        [ground] = [
            json.loads(e.findtext("dmn:text", namespaces=dmn)) for e in rule.findall("dmn:inputEntry", dmn)
        ]
        values = [e.findtext("dmn:text", namespaces=dmn) for e in rule.findall("dmn:outputEntry", dmn)]
        rules[ground] = dict(zip(outputs, values, strict=True))
        assert "本地设定" in rule.findtext("dmn:description", namespaces=dmn)
    assert sorted(rules) == sorted(("safety_accident", "backsliding", "fraud", "low_satisfaction"))
    assert {g: json.loads(r["clause"]) for g, r in rules.items()} == {
        "safety_accident": "六(一)",
        "backsliding": "六(二)",
        "fraud": "六(二)",
        "low_satisfaction": "六(三)",
    }
    for r in rules.values():
        proposal = json.loads(r["recommendation"])
        assert "市级审批决定" in proposal
        assert all(word not in proposal for word in ("dismiss", "不予处理", "建议撤销", "建议整改"))


def test_a_stage_moved_into_a_lane_keeps_the_roles_of_its_tasks() -> None:
    """A modeler puts a subprocess in the lane under its centre as soon as it is moved; SpiffWorkflow
    would then give every task inside it that lane. Each task keeps the lane that lists it."""
    text = (BPMN_DIR / "district_application.bpmn").read_text(encoding="utf-8")
    moved = text.replace(
        "<bpmn:flowNodeRef>Task_leadership</bpmn:flowNodeRef>",
        "<bpmn:flowNodeRef>Task_leadership</bpmn:flowNodeRef>\n"
        "        <bpmn:flowNodeRef>Stage_apply</bpmn:flowNodeRef>",
        1,
    )
    assert moved != text
    files = {
        name: body
        for name, body in bundle_from_paths([BPMN_DIR]).files
        if name != "district_application.bpmn"
    }
    from workflow.specs import bundle_from_files

    parsed = parse_bundle(bundle_from_files({**files, "district_application.bpmn": moved}))
    _spec, subprocesses = parsed.get_specs("district_application")
    lanes = {
        ts.bpmn_id: ts.lane
        for sp in subprocesses.values()
        for ts in sp.task_specs.values()
        if getattr(ts, "manual", False)
    }
    assert lanes["Task_intention"] == lanes["Task_file"] == "区有关部门"
    assert lanes["Task_leadership"] == "区委区政府"
