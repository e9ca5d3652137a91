"""The system journal: what changes outside any case, recorded like a case's history.

Deploying a process version, importing a year's calendar, creating or changing a user, disabling
one, mapping a lane to a role, migrating the schema and signing an anchor each append one event
with its time, actor, payload (including the reason, where one was given) and the hash of the
previous event. ``shanyu history verify`` checks this chain with the cases' chains;
``shanyu history system`` lists it; auditors read it at ``/audit/system``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .canonical import canonical_json, sha256
from .clock import iso
from .history import GENESIS, VerifyResult
from .store import SystemEvent

JOURNAL_ID = 0  # the chain's "case id" in its hashes: no case has id 0


def event_hash(seq: int, type_: str, at: str, actor: str, payload: str, prev_hash: str) -> str:
    return sha256(canonical_json(["system", seq, type_, at, actor, payload, prev_hash]))


def record(session: Session, type_: str, *, actor: str, at: datetime, payload: dict[str, Any]) -> int:
    """Append one event in the caller's transaction; returns its number."""
    if session.get_bind().dialect.name == "postgresql":  # SQLite's BEGIN IMMEDIATE serialises already
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext('shanyu.journal:' || current_schema()))"))
    last = session.execute(select(SystemEvent.seq, SystemEvent.hash).order_by(SystemEvent.seq.desc()).limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at_text, payload_text = iso(at), canonical_json(payload)
    session.add(SystemEvent(seq=seq, type=type_, at=at_text, actor=actor, payload=payload_text, prev_hash=prev,
                            hash=event_hash(seq, type_, at_text, actor, payload_text, prev)))
    session.flush()
    return seq


@dataclass(frozen=True)
class JournalEvent:
    seq: int
    type: str
    at: str
    actor: str
    payload: dict[str, Any]
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "type": self.type, "at": self.at, "actor": self.actor, "payload": self.payload,
                "hash": self.hash}


def events(session: Session, *, limit: int | None = None) -> list[JournalEvent]:
    """The journal, newest first (at most ``limit`` events)."""
    query = select(SystemEvent).order_by(SystemEvent.seq.desc())
    if limit is not None:
        query = query.limit(limit)
    return [JournalEvent(e.seq, e.type, e.at, e.actor, json.loads(e.payload), e.hash)
            for e in session.execute(query).scalars()]


def verify(session: Session) -> VerifyResult:
    """Check the journal's chain; ``broken_seq`` names the first event at fault."""
    rows = session.execute(select(SystemEvent).order_by(SystemEvent.seq, SystemEvent.id)).scalars().all()
    expected_prev, count = GENESIS, 0
    for row in rows:
        count += 1
        if row.seq != count:
            return VerifyResult(JOURNAL_ID, False, len(rows), count, f"journal event {count} is missing or out of "
                                                                       f"sequence (found {row.seq})")
        if row.prev_hash != expected_prev:
            return VerifyResult(JOURNAL_ID, False, len(rows), row.seq, f"journal event {row.seq} does not follow "
                                                                         f"event {row.seq - 1}")
        if event_hash(row.seq, row.type, row.at, row.actor, row.payload, row.prev_hash) != row.hash:
            return VerifyResult(JOURNAL_ID, False, len(rows), row.seq, f"journal event {row.seq} ({row.type}) was "
                                                                         "altered: its content does not match its hash")
        expected_prev = row.hash
    return VerifyResult(JOURNAL_ID, True, len(rows))

