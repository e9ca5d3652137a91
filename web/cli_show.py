"""``shanyu task show``, ``shanyu case show``, ``shanyu material add`` and ``shanyu material show``.

What a user may see follows ``Actor.may_act_in``: district users see only their own district's
cases (and their tasks); municipal users, auditors and admins see every case. A task or case
the user may not see is reported exactly as one that does not exist, so ids cannot be probed.
Without ``--as`` the command reads as the database administrator (every case), as ``shanyu tasks``
does. Every time shown, in text and in ``--json``, is in Asia/Shanghai (``+08:00``).

None of these needs SpiffWorkflow: a task's form is read from its version's bundle as stored.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from web.cli import Context
from web.cli_cases import task_dict, task_line
from workflow import materials
from workflow.clock import SHANGHAI, shanghai_text
from workflow.errors import InvalidData, NotFound
from workflow.registers import Outbox
from workflow.store import (
    Bundle,
    HumanTask,
    Instance,
    MessageSubscription,
    ProcessVersion,
    TaskDraft,
    Timer,
    TimerFailure,
)
from workflow.users import Actor


def _local(moment: Any) -> str | None:
    return moment.astimezone(SHANGHAI).isoformat() if moment is not None else None


def _visible_case(session: Session, instance_id: int, actor: Actor) -> Instance:
    case = session.get(Instance, instance_id)
    if case is None or not actor.may_act_in(case.district):
        raise NotFound(f"There is no case {instance_id} that user '{actor.name}' may see.", instance_id=instance_id)
    return case


# -- task show ---------------------------------------------------------------------------------
def form_schema(session: Session, instance_id: int, form: str) -> dict[str, Any]:
    """The form ``form`` of the case's pinned version, from the stored bundle (checked at deploy)."""
    files_text = session.execute(
        select(Bundle.files).join(ProcessVersion, ProcessVersion.bundle_hash == Bundle.content_hash)
        .join(Instance, Instance.process_version_id == ProcessVersion.id).where(Instance.id == instance_id)
    ).scalar_one()
    for name, text in json.loads(files_text):
        if name == form:
            schema: dict[str, Any] = json.loads(text)
            return schema
    raise NotFound(f"The form {form!r} is not in the process version of case {instance_id}.")


def _type_of(field: dict[str, Any]) -> str:
    kind = field.get("type", "any")
    kind = "/".join(kind) if isinstance(kind, list) else str(kind)
    if kind == "array" and isinstance(field.get("items"), dict):
        return f"array of {_type_of(field['items'])}"
    return kind


def _allowed(field: dict[str, Any]) -> list[Any] | None:
    for node in (field, field.get("items") if isinstance(field.get("items"), dict) else {}):
        if "enum" in node:
            return list(node["enum"])
        if "const" in node:
            return [node["const"]]
    return None


