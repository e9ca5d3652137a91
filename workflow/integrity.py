"""Is the live state of a case still what its history says? The check behind ``history verify``.

A case's stored rows must rebuild to the state whose digest its newest event recorded, its data
records must still have the hashes they are stored under, and the digest kept on the case's row
(what claims and releases record again) must be the newest event's. The hash chain itself is
checked by ``workflow.history``; this module checks the state against the chain.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .cases import CaseStore
from .errors import StateAltered
from .store import HistoryEvent, Instance


@dataclass(frozen=True)
class LiveState:
    instance_id: int
    ok: bool
    reason: str = ""


def check_case(session: Session, cases: CaseStore, instance_id: int) -> LiveState:
    row = session.execute(select(Instance.process_version_id, Instance.event_count, Instance.state_digest)
                          .where(Instance.id == instance_id)).one()
    recorded = session.execute(select(HistoryEvent.state_digest).where(
        HistoryEvent.instance_id == instance_id, HistoryEvent.seq == row.event_count)).scalar_one_or_none()
    if recorded is not None and row.state_digest != recorded:
        return LiveState(instance_id, False, f"the case row's state digest {row.state_digest[:12]}… is not the "
                                             f"newest event's ({recorded[:12]}…)")
    try:
        cases.restore(session, instance_id, row.process_version_id, verify=True)
    except StateAltered as exc:
        return LiveState(instance_id, False, exc.message)
    return LiveState(instance_id, True)


def check_all(session: Session, cases: CaseStore, instance_ids: list[int] | None = None) -> Iterator[LiveState]:
    ids = instance_ids if instance_ids is not None else list(
        session.execute(select(Instance.id).order_by(Instance.id)).scalars())
    for instance_id in ids:
        yield check_case(session, cases, instance_id)
