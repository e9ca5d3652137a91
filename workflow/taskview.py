"""``TaskView``: a row of the inbox projection (``human_task``) as commands and queries return it.

Kept apart from the engine so that reading the inbox (``workflow.inbox``, ``shanyu tasks``,
``shanyu task show``) does not import SpiffWorkflow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .fastsql import as_utc
from .store import HumanTask, table_of

HUMAN_NAMES = tuple(c.name for c in table_of(HumanTask).columns)
_HUMAN_TIMES = ("due_at", "claimed_at", "created_at", "completed_at")


@dataclass(frozen=True)
class TaskView:
    """A row of the inbox projection, as commands return it."""

    id: int
    instance_id: int
    task_id: str
    process_id: str
    bpmn_id: str
    name: str
    lane: str | None
    role: str | None
    district: str | None
    form: str | None
    due_at: datetime | None
    state: str
    claimed_by: str | None
    claimed_at: datetime | None
    created_at: datetime
    completed_at: datetime | None
    completed_by: str | None

    @classmethod
    def of(cls, row: Any) -> TaskView:
        """From a result row or from the dict ``CaseStore.lock_for_task`` gives (its keys are
        exactly the fields)."""
        if type(row) is dict:
            return cls(**row)
        return cls(**{f: getattr(row, f) for f in cls.__dataclass_fields__})


def human_row(raw: Sequence[Any]) -> dict[str, Any]:
    """A ``human_task`` row read raw on the driver (all columns, in table order) as a dict of
    the ``TaskView`` fields, time columns as aware UTC datetimes."""
    row = dict(zip(HUMAN_NAMES, raw, strict=True))
    for name in _HUMAN_TIMES:
        if row[name] is not None:
            row[name] = as_utc(row[name])
    return row
