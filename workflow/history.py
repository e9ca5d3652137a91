"""History: the append-only, hash-chained event log of every input that changed a case.

Each event stores when it happened, who caused it, the input (``payload``), a digest of the case
state after it, the hash of the previous event of the same instance, and its own hash over all of
that. The instance row keeps the head of its chain (``event_count``, ``head_hash``), so that
removing the newest event is detected as surely as editing an old one.

``verify_*`` recompute every chain: an edited, deleted, inserted or reordered row is reported as
the first broken event of its instance, with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from .canonical import canonical_json, sha256
from .clock import iso
from .fastsql import Prepared
from .store import HistoryEvent, Instance, table_of

GENESIS = "0" * 64
_string = json.encoder.encode_basestring  # the canonical encoder's own (ensure_ascii=False) string writer
_INSERT_EVENT = Prepared(insert(table_of(HistoryEvent)).values(
    **{name: bindparam(name) for name in ("instance_id", "seq", "type", "at", "actor", "payload", "state_digest",
                                          "prev_hash", "hash")}))


def event_hash(instance_id: int, seq: int, type_: str, at: str, actor: str, payload: str,
               state_digest: str, prev_hash: str) -> str:
    """SHA-256 of the canonical JSON list of the event's fields. The list is written here as the
    canonical encoder writes it (an int's decimal digits, a string as ``encode_basestring`` gives
    it, which is what that encoder uses for strings); other types go through the encoder itself.
    tests/workflow/test_history__verify.py checks that both ways give the same text."""
    if type(instance_id) is int and type(seq) is int:
        try:
            return sha256(f"[{instance_id},{seq},{_string(type_)},{_string(at)},{_string(actor)},{_string(payload)},"
                          f"{_string(state_digest)},{_string(prev_hash)}]")
        except TypeError:  # a field that is not a string (a damaged row): the encoder decides
            pass
    return sha256(canonical_json([instance_id, seq, type_, at, actor, payload, state_digest, prev_hash]))


class ChainHead(NamedTuple):
    """The newest event of a chain: how many events it has and the last one's hash."""

    event_count: int
    head_hash: str


def append_event(session: Session, instance_id: int, head: ChainHead, *, type_: str, at: datetime,
                 actor: str, payload: dict[str, Any], state_digest: str) -> ChainHead:
    """Append one event after ``head`` and return the new head; the caller stores it on the
    instance row in the same transaction (under the instance's lock)."""
    seq = head.event_count + 1
    prev = head.head_hash or GENESIS
    payload_text = canonical_json(payload)
    at_text = iso(at)
    digest = event_hash(instance_id, seq, type_, at_text, actor, payload_text, state_digest, prev)
    _INSERT_EVENT.run(session, {
        "instance_id": instance_id, "seq": seq, "type": type_, "at": at_text, "actor": actor,
        "payload": payload_text, "state_digest": state_digest, "prev_hash": prev, "hash": digest,
    })
    return ChainHead(seq, digest)


@dataclass(frozen=True)
class EventView:
    seq: int
    type: str
    at: str
    actor: str
    payload: dict[str, Any]
    state_digest: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "type": self.type, "at": self.at, "actor": self.actor,
                "payload": self.payload, "state_digest": self.state_digest, "hash": self.hash}


def list_events(session: Session, instance_id: int) -> list[EventView]:
    rows = session.execute(
        select(HistoryEvent.seq, HistoryEvent.type, HistoryEvent.at, HistoryEvent.actor,
               HistoryEvent.payload, HistoryEvent.state_digest, HistoryEvent.hash)
        .where(HistoryEvent.instance_id == instance_id).order_by(HistoryEvent.seq)
    ).all()
    return [EventView(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6]) for r in rows]


@dataclass(frozen=True)
class VerifyResult:
    instance_id: int
    ok: bool
    events: int
    broken_seq: int | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"instance_id": self.instance_id, "ok": self.ok, "events": self.events,
                "broken_seq": self.broken_seq, "reason": self.reason}


