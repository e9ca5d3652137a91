"""Findings of 动态监测 and 督查指导 filed by municipal staff (the notice's 第六条) on the demo: the page
offers the districts holding a Shanghai title; a finding starts a revocation case whose first step is
市有关部门's verification (核实情况) and changes no title; only municipal staff of 市有关部门 may file;
a finding with an unknown district, ground or source, or too short a description, is refused with a
message and saves nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from tests.web.conftest import Shanyu
from tests.web.pages import browser, copy_sqlite, db_of, event_count, revocation_cases, text, title_register
from workflow.history import list_events
from workflow.store import HumanTask, Instance

HUANGPU, JINGAN, HONGKOU = "310101", "310106", "310109"
GOOD = {"district": HUANGPU, "ground": "backsliding", "source": "supervision",
        "summary": "督查发现该区两家普惠性托育机构停办，托位较上年减少三成。"}


def test_a_finding_opens_verification_and_decides_nothing(demo_app: Flask) -> None:
    db = db_of(demo_app)
    before_cases, before_register = revocation_cases(db), title_register(db)
    city = browser(demo_app, "city")
    page = text(city.get("/monitoring"))
    offered = set(re.findall(r'<option value="(\d{6})"', page))
    assert HUANGPU in offered and JINGAN not in offered and HONGKOU not in offered  # 静安 revoked, 虹口 never named
    assert "督查指导" in page and "动态监测" in page
    answer = city.post("/monitoring", GOOD)
    assert answer.status_code == 302, text(answer)
    [case] = [c for c in revocation_cases(db) if c not in before_cases]
    with db.read() as s:
        instance = s.get(Instance, case)
        assert instance is not None and (instance.district, instance.status) == (HUANGPU, "running")
        [verify] = s.execute(select(HumanTask).where(HumanTask.instance_id == case,
                                                     HumanTask.state == "ready")).scalars()
        assert (verify.bpmn_id, verify.role) == ("Task_verify", "市有关部门")
        [started, *rest] = list_events(s, case)
    assert answer.location.endswith(f"/tasks/{verify.id}")  # type: ignore[attr-defined]
    assert started.actor == "city"  # the history names who filed it
    delivered = [e for e in rest if e.type == "message_delivered"]
    assert delivered and delivered[0].payload["data"]["source"] == "supervision"
    assert delivered[0].payload["data"]["reported_by"] == "city"
    assert title_register(db) == before_register  # a finding decides nothing
    shown = text(city.get(f"/tasks/{verify.id}"))
    assert "托位较上年减少三成" in shown and "督查指导" in shown and "措施不力" in shown
    assert "开启核实" in shown  # the flash message


@pytest.mark.parametrize("who", ["huangpu-dept", "huangpu-leader", "approver", "expert", "auditor", "admin"])
def test_only_municipal_staff_file_findings(demo_app: Flask, who: str) -> None:
    db = db_of(demo_app)
    before = (event_count(db), revocation_cases(db))
    b = browser(demo_app, who)
    assert b.get("/monitoring").status_code == 403
    b.get("/")
    assert b.post("/monitoring", GOOD).status_code == 403
    assert (event_count(db), revocation_cases(db)) == before


def test_nobody_signed_in_is_sent_to_sign_in(demo_app: Flask) -> None:
    b = browser(demo_app)
    answer = b.get("/monitoring")
    assert answer.status_code == 302 and "/login" in answer.location  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"district": JINGAN}, "district", "请从列表中选择。"),
        ({"district": ""}, "district", "此项必填。"),
        ({"ground": "dislike"}, "ground", "请从列表中选择。"),
        ({"source": "report"}, "source", "请从列表中选择。"),  # the public's reports come through /report
        ({"source": ""}, "source", "此项必填。"),
        ({"summary": "太少"}, "summary", "请至少写 10 个字"),
        ({"summary": "<script>alert(1)</script>" + "x" * 4000}, "summary", "不能超过 4000 个字。"),
    ],
)
def test_a_bad_finding_is_refused_with_a_message_and_nothing_saved(
    demo_app: Flask, change: dict[str, str], field: str, message: str
) -> None:
    db = db_of(demo_app)
    before = (event_count(db), revocation_cases(db))
    city = browser(demo_app, "city")
    city.get("/monitoring")
    answer = city.post("/monitoring", {**GOOD, **change})
    assert answer.status_code == 422  # type: ignore[attr-defined]
    block = re.search(rf'data-field="{field}">(.*?)</div>', text(answer), re.S)
    assert block is not None and message in block.group(1), text(answer)
    assert "<script>alert(1)" not in text(answer)
    assert (event_count(db), revocation_cases(db)) == before


def test_the_cli_files_a_finding_as_the_page_does(demo_template: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """``shanyu finding`` opens verification as ``city``; a district officer is refused, and bad input
    is answered with what each field may be; nothing is saved on a refusal."""
    monkeypatch.delenv("SHANYU_DATABASE_URL", raising=False)
    cli = Shanyu(copy_sqlite(demo_template, tmp_path), capsys, monkeypatch)
    before_cases, before_register, before_events = revocation_cases(cli.db), title_register(cli.db), event_count(cli.db)
    refused = cli.fails("finding", "--district", HUANGPU, "--ground", "backsliding", "--summary", GOOD["summary"],
                        "--as", "huangpu-dept")
    assert "may not file" in refused.err
    bad = cli.fails("finding", "--district", JINGAN, "--ground", "bogus", "--source", "report", "--summary", "短",
                    "--as", "city")
    assert f"district '{JINGAN}' holds no active Shanghai title" in bad.err and f"{HUANGPU} 黄浦区" in bad.err
    assert "ground 'bogus' is unknown (one of: safety_accident" in bad.err
    assert "source 'report' is unknown (one of: monitoring 动态监测, supervision 督查指导)" in bad.err
    assert "summary needs at least 10 characters" in bad.err and "Nothing was saved." in bad.err
    assert (revocation_cases(cli.db), event_count(cli.db)) == (before_cases, before_events)
    filed = cli.ok("finding", "--district", HUANGPU, "--ground", "backsliding", "--source", "supervision",
                   "--summary", "-", "--as", "city", stdin=GOOD["summary"])
    assert filed["source"] == "supervision" and revocation_cases(cli.db) == [*before_cases, filed["instance_id"]]
    with cli.db.read() as s:
        [verify] = s.execute(select(HumanTask).where(HumanTask.instance_id == filed["instance_id"])).scalars()
        assert (verify.bpmn_id, verify.role, verify.district) == ("Task_verify", "市有关部门", HUANGPU)
    assert title_register(cli.db) == before_register
    cli.db.dispose()
