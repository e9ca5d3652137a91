"""Drafts: form data the holder of a task saves without completing it.

A draft is never validated and is not part of the case: it is neither in the workflow's state nor
in the history, so saving one changes no digest. It belongs to one user and one inbox row, only
that user reads it back, and only while they hold the task; completing the task deletes it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from .errors import InvalidData, PermissionDenied, TaskNotReady
from .fastsql import Prepared
from .store import TaskDraft
from .taskview import TaskView
from .users import Actor

MAX_DRAFT_BYTES = 1_000_000


def save_draft(session: Session, task: TaskView, data: dict[str, Any], *, actor: Actor, now: datetime) -> None:
    """Store ``data`` as ``actor``'s draft of ``task``, which they must hold and which must be open."""
    if task.state != "ready":
        raise TaskNotReady(f"Task {task.id} '{task.name}' is {task.state}; a draft can no longer be saved.")
    if task.claimed_by != actor.name:
        raise PermissionDenied(f"Task {task.id} '{task.name}' must be claimed by you before you save a draft.")
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, allow_nan=False)
    if len(text.encode()) > MAX_DRAFT_BYTES:
        raise InvalidData(f"A draft may hold at most {MAX_DRAFT_BYTES:,} bytes of form data.")
    row = session.get(TaskDraft, (task.id, actor.name))
    if row is None:
        session.add(TaskDraft(human_task_id=task.id, user_name=actor.name, data=text, saved_at=now))
    else:
        row.data, row.saved_at = text, now


def load_draft(session: Session, task: TaskView, actor: Actor) -> tuple[dict[str, Any], datetime] | None:
    """``actor``'s draft of ``task`` and when it was saved, while they hold the open task."""
    if task.state != "ready" or task.claimed_by != actor.name:
        return None
    row = session.execute(select(TaskDraft).where(TaskDraft.human_task_id == task.id,
                                                  TaskDraft.user_name == actor.name)).scalar_one_or_none()
    if row is None:
        return None
    data = json.loads(row.data)
    return (data if isinstance(data, dict) else {}), row.saved_at


_DISCARD = Prepared(delete(TaskDraft).where(TaskDraft.human_task_id == bindparam("tid")))


def discard_drafts(session: Session, task_id: int) -> None:
    """Delete every draft of a task (it was completed). Run on the driver: it follows every
    completion from the pages and the API."""
    _DISCARD.run(session, {"tid": task_id})