_EVENT_COLUMNS = (HistoryEvent.id, HistoryEvent.instance_id, HistoryEvent.seq, HistoryEvent.type,
                  HistoryEvent.at, HistoryEvent.actor, HistoryEvent.payload, HistoryEvent.state_digest,
                  HistoryEvent.prev_hash, HistoryEvent.hash)


def verify_events(instance_id: int, head: ChainHead, events: Iterable[tuple[int, str, str, str, str, str, str, str]]
                  ) -> VerifyResult:
    """Check a chain held outside the database (an evidence bundle): events as (seq, type, at,
    actor, payload text, state digest, previous hash, hash), in their order."""
    return _check_chain(instance_id, head, [(i, instance_id, *event) for i, event in enumerate(events)])


def _check_chain(instance_id: int, head: ChainHead, rows: Iterable[Any]) -> VerifyResult:
    rows = list(rows)
    result = _walk_chain(instance_id, head, rows)
    # report every stored event, not just those read up to the break
    return VerifyResult(result.instance_id, result.ok, len(rows), result.broken_seq, result.reason)


def _walk_chain(instance_id: int, head: ChainHead, rows: list[Any]) -> VerifyResult:
    expected_prev = GENESIS
    expected_seq = 1
    last_id = -1
    count = 0
    for row in rows:
        _id, _inst, seq, type_, at, actor, payload, digest, prev, stored = row
        count += 1
        if seq != expected_seq:
            missing = expected_seq if seq > expected_seq else seq
            return VerifyResult(instance_id, False, count, missing,
                                f"event {expected_seq} is missing or out of sequence (found {seq})")
        if _id < last_id:
            return VerifyResult(instance_id, False, count, seq,
                                f"event {seq} was stored after event {seq - 1} but sorts before it: rows reordered")
        if prev != expected_prev:
            return VerifyResult(instance_id, False, count, seq,
                                f"event {seq} does not follow event {seq - 1}: its previous-hash link is broken")
        if event_hash(instance_id, seq, type_, at, actor, payload, digest, prev) != stored:
            return VerifyResult(instance_id, False, count, seq,
                                f"event {seq} ({type_}) was altered: its content does not match its hash")
        expected_prev = stored
        expected_seq += 1
        last_id = _id
    if count != head.event_count or (count and expected_prev != head.head_hash):
        at_seq = min(count, head.event_count) + 1
        return VerifyResult(instance_id, False, count, at_seq,
                            f"the case records {head.event_count} events ending in {head.head_hash[:12]}…, "
                            f"but {count} chained events were found: event {at_seq} was removed or added")
    return VerifyResult(instance_id, True, count)


def verify_instance(session: Session, instance_id: int) -> VerifyResult:
    head_row = session.execute(
        select(Instance.event_count, Instance.head_hash).where(Instance.id == instance_id)
    ).first()
    if head_row is None:
        from .errors import NotFound

        raise NotFound(f"Case {instance_id} does not exist.", instance_id=instance_id)
    rows = session.execute(
        select(*_EVENT_COLUMNS).where(HistoryEvent.instance_id == instance_id)
        .order_by(HistoryEvent.seq, HistoryEvent.id)
    )
    return _check_chain(instance_id, ChainHead(head_row[0], head_row[1]), rows)


def verify_all(session: Session, *, batch: int = 500) -> Iterator[VerifyResult]:
    """Verify every instance's chain, streaming events in instance order, ``batch`` cases at a time."""
    heads = session.execute(select(Instance.id, Instance.event_count, Instance.head_hash).order_by(Instance.id)).all()
    for start in range(0, len(heads), batch):
        chunk = heads[start:start + batch]
        lo, hi = chunk[0][0], chunk[-1][0]
        grouped: dict[int, list[Any]] = {}
        for row in session.execute(
            select(*_EVENT_COLUMNS)
            .where(HistoryEvent.instance_id >= lo, HistoryEvent.instance_id <= hi)
            .order_by(HistoryEvent.instance_id, HistoryEvent.seq, HistoryEvent.id)
        ):
            grouped.setdefault(row[1], []).append(row)
        for instance_id, count, head_hash in chunk:
            yield _check_chain(instance_id, ChainHead(count, head_hash), grouped.get(instance_id, []))
