"""Anchors: ``history anchor`` signs every case's chain head (Ed25519, a key created on first use
with owner-only permissions) into the database and a file; ``history verify --anchor FILE`` then
catches what a chain check cannot: a history rewritten from its first event and re-hashed. A
changed anchor, or one signed by another key, is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.web.conftest import Shanyu, run_to_audit, start
from workflow.history import GENESIS, event_hash
from workflow.store import Anchor


@pytest.fixture
def anchor_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SHANYU_ANCHOR_KEY", str(tmp_path / "keys" / "anchor.pem"))
    monkeypatch.setenv("SHANYU_ANCHOR_DIR", str(tmp_path / "anchors"))
    return tmp_path


def rewrite_from_the_start(cli: Shanyu, iid: int) -> None:
    """What a chain check cannot catch: event 2's payload changed and the whole chain re-hashed."""
    rows = cli.sql("SELECT seq, type, at, actor, payload, state_digest FROM history_event WHERE instance_id = :i "
                   "ORDER BY seq", i=iid).all()
    prev = GENESIS
    for seq, type_, at, actor, payload, digest in rows:
        if seq == 2:
            payload = json.dumps({**json.loads(payload), "forged": True}, ensure_ascii=False, sort_keys=True)
        new = event_hash(iid, seq, type_, at, actor, payload, digest, prev)
        cli.sql("UPDATE history_event SET payload = :p, prev_hash = :prev, hash = :h WHERE instance_id = :i AND seq = :s",
                p=payload, prev=prev, h=new, i=iid, s=seq)
        prev = new
    cli.sql("UPDATE instance SET head_hash = :h WHERE id = :i", h=prev, i=iid)


def test_an_anchor_catches_a_history_rewritten_in_full(ready: Shanyu, anchor_env: Path) -> None:
    rewritten = run_to_audit(ready)
    kept = start(ready, "310104", "xuhui")["id"]
    made = ready.ok("history", "anchor", "--as", "city")
    path = Path(made["file"])
    assert path.parent == anchor_env / "anchors" and made["cases"] == 2
    key = anchor_env / "keys" / "anchor.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    assert ready.count(Anchor.id) == 1
    assert ready.ok("history", "verify", "--anchor", str(path))["ok"] is True

    rewrite_from_the_start(ready, rewritten)
    assert ready.ok("history", "verify")["ok"] is True  # the chain alone looks intact
    run = ready("history", "verify", "--anchor", str(path))
    assert run.code == 1
    assert f"ANCHOR: case {rewritten}'s event 6 is not the one anchored at" in run.out
    assert f"case {kept}" not in run.out


def test_a_changed_or_foreign_anchor_is_refused(ready: Shanyu, anchor_env: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    start(ready)
    path = Path(ready.ok("history", "anchor")["file"])
    doc = json.loads(path.read_text())
    statement = json.loads(doc["statement"])
    statement["heads"][0][2] = "0" * 64
    doc["statement"] = json.dumps(statement)
    forged = anchor_env / "forged.json"
    forged.write_text(json.dumps(doc))
    run = ready("history", "verify", "--anchor", str(forged))
    assert run.code == 1 and "signature does not verify" in run.out

    monkeypatch.setenv("SHANYU_ANCHOR_KEY", str(anchor_env / "keys" / "another.pem"))
    other = Path(ready.ok("history", "anchor", "--out", str(anchor_env / "other.json"))["file"])
    monkeypatch.setenv("SHANYU_ANCHOR_KEY", str(anchor_env / "keys" / "anchor.pem"))
    run = ready("history", "verify", "--anchor", str(other))
    assert run.code == 1 and "not by this installation's key" in run.out
    assert ready.fails("history", "verify", "--anchor", str(anchor_env / "missing.json")).err.startswith(
        "error: Cannot read")
