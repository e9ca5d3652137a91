"""Evidence bundles: one case's history in one self-contained file that verifies offline.

``export_case`` writes what an outside party needs to check a case without access to Shanyu's
database: the events exactly as hashed (the chain), the files of the process version the case
pinned (BPMN, DMN, forms), the materials the case refers to, the working days of the years the case
ran in as the system's calendar has them, and the chain head. ``check_bundle`` verifies such a file
on any machine with Shanyu installed and no database:

1. the chain: every event's hash, its link to the previous one, and the head;
2. the process files: their content hash is the one the case's first event recorded (so a
   changed diagram is caught by the chain);
3. a replay of every event on those files, which must reproduce every recorded state digest.

The first event that fails is named. Then ``bundle_digest`` (a hash of the rest of the file)
catches an edit to the parts no event covers (the calendar, the material list, the case summary);
it is a checksum, not a signature: the chain, and anchors for the chain heads, are what an editor
cannot forge.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import specs as specs_mod
from .calendar_store import load_calendar
from .errors import DeadlinePastCalendar, InvalidData
from .history import ChainHead, EventView, verify_events
from .replay import Replayer
from .store import Bundle, HistoryEvent, Instance, ProcessVersion
from .texts import canonical_json, sha256

FORMAT = "shanyu-evidence/1"
MATERIAL_ID = re.compile(r"^m-[0-9a-f]{8,64}$")


def _materials(value: Any, found: set[str]) -> None:
    if isinstance(value, str):
        if MATERIAL_ID.match(value):
            found.add(value)
    elif isinstance(value, dict):
        for item in value.values():
            _materials(item, found)
    elif isinstance(value, list):
        for item in value:
            _materials(item, found)


def _calendar(session: Session, first: str, last: str) -> dict[str, str]:
    """Per year the case ran in, a string with one character per day: 1 a working day, 0 a rest day."""
    cal = load_calendar(session)
    years: dict[str, str] = {}
    for year in range(int(first[:4]), int(last[:4]) + 1):
        try:
            days = []
            day = date(year, 1, 1).toordinal()
            while date.fromordinal(day).year == year:
                days.append("1" if cal.is_workday(date.fromordinal(day)) else "0")
                day += 1
        except DeadlinePastCalendar:
            continue
        years[str(year)] = "".join(days)
    return years


def export_case(session: Session, instance_id: int, *, now: datetime, exported_by: str) -> dict[str, Any]:
    """The evidence bundle of one case, as a JSON-ready dict (see the module doc)."""
    instance = session.get(Instance, instance_id)
    if instance is None:
        from .errors import NotFound

        raise NotFound(f"Case {instance_id} does not exist.", instance_id=instance_id)
    version = session.get(ProcessVersion, instance.process_version_id)
    assert version is not None
    files = session.execute(select(Bundle.files).where(Bundle.content_hash == version.bundle_hash)).scalar_one()
    rows = session.execute(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
                           .order_by(HistoryEvent.seq)).scalars().all()
    events: list[dict[str, Any]] = [{"seq": e.seq, "type": e.type, "at": e.at, "actor": e.actor, "payload": e.payload,
               "state_digest": e.state_digest, "prev_hash": e.prev_hash, "hash": e.hash} for e in rows]
    materials: set[str] = set()
    for e in rows:
        _materials(json.loads(e.payload), materials)
    body = {
        "format": FORMAT,
        "case": {"id": instance.id, "process_id": instance.process_id, "district": instance.district,
                 "cycle_id": instance.cycle_id, "status": instance.status},
        "process_version": {"process_id": version.process_id, "version": version.version, "name": version.name,
                            "content_hash": version.bundle_hash, "files": json.loads(files)},
        "events": events,
        "head": {"event_count": instance.event_count, "head_hash": instance.head_hash},
        "materials": [{"id": m} for m in sorted(materials)],
        "calendar": _calendar(session, events[0]["at"], events[-1]["at"]) if events else {},
        "exported_at": now.isoformat(),
        "exported_by": exported_by,
    }
    return {**body, "bundle_digest": sha256(canonical_json(body))}


@dataclass
class BundleCheck:
    ok: bool
    instance_id: int | None
    events: int
    first_bad_event: int | None = None
    reason: str = ""
    replayed: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "instance_id": self.instance_id, "events": self.events,
                "first_bad_event": self.first_bad_event, "reason": self.reason, "replayed": self.replayed}


def read_bundle(text: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InvalidData(f"This is not an evidence bundle: not JSON ({exc}).") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InvalidData(f"This is not an evidence bundle of format {FORMAT}.")
    return doc


def check_bundle(doc: dict[str, Any], engine: Any) -> BundleCheck:
    """Verify a bundle without a database (see the module doc); ``engine`` only lends its script
    engine to the replay."""
    try:
        case_id = int(doc["case"]["id"])
        events = doc["events"]
        head = ChainHead(int(doc["head"]["event_count"]), str(doc["head"]["head_hash"]))
        pv = doc["process_version"]
        body = {k: v for k, v in doc.items() if k != "bundle_digest"}
    except (KeyError, TypeError, ValueError) as exc:
        return BundleCheck(False, None, 0, None, f"the bundle is incomplete: {exc!r}")
    count = len(events)
    chain = verify_events(case_id, head, [(e["seq"], e["type"], e["at"], e["actor"], e["payload"], e["state_digest"],
                                            e["prev_hash"], e["hash"]) for e in events])
    if not chain.ok:
        return BundleCheck(False, case_id, count, chain.broken_seq, chain.reason)
    views = [EventView(e["seq"], e["type"], e["at"], e["actor"], json.loads(e["payload"]), e["state_digest"], e["hash"])
             for e in events]
    if not views:
        return BundleCheck(False, case_id, 0, None, "the bundle holds no events")
    try:
        bundle = specs_mod.bundle_from_files({str(name): str(text) for name, text in pv["files"]})
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a failed check
        return BundleCheck(False, case_id, count, 1, f"the process files cannot be read: {exc}")
    recorded = views[0].payload.get("content_hash")
    if bundle.content_hash != recorded:
        return BundleCheck(False, case_id, count, 1, "the process files are not those the case started on: their "
                                                     f"content hash {bundle.content_hash[:12]}… differs from the "
                                                     f"{str(recorded)[:12]}… event 1 recorded")
    specs = specs_mod.load_specs(bundle, str(pv["process_id"]))
    replayer = Replayer(None, engine, case_id, views[0], specs=specs)
    for view in views:
        step = replayer.advance(view)
        if not step.ok:
            return BundleCheck(False, case_id, count, view.seq, f"replay differs at event {view.seq} "
                                                                f"({view.type}): {step.note}", view.seq - 1)
    if sha256(canonical_json(body)) != doc.get("bundle_digest"):
        return BundleCheck(False, case_id, count, None, "the bundle was edited after export outside its events "
                                                        "(its calendar, materials or case summary): its digest does "
                                                        "not match its content", count)
    return BundleCheck(True, case_id, count, replayed=count)
