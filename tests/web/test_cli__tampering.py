"""The live state is checked, not trusted: a case whose stored rows were changed behind the engine
(its task data, a task row, the digest on its case row) refuses the next command that loads it,
with an error naming the case and nothing changed, and ``history verify`` reports it while the
other cases stay intact."""

from __future__ import annotations

import json

from sqlalchemy import text

from tests.web.conftest import Shanyu, start
from workflow.store import HistoryEvent


def two_cases(cli: Shanyu) -> tuple[int, int, int]:
    """Case A (310101) with its submit task claimed, case B (310104) untouched; A's task id."""
    a = start(cli, "310101", "huangpu")
    b = start(cli, "310104", "xuhui")
    [task] = a["tasks"]
    cli.ok("claim", str(task["id"]), "--as", "huangpu")
    return int(a["id"]), int(b["id"]), int(task["id"])


def refused_and_reported(cli: Shanyu, altered: int, intact: int, task: int, words: str) -> None:
    events = cli.count(HistoryEvent.id)
    failed = cli.fails("complete", str(task), "--as", "huangpu", "--json")
    error = failed.error()
    assert error["error"] == "state_altered" and error["instance_id"] == altered
    assert f"Case {altered}" in error["message"] and "Traceback" not in failed.err
    assert cli.count(HistoryEvent.id) == events  # nothing was changed
    verify = cli("history", "verify")
    assert verify.code == 1
    lines = verify.out.splitlines()
    assert lines[0].startswith(f"case {altered}: LIVE STATE ALTERED: ") and words in lines[0]
    assert all(f"case {intact}:" not in line for line in lines)
    assert lines[-1].endswith("0 broken chain(s), 1 altered live state(s)")
    report = json.loads(cli("history", "verify", "--json").out)
    assert [b["instance_id"] for b in report["broken"]] == [altered] and report["ok"] is False


def test_edited_task_data_is_caught(ready: Shanyu) -> None:
    altered, intact, task = two_cases(ready)
    assert ready("history", "verify").code == 0
    ready.sql("UPDATE data_blob SET body = replace(body, '310101', '310105') WHERE hash IN "
              "(SELECT data_hash FROM task_row WHERE instance_id = :i)", i=altered)
    refused_and_reported(ready, altered, intact, task, "no longer matches its hash")


def test_an_edited_task_row_is_caught(ready: Shanyu) -> None:
    altered, intact, task = two_cases(ready)
    with ready.db.read() as session:
        rows = session.execute(text("SELECT task_id, body FROM task_row WHERE instance_id = :i"), {"i": altered}).all()
    completed = next((tid, body) for tid, body in rows if json.loads(body)["state"] == 64)
    body = json.loads(completed[1])
    body["state"] = 256  # a completed task made to look cancelled
    ready.sql("UPDATE task_row SET body = :b WHERE instance_id = :i AND task_id = :t",
              b=json.dumps(body), i=altered, t=completed[0])
    refused_and_reported(ready, altered, intact, task, "newest event recorded")


def test_a_task_row_pointed_at_other_data_is_caught(ready: Shanyu) -> None:
    altered, intact, task = two_cases(ready)
    ready.sql("UPDATE task_row SET data_hash = (SELECT data_hash FROM task_row WHERE instance_id = :b LIMIT 1) "
              "WHERE instance_id = :a", a=altered, b=intact)
    refused_and_reported(ready, altered, intact, task, "newest event recorded")


def test_an_edited_case_row_digest_is_reported(ready: Shanyu) -> None:
    altered, intact, _task = two_cases(ready)
    ready.sql("UPDATE instance SET state_digest = :d WHERE id = :i", d="f" * 64, i=altered)
    verify = ready("history", "verify")
    assert verify.code == 1
    assert verify.out.splitlines()[0].startswith(f"case {altered}: LIVE STATE ALTERED: the case row's state digest")
