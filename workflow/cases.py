"""Loading and saving cases inside the caller's transaction, with a bounded cache of loaded cases.

``CaseStore.lock(session, id)`` reads the instance row (``FOR UPDATE`` on PostgreSQL; on SQLite the
write transaction already holds the database's write lock) and returns a ``Case``: the row's fields
plus the workflow object. A cached workflow is reused only when its ``state_token`` equals the
row's, which is read inside the same transaction; otherwise the case is rebuilt from its rows. A
case is taken out of the cache while a command uses it and put back only after a successful save,
so a failed command never leaves a half-changed workflow behind, and two threads never share one.

``save`` writes the changed task rows, new data blobs, the meta and the row fields, guarded by the
row's ``lock_version``: a concurrent writer is detected, never silently overwritten.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from . import specs as specs_mod
from .adapters.spiff import UnknownMergeMode, merge_mode
from .digest import state_digest
from .errors import ConcurrentModification, NotFound, StateAltered
from .fastsql import Prepared, as_utc, driver_of
from .forms import forms_of
from .history import ChainHead
from .state import Changes, LoadedCase, restore
from .store import (
    Bundle,
    DataBlob,
    HistoryEvent,
    HumanTask,
    Instance,
    MessageSubscription,
    ProcessVersion,
    TaskRow,
    Timer,
    table_of,
)
from .taskview import HUMAN_NAMES as _HUMAN_NAMES
from .taskview import human_row
from .texts import sha256

INSTANCE = table_of(Instance)
HUMAN = table_of(HumanTask)
TASK_ROW = table_of(TaskRow)
BLOB = table_of(DataBlob)


class InstanceRow(NamedTuple):
    """The instance columns a command reads under the lock (``meta`` only when the case is loaded)."""

    id: int
    process_id: str
    process_version_id: int
    status: str
    district: str | None
    lock_version: int
    state_token: str
    event_count: int
    head_hash: str
    state_digest: str


_INSTANCE_COLUMNS = [INSTANCE.c[name] for name in InstanceRow.__annotations__]
# Built once: statement construction costs more than executing a cached one.
_LOCK_INSTANCE = select(*_INSTANCE_COLUMNS).where(INSTANCE.c.id == bindparam("iid")).with_for_update()
_LOCK_TASK = (select(HUMAN, *[c.label("i_" + c.name) for c in _INSTANCE_COLUMNS])
              .join(INSTANCE, INSTANCE.c.id == HUMAN.c.instance_id)
              .where(HUMAN.c.id == bindparam("tid")).with_for_update())
_GUARD = (INSTANCE.c.id == bindparam("iid")) & (INSTANCE.c.lock_version == bindparam("expected"))
_SAVE_INSTANCE = update(INSTANCE).where(_GUARD).values(
    lock_version=bindparam("new_version"), state_token=bindparam("token"), updated_at=bindparam("now"),
    event_count=bindparam("count"), head_hash=bindparam("head"), state_digest=bindparam("digest"))
_BUMP_INSTANCE = update(INSTANCE).where(_GUARD).values(
    lock_version=bindparam("new_version"), updated_at=bindparam("now"), event_count=bindparam("count"),
    head_hash=bindparam("head"))


def _upserts(dialect: str) -> tuple[Any, Any]:
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = dialect_insert(TASK_ROW)
    return (dialect_insert(BLOB).on_conflict_do_nothing(index_elements=["hash"]),
            rows.on_conflict_do_update(index_elements=["instance_id", "task_id"],
                                       set_={"body": rows.excluded.body, "data_hash": rows.excluded.data_hash}))


_UPSERTS = {name: tuple(Prepared(stmt) for stmt in _upserts(name)) for name in ("sqlite", "postgresql")}
_LOCK_INSTANCE_P = Prepared(_LOCK_INSTANCE)
_LOCK_TASK_P = Prepared(_LOCK_TASK)
# by (meta changed, status changed): a column is set only when it changed, because SQLite rewrites
# an indexed column's index entry whenever the column is assigned, even to the same value
_SAVE_INSTANCE_P = {
    (meta, status): Prepared(_SAVE_INSTANCE.values(
        **({"meta": bindparam("meta_text")} if meta else {}), **({"status": bindparam("status")} if status else {})))
    for meta in (False, True) for status in (False, True)}
_BUMP_INSTANCE_P = Prepared(_BUMP_INSTANCE)
# loading a case: its meta, its task rows with their data, and its open projections
_IID: Any = bindparam("iid")
_EVENT = table_of(HistoryEvent)
_HEAD_DIGEST = Prepared(select(_EVENT.c.state_digest).select_from(INSTANCE.join(
    _EVENT, (_EVENT.c.instance_id == INSTANCE.c.id) & (_EVENT.c.seq == INSTANCE.c.event_count)))
    .where(INSTANCE.c.id == _IID))
_LOAD_META = Prepared(select(INSTANCE.c.meta, INSTANCE.c.data_merge).where(INSTANCE.c.id == _IID))
_LOAD_ROWS = Prepared(select(TASK_ROW.c.task_id, TASK_ROW.c.body, TASK_ROW.c.data_hash, BLOB.c.body)
                      .join(BLOB, BLOB.c.hash == TASK_ROW.c.data_hash).where(TASK_ROW.c.instance_id == _IID))
_LOAD_HUMAN = Prepared(select(HUMAN.c.id, HUMAN.c.task_id).where(HUMAN.c.instance_id == _IID, HUMAN.c.state == "ready"))
_TIMER, _WAIT = table_of(Timer), table_of(MessageSubscription)
_LOAD_TIMERS = Prepared(select(_TIMER.c.id, _TIMER.c.task_id, _TIMER.c.due_at)
                        .where(_TIMER.c.instance_id == _IID, _TIMER.c.state == "waiting"))
_LOAD_WAITS = Prepared(select(_WAIT.c.id, _WAIT.c.task_id, _WAIT.c.message_name, _WAIT.c["keys"])
                       .where(_WAIT.c.instance_id == _IID))


@dataclass
class Case:
    """One case, checked out for the duration of a command."""

    id: int
    process_id: str
    process_version_id: int
    status: str
    district: str | None
    lock_version: int
    state_token: str
    head: ChainHead
    loaded: LoadedCase
    # projections known to be stored (task id -> row id / keys), cached alongside the workflow
    open_human: dict[str, int] = field(default_factory=dict)
    open_timers: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    open_subs: dict[str, tuple[int, str, str]] = field(default_factory=dict)

    @property
    def workflow(self) -> Any:
        return self.loaded.workflow


class CaseStore:
    """Loads and saves cases; keeps recently used ones loaded.

    The cache holds at most ``cache_size`` cases and at most ``cache_tasks`` SpiffWorkflow tasks
    across them, least recently used out first. A loaded case costs memory in proportion to its
    tasks (about 1.1 KB of Python objects each, docs/performance.md), so the task bound is what
    bounds memory: a few very long cases cannot crowd a process's memory the way a count alone
    would let them. The defaults hold the whole live programme (about 2,400 tasks in some 40 cases
    in the demo) with room to spare.
    """

    # every case loaded from the database is checked against its history (``restore(verify=True)``);
    # off only to measure what the check costs (bench/audit_checks.py)
    verify_loads = True

    def __init__(self, script_engine: Any, *, cache_size: int = 256, cache_tasks: int = 5_000) -> None:
        self.script_engine = script_engine
        self.cache_size = cache_size
        self.cache_tasks = cache_tasks
        self._cache: OrderedDict[int, Case] = OrderedDict()
        self._cached_tasks = 0  # sum of the cached cases' task counts (``_sizes``)
        self._sizes: dict[int, int] = {}
        self._specs: OrderedDict[int, tuple[Any, dict[str, Any]]] = OrderedDict()
        self._forms: dict[int, dict[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    # -- specs ---------------------------------------------------------------------------------
    def specs_for(self, session: Session, version_id: int) -> tuple[Any, dict[str, Any]]:
        with self._lock:
            found = self._specs.get(version_id)
            if found is not None:
                self._specs.move_to_end(version_id)
                return found
        row = session.execute(
            select(ProcessVersion.process_id, Bundle.content_hash, Bundle.files)
            .join(Bundle, Bundle.content_hash == ProcessVersion.bundle_hash)
            .where(ProcessVersion.id == version_id)
        ).first()
        if row is None:
            raise NotFound(f"Process version {version_id} does not exist.")
        bundle = specs_mod.bundle_from_files({name: text for name, text in json.loads(row[2])})
        found = specs_mod.load_specs(bundle, row[0])
        with self._lock:
            self._specs[version_id] = found
            self._forms[version_id] = forms_of(bundle.files)
            while len(self._specs) > 64:
                evicted, _ = self._specs.popitem(last=False)
                self._forms.pop(evicted, None)
        return found

    def forms_for(self, session: Session, version_id: int) -> dict[str, dict[str, Any]]:
        """The forms deployed with a process version, keyed by file name (``forms/x.json``)."""
        with self._lock:
            found = self._forms.get(version_id)
        if found is None:
            self.specs_for(session, version_id)
            with self._lock:
                found = self._forms.get(version_id, {})
        return found

    # -- cases ---------------------------------------------------------------------------------
    def lock(self, session: Session, instance_id: int) -> Case:
        cursor = _LOCK_INSTANCE_P.execute(session, {"iid": instance_id})
        row = cursor.fetchone()
        cursor.close()
        if row is None:
            raise NotFound(f"Case {instance_id} does not exist.", instance_id=instance_id)
        return self._checkout(session, InstanceRow(*row))

    def lock_task_row(self, session: Session, task_id: int) -> tuple[dict[str, Any], InstanceRow]:
        """The human task row and its case's row, both read under the case's lock in one statement
        (on PostgreSQL ``FOR UPDATE`` re-reads both rows once a concurrent holder commits). Enough
        for a claim or a release, which change no workflow state: the case is not loaded."""
        cursor = _LOCK_TASK_P.execute(session, {"tid": task_id})
        raw = cursor.fetchone()
        cursor.close()
        if raw is None:
            raise NotFound(f"Task {task_id} does not exist.", task_id=task_id)
        count = len(_HUMAN_NAMES)
        return human_row(raw[:count]), InstanceRow(*raw[count:])

    def lock_for_task(self, session: Session, task_id: int) -> tuple[dict[str, Any], Case]:
        """``lock_task_row`` with the case checked out (from the cache, or loaded)."""
        row, instance = self.lock_task_row(session, task_id)
        return row, self._checkout(session, instance)

    def _checkout(self, session: Session, row: InstanceRow) -> Case:
        with self._lock:
            cached = self._cache.pop(row.id, None)
            self._cached_tasks -= self._sizes.pop(row.id, 0)
        if cached is not None and cached.state_token == row.state_token:
            cached.lock_version = row.lock_version
            cached.status = row.status
            cached.head = ChainHead(row.event_count, row.head_hash)
            return cached
        return self._load(session, row)

    def restore(self, session: Session, instance_id: int, version_id: int, *, verify: bool = False) -> LoadedCase:
        """The case's workflow rebuilt from its stored rows, never from the cache. With ``verify``,
        the stored state is checked first against itself and against the history
        (``verify_stored``); ``StateAltered`` when it does not hold."""
        spec, subprocess_specs = self.specs_for(session, version_id)
        [(meta, stored_merge)] = _LOAD_META.fetchall(session, {"iid": instance_id})
        try:
            merge = merge_mode(stored_merge)
        except UnknownMergeMode as exc:
            raise StateAltered(f"Case {instance_id}: its row names an {exc}. The case was not loaded and nothing "
                               "was changed; was it written by a newer version of Shanyu?",
                               instance_id=instance_id) from exc
        rows = _LOAD_ROWS.fetchall(session, {"iid": instance_id})
        blobs = {data_hash: data for _tid, _body, data_hash, data in rows}
        if verify:
            altered = [h for h, body in blobs.items() if sha256(body) != h]
            if altered:
                raise StateAltered(f"Case {instance_id}: the stored task data {altered[0][:12]}… no longer matches "
                                   f"its hash ({len(altered)} data record(s) altered). The command was refused and "
                                   "nothing was changed; `shanyu history verify` reports the case.",
                                   instance_id=instance_id, data_hashes=altered)
        try:
            loaded = restore(spec, subprocess_specs, meta,
                             [(tid, body, data_hash) for tid, body, data_hash, _data in rows], blobs,
                             self.script_engine)
        except StateAltered:
            raise
        except Exception as exc:
            if not verify:
                raise
            raise StateAltered(f"Case {instance_id}: its stored rows no longer rebuild a case "
                               f"({type(exc).__name__}: {exc}). The command was refused and nothing was changed.",
                               instance_id=instance_id) from exc
        loaded.data_merge = merge
        if verify:
            self.verify_stored(session, instance_id, loaded)
        return loaded

    @staticmethod
    def verify_stored(session: Session, instance_id: int, loaded: LoadedCase) -> None:
        """The rebuilt state's digest must be the one the case's newest event recorded."""
        found = _HEAD_DIGEST.fetchall(session, {"iid": instance_id})
        recorded = found[0][0] if found else None
        digest = state_digest(loaded)
        if recorded != digest:
            raise StateAltered(f"Case {instance_id}: its stored state rebuilds to digest {digest[:12]}…, but its "
                               f"newest event recorded {str(recorded)[:12]}…: the stored state was changed outside "
                               "the engine. The command was refused and nothing was changed; `shanyu history "
                               "verify` reports the case.", instance_id=instance_id)

    def _load(self, session: Session, row: InstanceRow) -> Case:
        loaded = self.restore(session, row.id, row.process_version_id, verify=self.verify_loads)
        case = Case(row.id, row.process_id, row.process_version_id, row.status, row.district, row.lock_version,
                    row.state_token, ChainHead(row.event_count, row.head_hash), loaded)
        params = {"iid": row.id}
        for hid, tid in _LOAD_HUMAN.fetchall(session, params):
            case.open_human[tid] = hid
        for tmid, tid, due in _LOAD_TIMERS.fetchall(session, params):
            case.open_timers[tid] = (tmid, as_utc(due) or due)
        for sid, tid, name, keys in _LOAD_WAITS.fetchall(session, params):
            case.open_subs[tid] = (sid, name, keys)
        return case

    def new_case(self, instance_id: int, process_id: str, version_id: int, district: str | None,
                 workflow: Any) -> Case:
        return Case(instance_id, process_id, version_id, "running", district, 0, "", ChainHead(0, ""),
                    LoadedCase(workflow))

    def save(self, session: Session, case: Case, changes: Changes, *, now: datetime, head: ChainHead,
             status: str, digest: str) -> None:
        """Write what changed in the workflow, then the row fields, checked against ``lock_version``."""
        upsert_blob, upsert_row = _UPSERTS[driver_of(session)[0].name]
        if changes.blobs:
            upsert_blob.executemany(session, [{"hash": h, "body": b} for h, b in changes.blobs.items()])
        if changes.rows:
            upsert_row.executemany(session, [{"instance_id": case.id, "task_id": tid, "body": body, "data_hash": dh}
                                             for tid, (body, dh) in changes.rows.items()])
        if changes.deleted:
            session.connection().execute(delete(TASK_ROW).where(TASK_ROW.c.instance_id == case.id,
                                                TASK_ROW.c.task_id.in_(changes.deleted)))
        token = os.urandom(16).hex()
        params: dict[str, Any] = {
            "iid": case.id, "expected": case.lock_version, "new_version": case.lock_version + 1, "token": token,
            "now": now, "status": status, "count": head.event_count, "head": head.head_hash, "digest": digest,
        }
        if changes.meta is not None:
            params["meta_text"] = changes.meta
        statement = _SAVE_INSTANCE_P[changes.meta is not None, status != case.status]
        if statement.run(session, params) != 1:
            raise ConcurrentModification(
                f"Case {case.id} was changed by someone else while this action ran. Nothing was saved; "
                "reload the case and try again.", instance_id=case.id)
        case.lock_version += 1
        case.state_token = token
        case.status = status
        case.head = head

    def bump(self, session: Session, instance: InstanceRow, *, now: datetime, head: ChainHead) -> None:
        """Record a change that did not touch the workflow (a claim): version and chain head only.
        A cached copy of the case stays valid (its state token is unchanged); its version and
        head are read again from the row when it is next checked out."""
        changed = _BUMP_INSTANCE_P.run(session, {
            "iid": instance.id, "expected": instance.lock_version, "new_version": instance.lock_version + 1,
            "now": now, "count": head.event_count, "head": head.head_hash})
        if changed != 1:
            raise ConcurrentModification(f"Case {instance.id} was changed by someone else; reload and retry.",
                                         instance_id=instance.id)

    def put_back(self, case: Case) -> None:
        """Return a successfully saved case to the cache; evict the least recently used cases
        beyond either bound (the case just returned always stays)."""
        size = len(case.loaded.saved)
        with self._lock:
            self._cached_tasks += size - self._sizes.get(case.id, 0)
            self._sizes[case.id] = size
            self._cache[case.id] = case
            self._cache.move_to_end(case.id)
            while len(self._cache) > 1 and (len(self._cache) > self.cache_size
                                            or self._cached_tasks > self.cache_tasks):
                evicted, _case = self._cache.popitem(last=False)
                self._cached_tasks -= self._sizes.pop(evicted)

    def peek(self, instance_id: int) -> Case | None:
        """The cached case as the last command left it, or None; for checking only (a command
        checks a case out with ``lock``)."""
        with self._lock:
            return self._cache.get(instance_id)

    def forget(self, instance_id: int | None = None) -> None:
        with self._lock:
            if instance_id is None:
                self._cache.clear()
                self._sizes.clear()
                self._cached_tasks = 0
            else:
                self._cache.pop(instance_id, None)
                self._cached_tasks -= self._sizes.pop(instance_id, 0)

    def cached(self) -> tuple[int, int]:
        """How many cases and how many tasks the cache holds."""
        with self._lock:
            return len(self._cache), self._cached_tasks
