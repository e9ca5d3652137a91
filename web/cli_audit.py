"""``shanyu history export`` and ``shanyu history check-bundle``: a case's evidence bundle, and
its verification on a machine with no database (``workflow.evidence``)."""

from __future__ import annotations

import argparse
import json
import os
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


def register_history(hist: Any, common: argparse.ArgumentParser) -> None:
    """Add ``export`` and ``check-bundle`` to ``shanyu history``."""
    p = hist.add_parser("export", parents=[common], help="write a case's evidence bundle (verifiable offline)")
    p.add_argument("instance", type=int)
    p.add_argument("--out", required=True, metavar="FILE", help="where to write the bundle (JSON)")
    p.add_argument("--as", dest="as_user", metavar="USER", help="who exports it (recorded in the bundle)")
    p.set_defaults(fn=cmd_history_export)
    p = hist.add_parser("check-bundle", parents=[common],
                        help="verify an evidence bundle without a database (exit 1 naming the first bad event)")
    p.add_argument("file")
    p.set_defaults(fn=cmd_history_check_bundle, needs_schema=False)