def form_fields(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """A form's top-level fields in the form's order (``x-ui.order``, then the rest)."""
    properties: dict[str, Any] = schema.get("properties") or {}
    order = [k for k in (schema.get("x-ui") or {}).get("order") or [] if k in properties]
    order += [k for k in properties if k not in order]
    required = set(schema.get("required") or [])
    widgets = (schema.get("x-ui") or {}).get("widgets") or {}
    fields = []
    for key in order:
        field = properties[key] if isinstance(properties[key], dict) else {}
        fields.append({
            "key": key, "title": field.get("title") or key, "title_en": field.get("x-title-en"),
            "type": _type_of(field), "required": key in required, "allowed": _allowed(field),
            "widget": (field.get("x-ui") or {}).get("widget") or widgets.get(key),
        })
    return fields


def cmd_task_show(ctx: Context) -> None:
    with ctx.db.read() as session:
        actor = ctx.actor(session)
        ht = session.get(HumanTask, ctx.args.task)
        if ht is None or not actor.may_act_in(ht.district):
            raise NotFound(f"There is no task {ctx.args.task} that user '{actor.name}' may see.",
                           task_id=ctx.args.task)
        schema = form_schema(session, ht.instance_id, ht.form) if ht.form else {}
        draft = None
        if getattr(ctx.args, "as_user", None):
            row = session.get(TaskDraft, (ht.id, actor.name))
            if row is not None:
                draft = {"data": json.loads(row.data), "saved_at": _local(row.saved_at)}
        result = {"task": task_dict(ht), "form": ht.form, "title": schema.get("title"),
                  "title_en": schema.get("x-title-en"), "fields": form_fields(schema), "draft": draft}
    ctx.out(result, lambda: _task_text(result))


def _task_text(result: dict[str, Any]) -> str:
    lines = [task_line(result["task"])]
    if result["form"] is None:
        lines.append("No form: complete it without data.")
    else:
        lines.append(f"Form {result['form']}: {result['title'] or ''} / {result['title_en'] or ''}")
        for f in result["fields"]:
            allowed = f"  one of {', '.join(map(str, f['allowed']))}" if f["allowed"] else ""
            lines.append(f"  {f['key']:<28} {'required' if f['required'] else 'optional':<8} {f['type']:<16} "
                         f"{f['title']} / {f['title_en'] or '-'}{allowed}")
    draft = result["draft"]
    if draft is not None:
        lines.append(f"Your draft, saved {shanghai_text(draft['saved_at'])}: "
                     f"{json.dumps(draft['data'], ensure_ascii=False)}")
    return "\n".join(lines)


# -- case show ---------------------------------------------------------------------------------
def cmd_case_show(ctx: Context) -> None:
    limit = ctx.args.notifications
    if limit < 0:
        raise InvalidData(f"--notifications must be 0 or more, not {limit}.")
    with ctx.db.read() as session:
        case = _visible_case(session, ctx.args.instance, ctx.actor(session))
        iid = case.id
        tasks = [task_dict(t) for t in session.execute(
            select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.state == "ready")
            .order_by(HumanTask.id)).scalars()]
        messages = [{"message": name, "keys": json.loads(keys)} for name, keys in session.execute(
            select(MessageSubscription.message_name, MessageSubscription.keys)
            .where(MessageSubscription.instance_id == iid).order_by(MessageSubscription.id))]
        timers = [{"bpmn_id": t.bpmn_id, "name": t.name, "due": _local(t.due_at)} for t in session.execute(
            select(Timer).where(Timer.instance_id == iid, Timer.state == "waiting")
            .order_by(Timer.due_at, Timer.id)).scalars()]
        failing = session.get(TimerFailure, iid)
        timer_failure = None if failing is None else {
            "failures": failing.failures, "first_at": _local(failing.first_at), "last_at": _local(failing.last_at),
            "error": failing.code, "message": failing.message}
        notes = [{"id": n.id, "kind": n.kind, "role": n.role, "district": n.district, "subject": n.subject,
                  "task": n.task, "created": _local(n.created_at), "sent": _local(n.sent_at)}
                 for n in session.execute(select(Outbox).where(Outbox.instance_id == iid)
                                          .order_by(Outbox.id.desc()).limit(limit)).scalars()]
        files = [{**m.to_dict(), "uploaded_at": _local(m.uploaded_at)} for m in materials.of_case(session, iid)]
        result = {"id": iid, "instance_id": iid, "process_id": case.process_id, "status": case.status,
                  "district": case.district, "started_by": case.started_by, "started_at": _local(case.started_at),
                  "updated_at": _local(case.updated_at), "tasks": tasks,
                  "waiting_for": {"messages": messages, "timers": timers}, "timer_failure": timer_failure,
                  "notifications": notes, "materials": files}
    ctx.out(result, lambda: _case_text(result))


