"""The one shim that routes SpiffWorkflow's inline clock reads to our ``Clock``.

SpiffWorkflow's timer events call ``datetime.now(timezone.utc)`` inside
``SpiffWorkflow.bpmn.specs.event_definitions.timer`` and tasks stamp ``time.time()`` in
``SpiffWorkflow.task``. Replay and simulated time both need those reads to return the command's
``now``. ``install()`` replaces exactly those two module globals with clock-aware stand-ins that fall
back to the system clock outside ``at(now)``. It also makes naive timer expressions mean Shanghai
time (the library would otherwise use the host's zone).
"""

from __future__ import annotations

import time as _time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import datetime, tzinfo

from .clock import SHANGHAI, ensure_utc

_NOW: ContextVar[datetime | None] = ContextVar("shanyu_now", default=None)
_installed = False


class ClockedDatetime(datetime):
    """``datetime`` whose ``now()`` answers with the command's clock when one is set."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> ClockedDatetime:
        current = _NOW.get()
        if current is None:
            return super().now(tz)
        value = current.astimezone(tz) if tz is not None else current.astimezone(SHANGHAI).replace(tzinfo=None)
        return cls.fromisoformat(value.isoformat())


class _ClockedTime:
    """Stand-in for the ``time`` module inside ``SpiffWorkflow.task`` (only ``time()`` is used)."""

    @staticmethod
    def time() -> float:
        current = _NOW.get()
        return current.timestamp() if current is not None else _time.time()


def install() -> None:
    global _installed
    if _installed:
        return
    import SpiffWorkflow.bpmn.specs.event_definitions.timer as timer_module
    import SpiffWorkflow.task as task_module

    timer_module.datetime = ClockedDatetime
    timer_module.LOCALTZ = SHANGHAI
    task_module.time = _ClockedTime()
    _installed = True


def set_now(now: datetime) -> Token[datetime | None]:
    """Make SpiffWorkflow's clock read ``now`` until ``reset(token)``; ``at`` is the block form."""
    if not _installed:
        install()
    return _NOW.set(ensure_utc(now))


def reset(token: Token[datetime | None]) -> None:
    _NOW.reset(token)


@contextmanager
def at(now: datetime) -> Iterator[None]:
    """Run the block with SpiffWorkflow's clock reading ``now``."""
    token = set_now(now)
    try:
        yield
    finally:
        _NOW.reset(token)
