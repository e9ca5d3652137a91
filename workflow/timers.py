"""Firing due timers: ``sweep(db, engine, now)``, the plain function behind the scheduler's one job
and ``shanyu timers fire``.

Contract
    ``sweep`` reads the ``timer`` projection for cases with a waiting timer due at or before ``now``
    and fires them case by case, earliest due first, each case in its own write transaction through
    ``Engine.fire_timers`` (which records one ``timer_fired`` event per case, with every timer's due
    time and the firing time). It returns a ``SweepResult``: the timers that fired, the cases that
    failed, the cases somebody else had already fired, and the next due time after ``now``.

Why one transaction per case
    A broken case (a diagram error, a corrupt row, a year the calendar does not know) rolls back
    alone; it is logged, reported in ``failed``, recorded in ``timer_failure`` (how many sweeps in a
    row, since when, the last error; removed when its timers fire) and skipped, and the sweep goes
    on. It stays due,
    so the next sweep tries it again, and ``next_due`` looks past it so that a scheduler does not
    spin on it. Short transactions also keep the inbox responsive during a long catch-up.

Why sweeping twice is harmless
    ``fire_timers`` locks the case (``FOR UPDATE`` on PostgreSQL, the write lock on SQLite) and
    re-reads its timers under the lock, so a case already fired by another sweep (``shanyu timers
    fire`` next to the scheduler, or a scheduler that took over mid-sweep) fires nothing and
    records nothing; the sweep logs it and lists it in ``already_fired``.

A timer due exactly at ``now``
    SpiffWorkflow fires a timer only once its instant has strictly passed (``due < now``), and so
    do ``Engine.fire_timers`` and replay. ``sweep`` counts a timer due at ``now`` as due and fires
    its case at ``now`` plus one microsecond (the resolution of stored times), which is then the
    recorded firing time. So a timer is fired by the first sweep at or after its due time, on every
    backend, and replay (which fires at the recorded time) agrees.

After downtime
    The first sweep finds everything that fell due in the meantime and fires it once, in due order;
    the history shows each timer's due time next to the later firing time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .clock import SHANGHAI, ensure_utc
from .engine import Engine
from .errors import ShanyuError
from .store import Database, Timer, TimerFailure

__all__ = [
    "Backoff",
    "FailedCase",
    "FiredTimer",
    "SweepResult",
    "due_cases",
    "firing_time",
    "next_due",
    "sweep",
]

log = logging.getLogger("shanyu.timers")

RESOLUTION = timedelta(microseconds=1)


def _shanghai(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(SHANGHAI).isoformat()


@dataclass(frozen=True)
class FiredTimer:
    instance_id: int
    task_id: str
    bpmn_id: str
    name: str
    due_at: datetime
    fired_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "instance_id": self.instance_id,
            "task_id": self.task_id,
            "bpmn_id": self.bpmn_id,
            "name": self.name,
            "due": _shanghai(self.due_at),
            "fired_at": _shanghai(self.fired_at),
        }


@dataclass(frozen=True)
class FailedCase:
    instance_id: int
    error: str  # the ShanyuError code, or the exception's class name
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"instance_id": self.instance_id, "error": self.error, "message": self.message}


@dataclass
class SweepResult:
    now: datetime
    fired: list[FiredTimer] = field(default_factory=list)
    failed: list[FailedCase] = field(default_factory=list)
    already_fired: list[int] = field(default_factory=list)  # cases another sweep had fired first
    deferred: list[int] = field(default_factory=list)  # due cases not tried: they failed lately (``skip``)
    next_due: datetime | None = None  # the earliest waiting timer due after ``now``

    @property
    def count(self) -> int:
        return len(self.fired)

    @property
    def cases(self) -> list[int]:
        """The cases whose timers fired, in the order they were fired."""
        return list(dict.fromkeys(t.instance_id for t in self.fired))

    def to_dict(self) -> dict[str, Any]:
        return {
            "now": _shanghai(self.now),
            "fired": self.count,
            "cases": self.cases,
            "timers": [t.to_dict() for t in self.fired],
            "failed": [f.to_dict() for f in self.failed],
            "already_fired": self.already_fired,
            "deferred": self.deferred,
            "next_due": _shanghai(self.next_due),
        }


def due_cases(session: Session, now: datetime) -> list[tuple[int, datetime, datetime]]:
    """Cases with waiting timers due at or before ``now``: (instance id, earliest due, latest due
    among those), earliest first (ties by case id, so the order is deterministic)."""
    earliest, latest = func.min(Timer.due_at), func.max(Timer.due_at)
    rows = session.execute(
        select(Timer.instance_id, earliest, latest)
        .where(Timer.state == "waiting", Timer.due_at <= now)
        .group_by(Timer.instance_id)
        .order_by(earliest, Timer.instance_id)
    ).all()
    return [(int(iid), ensure_utc(first), ensure_utc(last)) for iid, first, last in rows]


def next_due(session: Session, after: datetime) -> datetime | None:
    """The earliest waiting timer due strictly after ``after``."""
    value = session.execute(
        select(func.min(Timer.due_at)).where(Timer.state == "waiting", Timer.due_at > after)
    ).scalar_one_or_none()
    return None if value is None else ensure_utc(value)


def firing_time(now: datetime, latest_due: datetime) -> datetime:
    """``now``, or one microsecond after a timer due exactly at ``now`` (see module doc)."""
    return now if latest_due < now else latest_due + RESOLUTION


def sweep(
    db: Database,
    engine: Engine,
    now: datetime,
    *,
    stop: Callable[[], bool] | None = None,
    skip: Container[int] = frozenset(),
) -> SweepResult:
    """Fire every timer due at or before ``now``, one case per transaction, earliest due first.
    ``stop`` is asked between cases (a scheduler shutting down); the cases left stay due. Cases in
    ``skip`` (a scheduler's cases that failed lately, see ``Backoff``) are not tried this time and
    are listed in ``deferred``."""
    now = ensure_utc(now)
    result = SweepResult(now)
    with db.read() as session:
        due = due_cases(session, now)
    for index, (instance_id, _first, latest) in enumerate(due):
        if stop is not None and stop():
            log.info("sweep stopped early: %d case(s) left due for the next sweep", len(due) - index)
            break
        if instance_id in skip:
            result.deferred.append(instance_id)
            continue
        at = firing_time(now, latest)
        try:
            with db.write() as session:
                fired: Sequence[Timer] = ()
                if engine.fire_timers(session, instance_id, now=at):
                    session.execute(delete(TimerFailure).where(TimerFailure.instance_id == instance_id))
                    fired = (
                        session.execute(
                            select(Timer)
                            .where(
                                Timer.instance_id == instance_id, Timer.state == "fired", Timer.fired_at == at
                            )
                            .order_by(Timer.due_at, Timer.id)
                        )
                        .scalars()
                        .all()
                    )
        except ShanyuError as exc:
            log.error("case %s: its due timers could not fire and were skipped: %s", instance_id, exc.message)
            result.failed.append(FailedCase(instance_id, exc.code, exc.message))
            record_failure(db, instance_id, exc.code, exc.message, now)
            continue
        except Exception as exc:  # one broken case never blocks the sweep
            log.exception("case %s: its due timers could not fire and were skipped", instance_id)
            result.failed.append(FailedCase(instance_id, type(exc).__name__, str(exc)))
            record_failure(db, instance_id, type(exc).__name__, str(exc), now)
            continue
        if not fired:
            log.info(
                "case %s: its due timers were already fired by another sweep; nothing to do", instance_id
            )
            result.already_fired.append(instance_id)
            continue
        for timer in fired:
            assert timer.fired_at is not None
            result.fired.append(
                FiredTimer(
                    instance_id, timer.task_id, timer.bpmn_id, timer.name, timer.due_at, timer.fired_at
                )
            )
            log.info(
                "case %s: timer %s due %s fired at %s",
                instance_id,
                timer.bpmn_id,
                _shanghai(timer.due_at),
                _shanghai(timer.fired_at),
            )
    with db.read() as session:
        result.next_due = next_due(session, now)
    if result.failed:
        log.warning(
            "sweep at %s: %d timer(s) fired, %d case(s) failed: %s",
            _shanghai(now),
            result.count,
            len(result.failed),
            ", ".join(str(f.instance_id) for f in result.failed),
        )
    return result


MAX_FAILURE_TEXT = 4000  # characters of an error message kept in ``timer_failure``


def record_failure(db: Database, instance_id: int, code: str, message: str, now: datetime) -> None:
    """Keep why the case's timers could not fire (its own transaction: the case's rolled back). A
    failure to record is logged and never stops the sweep."""
    code, message = code[:60], message[:MAX_FAILURE_TEXT]
    try:
        with db.write() as session:
            row = session.get(TimerFailure, instance_id)
            if row is None:
                session.add(TimerFailure(instance_id=instance_id, failures=1, first_at=now, last_at=now, code=code,
                                         message=message))
            else:
                row.failures, row.last_at, row.code, row.message = row.failures + 1, now, code, message
    except Exception:  # noqa: BLE001 - the failure is logged above; the sweep goes on
        log.exception("case %s: the failure of its timers could not be recorded", instance_id)


class Backoff:
    """When a scheduler tries a failing case again: at its next sweep after the first failure, then
    after ``first``, twice that, … at most ``longest`` (business time), so that a case which keeps
    failing (a diagram error, an expression over its budget) costs little while the others fire.
    It stays due throughout; ``shanyu timers fire`` tries every due case regardless."""

    def __init__(
        self, first: timedelta = timedelta(seconds=30), longest: timedelta = timedelta(hours=1)
    ) -> None:
        self.first, self.longest = first, longest
        self.failing: dict[int, tuple[int, datetime]] = {}  # case -> (failures in a row, not before)

    def skip(self, now: datetime) -> frozenset[int]:
        """The failing cases not to try at ``now``."""
        return frozenset(iid for iid, (_count, after) in self.failing.items() if after > now)

    def update(self, result: SweepResult) -> None:
        """Count the sweep's failures; forget the cases that fired (or were fired elsewhere)."""
        for iid in (*result.cases, *result.already_fired):
            self.failing.pop(iid, None)
        for failure in result.failed:
            count = self.failing.get(failure.instance_id, (0, result.now))[0] + 1
            wait = min(self.first * 2 ** (count - 2), self.longest) if count > 1 else timedelta(0)
            self.failing[failure.instance_id] = (count, result.now + wait)
            log.warning(
                "case %s failed %d time(s) in a row (%s); it stays due and is tried again %s",
                failure.instance_id,
                count,
                failure.error,
                "at the next sweep" if not wait else f"from {_shanghai(result.now + wait)} on",
            )
