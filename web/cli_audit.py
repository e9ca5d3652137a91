"""``shanyu history export`` and ``shanyu history check-bundle``: a case's evidence bundle, and
its verification on a machine with no database (``workflow.evidence``)."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from workflow.errors import InvalidData


def cmd_history_export(ctx: Any) -> None:
    from workflow.evidence import export_case

    out = Path(ctx.args.out)
    with ctx.db.read() as session:
        actor = ctx.actor(session)
        bundle = export_case(session, ctx.args.instance, now=ctx.clock.now(), exported_by=actor.name)
    text = json.dumps(bundle, ensure_ascii=False, indent=1, sort_keys=True)
    try:
        tmp = out.with_name(out.name + ".part")
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, out)
    except OSError as exc:
        raise InvalidData(f"Cannot write {out}: {exc.strerror or exc}. Nothing was written.") from exc
    summary = {"instance_id": ctx.args.instance, "file": str(out), "events": len(bundle["events"]),
               "bytes": len(text.encode()) + 1, "bundle_digest": bundle["bundle_digest"]}
    ctx.out(summary, f"Case {ctx.args.instance}: {summary['events']} events, the process version's "
                     f"{len(bundle['process_version']['files'])} files and "
                     f"{len(bundle['calendar'])} calendar year(s) written to {out} ({summary['bytes']:,} bytes).")


def cmd_history_check_bundle(ctx: Any) -> None:
    from workflow.evidence import check_bundle, read_bundle

    path = Path(ctx.args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidData(f"Cannot read {path}: {exc}.") from exc
    result = check_bundle(read_bundle(text), ctx.engine)
    ctx.out(result.to_dict(), (f"case {result.instance_id}: {result.events} events: chain intact, process files "
                               "as recorded, replay reproduces every recorded state") if result.ok else
            f"case {result.instance_id}: FAILED at event {result.first_bad_event}: {result.reason}")
    if not result.ok:
        raise SystemExit(1)


def cmd_history_anchor(ctx: Any) -> None:
    from workflow import anchors

    key = anchors.load_key()
    now = ctx.clock.now()
    with ctx.db.write() as session:
        actor = ctx.actor(session)
        doc = anchors.make_anchor(session, now=now, created_by=actor.name, key=key)
    folder = Path(ctx.args.out).parent if ctx.args.out else anchors.anchor_dir()
    path = anchors.write_anchor(doc, folder, now)
    if ctx.args.out:
        os.replace(path, ctx.args.out)
        path = Path(ctx.args.out)
    cases = json.loads(doc["statement"])["cases"]
    ctx.out({"file": str(path), "cases": cases, "public_key": doc["public_key"]},
            f"Anchored the chain heads of {cases} case(s), signed with key {doc['public_key'][:16]}…: {path}")


def check_anchor_file(ctx: Any, session: Any, file: str) -> Any:
    """``history verify --anchor FILE``: the anchor's signature (by this installation's key when it
    has one) and every anchored head."""
    from workflow import anchors

    path = Path(file)
    try:
        doc = anchors.read_anchor(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidData(f"Cannot read {path}: {exc}.") from exc
    trusted = anchors.public_hex(anchors.load_key(create=False)) if anchors.key_path().exists() else None
    return anchors.check_anchor(session, doc, trusted=trusted)


def cmd_history_system(ctx: Any) -> None:
    from workflow import journal
    from workflow.clock import SHANGHAI

    with ctx.db.read() as session:
        found = journal.events(session, limit=ctx.args.limit)
        chain = journal.verify(session)
    events = [e.to_dict() for e in found]

    def line(e: Any) -> str:
        at = datetime.fromisoformat(e.at).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S%z")
        details = ", ".join(f"{k}={v}" for k, v in sorted(e.payload.items()))
        return f"#{e.seq:<5} {at}  {e.actor:<12} {e.type:<18} {details}"

    ctx.out({"events": events, "verified": chain.to_dict()}, lambda: "\n".join(
        [line(e) for e in found] + ["journal chain intact" if chain.ok else
                                    f"JOURNAL BROKEN at event {chain.broken_seq}: {chain.reason}"]))
    if not chain.ok:
        raise SystemExit(1)
