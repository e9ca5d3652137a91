"""``shanyu clauses``: every clause of the notice with the diagram elements that implement it. Every
obligation of the notice has an element in the programme's diagrams and every element carries a
clause mark; a diagram that loses the only elements of a clause, or marks a clause the notice does
not have, is reported with exit status 1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from web.clauses import NOTICE
from web.cli import main

BPMN = Path(__file__).resolve().parents[2] / "bpmn"


def clauses(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    capsys.readouterr()
    code = main(["clauses", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def ids(elements: list[dict[str, Any]]) -> set[str]:
    return {e["id"] for e in elements}


def test_every_obligation_of_the_notice_is_implemented_and_every_element_is_marked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report = clauses(capsys)
    assert code == 0 and report["ok"]
    assert (report["uncovered"], report["unmarked"], report["unknown"]) == ([], [], [])
    by_clause = {c["clause"]: c for c in report["clauses"]}
    assert list(by_clause) == [c.id for c in NOTICE]
    for clause in NOTICE:
        if clause.obligation:
            assert by_clause[clause.id]["elements"], clause.id
    assert {"Task_assign", "Task_audit"} <= ids(by_clause["五(三)"]["elements"])
    assert {"Task_publish", "Publish", "Timer_notice_end"} <= ids(by_clause["五(四)"]["elements"])
    assert "Task_file" in ids(by_clause["四(二)"]["elements"])
    assert {"Task_verify", "Task_confirm", "Reg_revoke"} <= ids(by_clause["六"]["elements"])
    assert "Task_satisfaction" in ids(by_clause["六(三)"]["elements"])
    # the steps the notice does not ask for are listed as local practice
    assert {"Task_audit_overdue", "Timer_rect_due", "Task_rectify"} <= ids(report["local_practice"])

    capsys.readouterr()
    assert main(["clauses"]) == 0
    text = capsys.readouterr().out
    assert "五(三) 现场审核 (obligation)" in text and "district_application: Task_audit 现场审核" in text
    assert text.rstrip().endswith("every obligation of the notice is implemented and every element is marked")


def test_a_lost_clause_an_unmarked_element_and_an_unknown_clause_are_faults(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    copy = tmp_path / "bpmn"
    shutil.copytree(BPMN, copy)
    cycle = copy / "creation_cycle.bpmn"
    text = cycle.read_text(encoding="utf-8")
    assert text.count("【四(四)】") == 3
    cycle.write_text(text.replace("【四(四)】", "【七】", 1).replace("【四(四)】", ""), encoding="utf-8")
    code, report = clauses(capsys, str(copy))
    assert code == 1 and not report["ok"]
    assert report["uncovered"] == ["四(四)"]
    assert ids(report["unmarked"]) | ids(report["unknown"]) == {"Task_commend", "Notify_titled", "End_cycle"}
    assert [e["clauses"] for e in report["unknown"]] == [["七"]]

    capsys.readouterr()
    assert main(["clauses", str(copy)]) == 1
    assert (
        "四(四) 表彰宣传，示范辐射 (obligation): 0 element(s)  — NOT IMPLEMENTED" in capsys.readouterr().out
    )
