"""Anchors: signed statements of every case's chain head at one moment.

A hash chain shows that no event was changed *unless the whole chain was computed again*: someone
with write access to the database can rewrite a case's history from its first event and re-hash
everything after it, and ``history verify`` would find the new chain intact. An anchor closes that
gap. It lists, for every case, the number of events and the hash of the newest one, and is signed
with an Ed25519 key the organisation keeps apart from the database. Once an anchor has left the
building (published, or handed to an outside party), a rewritten history no longer has the heads
the anchor recorded: ``history verify --anchor FILE`` names every such case.

The key lives in a PEM file (``SHANYU_ANCHOR_KEY``, default ``instance/anchor_key.pem``), created
with owner-only permissions on first use. Each anchor is stored in the database and written as a
JSON file (``{"statement", "signature", "public_key"}``); the scheduler writes one a day
(``SHANYU_ANCHOR_DIR``, default ``instance/anchors``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import journal
from .canonical import canonical_json, sha256
from .clock import iso
from .errors import InvalidData
from .store import Anchor, HistoryEvent, Instance

FORMAT = "shanyu-anchor/1"
KEY_ENV, DIR_ENV = "SHANYU_ANCHOR_KEY", "SHANYU_ANCHOR_DIR"
DAILY = timedelta(days=1)


def key_path() -> Path:
    return Path(os.environ.get(KEY_ENV) or Path("instance") / "anchor_key.pem")


def anchor_dir() -> Path:
    return Path(os.environ.get(DIR_ENV) or Path("instance") / "anchors")


def load_key(path: Path | None = None, *, create: bool = True) -> Ed25519PrivateKey:
    """The signing key in ``path``; a new one is created there (mode 600) if there is none."""
    path = path or key_path()
    if path.exists():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise InvalidData(f"The anchor key {path} cannot be read as a PEM private key: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise InvalidData(f"The anchor key {path} is not an Ed25519 key.")
        return key
    if not create:
        raise InvalidData(f"There is no anchor key at {path}.")
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return key


def public_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def heads(session: Session) -> list[list[Any]]:
    """Every case's chain head as [case id, number of events, hash of the newest event]."""
    rows = session.execute(select(Instance.id, Instance.event_count, Instance.head_hash).order_by(Instance.id))
    return [[iid, count, head] for iid, count, head in rows]


def make_anchor(session: Session, *, now: datetime, created_by: str, key: Ed25519PrivateKey) -> dict[str, Any]:
    """Sign the heads of every case as of ``now``; store the anchor and return its file form."""
    found = heads(session)
    statement = canonical_json({"format": FORMAT, "at": iso(now), "cases": len(found), "heads": found})
    signature = key.sign(statement.encode()).hex()
    public = public_hex(key)
    session.add(Anchor(at=now, statement=statement, signature=signature, public_key=public, case_count=len(found),
                       created_by=created_by))
    session.flush()
    journal.record(session, "anchor_made", actor=created_by, at=now,
                   payload={"cases": len(found), "public_key": public, "statement_hash": sha256(statement)})
    return {"statement": statement, "signature": signature, "public_key": public}


def write_anchor(doc: dict[str, Any], folder: Path, now: datetime) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"anchor-{now.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def latest_at(session: Session) -> datetime | None:
    found: datetime | None = session.execute(select(func.max(Anchor.at))).scalar_one_or_none()
    return found


@dataclass
class AnchorCheck:
    ok: bool
    at: str = ""
    cases: int = 0
    public_key: str = ""
    problems: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "at": self.at, "cases": self.cases, "public_key": self.public_key,
                "problems": self.problems}


def read_anchor(text: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InvalidData(f"This is not an anchor file: not JSON ({exc}).") from exc
    if not isinstance(doc, dict) or not {"statement", "signature", "public_key"} <= set(doc):
        raise InvalidData("This is not an anchor file: it needs statement, signature and public_key.")
    return doc


def check_anchor(session: Session, doc: dict[str, Any], *, trusted: str | None = None) -> AnchorCheck:
    """Verify the anchor's signature (with ``trusted``, the public key it must carry), then that
    every case it lists still has, at the anchored event, the hash the anchor recorded."""
    public = str(doc["public_key"])
    if trusted is not None and public != trusted:
        return AnchorCheck(False, public_key=public, problems=[{"instance_id": None, "reason": (
            f"the anchor was signed by key {public[:16]}…, not by this installation's key {trusted[:16]}…")}])
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public)).verify(bytes.fromhex(str(doc["signature"])),
                                                                         str(doc["statement"]).encode())
        statement = json.loads(str(doc["statement"]))
    except (InvalidSignature, ValueError) as exc:
        return AnchorCheck(False, public_key=public, problems=[{"instance_id": None, "reason": (
            f"the anchor's signature does not verify: the statement or its signature was changed ({type(exc).__name__})")}])
    if statement.get("format") != FORMAT:
        raise InvalidData(f"This anchor is not of format {FORMAT}.")
    problems = []
    for iid, count, head in statement["heads"]:
        if count == 0:
            continue
        found = session.execute(select(HistoryEvent.hash).where(HistoryEvent.instance_id == iid,
                                                                HistoryEvent.seq == count)).scalar_one_or_none()
        if found is None:
            problems.append({"instance_id": iid, "reason": f"case {iid} no longer has the event {count} the anchor of "
                                                           f"{statement['at']} recorded: events were removed"})
        elif found != head:
            problems.append({"instance_id": iid, "reason": f"case {iid}'s event {count} is not the one anchored at "
                                                           f"{statement['at']}: its history was rewritten"})
    return AnchorCheck(not problems, statement["at"], len(statement["heads"]), public, problems)
