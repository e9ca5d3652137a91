"""Evidence bundles: ``history export`` writes a case's events, process files, materials, calendar
and head; ``history check-bundle`` verifies them with no database (chain, files, replay) and names
the first event at fault when the bundle was edited."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import Shanyu, run_to_audit
from web.cli import main

Edit = Callable[[dict[str, Any]], None]


def export(cli: Shanyu, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    iid = run_to_audit(cli)
    out = tmp_path / "case.json"
    summary = cli.ok("history", "export", str(iid), "--out", str(out), "--as", "city")
    assert summary["instance_id"] == iid and summary["events"] == 6 and out.exists()
    return out, json.loads(out.read_text(encoding="utf-8"))


def check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    """check-bundle with no database at all: the URL points nowhere."""
    capsys.readouterr()
    code = main(["history", "check-bundle", str(path), "--json", "--database-url", "sqlite:////nonexistent/no.db"])
    out, _err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else {}


def test_an_exported_bundle_verifies_without_a_database(ready: Shanyu, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    path, bundle = export(ready, tmp_path)
    assert bundle["format"] == "shanyu-evidence/1" and bundle["exported_by"] == "city"
    assert [e["seq"] for e in bundle["events"]] == list(range(1, 7))
    assert bundle["head"]["event_count"] == 6 and bundle["head"]["head_hash"] == bundle["events"][-1]["hash"]
    assert [name for name, _text in bundle["process_version"]["files"]] == ["engine_basic.bpmn"]
    assert all(len(days) in (365, 366) and set(days) <= {"0", "1"} for days in bundle["calendar"].values())
    code, result = check(path, capsys)
    assert code == 0 and result == {"ok": True, "instance_id": bundle["case"]["id"], "events": 6,
                                    "first_bad_event": None, "reason": "", "replayed": 6}


def _field(b: dict[str, Any]) -> None:
    b["events"][2]["actor"] = "somebody-else"


def _delete(b: dict[str, Any]) -> None:
    del b["events"][3]


def _swap(b: dict[str, Any]) -> None:
    b["events"][1], b["events"][2] = b["events"][2], b["events"][1]


def _data(b: dict[str, Any]) -> None:
    payload = json.loads(b["events"][5]["payload"])
    payload["data"]["opinion"] = "不同意"
    b["events"][5]["payload"] = json.dumps(payload, ensure_ascii=False)


def _files(b: dict[str, Any]) -> None:
    name, text = b["process_version"]["files"][0]
    b["process_version"]["files"][0] = [name, text.replace("</bpmn:definitions>", "<!-- x --></bpmn:definitions>")]


def _calendar(b: dict[str, Any]) -> None:
    year = next(iter(b["calendar"]))
    b["calendar"][year] = "1" * len(b["calendar"][year])


@pytest.mark.parametrize(("edit", "bad_event", "words"), [
    (_field, 3, "event 3 (task_completed) was altered"),
    (_delete, 4, "missing or out of sequence"),
    (_swap, 2, "out of sequence"),
    (_data, 6, "was altered"),
    (_files, 1, "not those the case started on"),
    (_calendar, None, "edited after export"),
], ids=["one-field", "deleted-event", "swapped-events", "changed-data", "changed-diagram", "changed-calendar"])
def test_an_edited_bundle_is_refused_naming_the_event(ready: Shanyu, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str],
                                                      edit: Edit, bad_event: int | None, words: str) -> None:
    path, bundle = export(ready, tmp_path)
    edit(bundle)
    path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    code, result = check(path, capsys)
    assert code == 1 and result["ok"] is False
    assert result["first_bad_event"] == bad_event and words in result["reason"]


def test_a_file_that_is_no_bundle_gets_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text("{\"hello\": 1}", encoding="utf-8")
    capsys.readouterr()
    assert main(["history", "check-bundle", str(junk)]) == 1
    assert "not an evidence bundle" in capsys.readouterr().err
    assert main(["history", "check-bundle", str(tmp_path / "missing.json")]) == 1
    assert "Cannot read" in capsys.readouterr().err


def test_an_edit_with_the_chain_rehashed_is_caught_by_the_replay(ready: Shanyu, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from workflow.evidence import FORMAT
    from workflow.history import event_hash
    from workflow.texts import canonical_json, sha256

    path, bundle = export(ready, tmp_path)
    _data(bundle)
    prev = bundle["events"][4]["hash"]
    for e in bundle["events"][5:]:  # a forger who re-hashes everything after the edit
        e["prev_hash"] = prev
        e["hash"] = prev = event_hash(bundle["case"]["id"], e["seq"], e["type"], e["at"], e["actor"], e["payload"],
                                      e["state_digest"], e["prev_hash"])
    bundle["head"]["head_hash"] = prev
    body = {k: v for k, v in bundle.items() if k != "bundle_digest"}
    bundle["bundle_digest"] = sha256(canonical_json(body))
    assert bundle["format"] == FORMAT
    path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    code, result = check(path, capsys)
    assert code == 1 and result["first_bad_event"] == 6 and "replay differs at event 6" in result["reason"]