def _case_text(r: dict[str, Any]) -> str:
    where = f"district {r['district']}" if r["district"] else "municipal"
    lines = [f"case {r['id']} {r['process_id']} ({where}) {r['status']}, started by {r['started_by']} "
             f"{shanghai_text(r['started_at'])}, last change {shanghai_text(r['updated_at'])}"]
    lines.append("Open tasks:" if r["tasks"] else "Open tasks: none")
    lines += [f"  {task_line(t)}" for t in r["tasks"]]
    waits = r["waiting_for"]
    if waits["messages"] or waits["timers"]:
        lines.append("Waiting for:")
        lines += [f"  message {m['message']} with "
                  + (", ".join(f"{k}={v}" for k, v in sorted(m["keys"].items())) or "no keys") for m in waits["messages"]]
        lines += [f"  timer {t['bpmn_id']} ({t['name']}) due {shanghai_text(t['due'])}" for t in waits["timers"]]
    failed = r["timer_failure"]
    if failed:
        lines.append(f"Timers FAILING: {failed['failures']} sweep(s) in a row since {shanghai_text(failed['first_at'])}, "
                     f"last at {shanghai_text(failed['last_at'])}: {failed['error']}: {failed['message']}")
    lines.append("Recent notifications:" if r["notifications"] else "Recent notifications: none")
    lines += [f"  #{n['id']} {shanghai_text(n['created'])} {n['kind']} → {n['role']}"
              + (f" [{n['district']}]" if n["district"] else "") + f": {n['subject']}"
              + ("" if n["sent"] else " (not sent yet)") for n in r["notifications"]]
    if r["materials"]:
        lines.append("Materials:")
        lines += [f"  {m['id']} {m['filename']} ({m['media_type']}, {m['size']} bytes) sha256 {m['sha256']} "
                  f"by {m['uploaded_by']} {shanghai_text(m['uploaded_at'])}" for m in r["materials"]]
    return "\n".join(lines)


# -- material add ------------------------------------------------------------------------------
def cmd_material_add(ctx: Context) -> None:
    """Store FILE as a material of the case; prints its id (``--json``: its whole record)."""
    path = Path(ctx.args.file)
    if not path.is_file():
        raise InvalidData(f"{path}: no such file.")
    limit = materials.max_bytes()
    size = path.stat().st_size
    if size > limit:  # refused before the file is read
        raise materials.too_large(path.name, size, limit)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidData(f"{path}: cannot be read ({exc.strerror or exc}).") from exc
    with ctx.db.write() as session:
        actor = ctx.actor(session)
        material_id = materials.add(session, ctx.args.case, data, path.name, actor, ctx.clock.now(), limit=limit)
        info = materials.get(session, material_id, actor)
    ctx.out({**info.to_dict(), "uploaded_at": _local(info.uploaded_at)}, material_id)


def cmd_material_show(ctx: Context) -> None:
    """A material's record (for users who may see its case); ``--output FILE`` also writes its bytes,
    checked against the recorded SHA-256, to a file that does not exist yet."""
    output = Path(ctx.args.output) if ctx.args.output else None
    if output is not None and output.exists():
        raise InvalidData(f"{output} exists already; give --output a new file name.")
    with ctx.db.read() as session:
        actor = ctx.actor(session)
        if output is None:
            info, body = materials.get(session, ctx.args.material, actor), b""
        else:
            info, body = materials.read(session, ctx.args.material, actor)
    if output is not None:
        if hashlib.sha256(body).hexdigest() != info.sha256:
            raise InvalidData(f"Material {info.id}: the stored bytes do not match its recorded SHA-256 {info.sha256}; "
                              "nothing was written. Report this to the database administrator.")
        try:
            with output.open("xb") as fh:
                fh.write(body)
        except OSError as exc:
            raise InvalidData(f"{output}: cannot be written ({exc.strerror or exc}).") from exc
    record = {**info.to_dict(), "uploaded_at": _local(info.uploaded_at)}
    ctx.out(record | ({"output": str(output)} if output else {}), lambda: (
        f"{info.id} {info.filename} ({info.media_type}, {info.size} bytes) sha256 {info.sha256}, case "
        f"{info.instance_id}, added by {info.uploaded_by} {shanghai_text(info.uploaded_at)}"
        + (f"; written to {output}" if output else "")))
