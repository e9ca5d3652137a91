"""The staff's inbox and task pages.

``/``: the tasks of my roles in my district (held by anyone or nobody), the tasks I hold, the
tasks I completed; filters, sort, pages. ``/tasks/N``: what the diagram says to do, the case's key
data, the form (from the task's JSON Schema), drafts, claim / release / complete. Every change
goes through the engine in one write transaction; a refused change saves nothing and keeps what
the user typed on the page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from handlers.notices import publication_status
from web import formview
from web.clauses import split_mark
from web.filters import screened
from workflow import forms, materials
from workflow.calendar_store import load_calendar
from workflow.clock import SHANGHAI
from workflow.districts import DISTRICTS
from workflow.drafts import discard_drafts, load_draft, save_draft
from workflow.engine import Engine
from workflow.errors import DeadlinePastCalendar, InvalidData, ShanyuError
from workflow.inbox import InboxFilter, cycles, inbox_count, inbox_page, may_see_task
from workflow.store import Bundle, DataBlob, HumanTask, Instance, ProcessVersion, TaskRow
from workflow.taskview import TaskView
from workflow.users import AUDITOR, Actor, list_users

bp = Blueprint("inbox", __name__)

# a headline per error code, in the page's language; the engine's own message follows it
HEADLINES = {
    "task_already_claimed": _l("该任务已被他人领取。"),
    "task_not_claimed": _l("请先领取该任务。"),
    "task_not_ready": _l("该任务已不再待办（可能已被办结或撤回）。"),
    "permission_denied": _l("您无权执行此操作。"),
    "concurrent_modification": _l("案件刚被他人修改，请刷新后重试。"),
    "invalid_data": _l("表单内容有误，请按提示修改。未保存任何内容。"),
    "deadline_past_calendar": _l("工作日历缺少所需年份，请联系管理员导入。"),
    "workflow_failed": _l("流程无法继续，未保存任何内容。"),
}


def _services() -> tuple[Any, Engine]:
    ext = current_app.extensions["shanyu"]
    return ext["db"], ext["engine"]


def _actor() -> Actor:
    actor: Actor = current_user.actor
    return actor


def _headline(exc: ShanyuError) -> str:
    return str(HEADLINES.get(exc.code) or _("操作未能完成，未保存任何内容。"))


@dataclass
class Due:
    """A due time as the inbox shows it: the date, and working days left or overdue; for a task
    that is closed, whether it was completed on time (never measured against today)."""

    at: datetime | None
    days: int | None  # working days from today (a closed task: from its completion) to the due date; negative: late
    overdue: bool  # past due now; a completed task: completed after its due time
    unknown_year: bool = False
    closed: str = ""  # "", "completed" or "cancelled"


def due_of(session: Session, at: datetime | None, now: datetime, *, state: str = "ready",
           completed_at: datetime | None = None) -> Due:
    """``at`` as seen on ``now`` for an open task; for a completed one, as seen when it was
    completed (on time, or late by so many working days); for a cancelled one, just the date."""
    if at is None:
        return Due(None, None, False)
    closed = "" if state == "ready" else "completed" if state == "completed" else "cancelled"
    if closed == "cancelled" or closed == "completed" and completed_at is None:
        return Due(at, None, False, closed=closed)
    seen = completed_at if closed == "completed" and completed_at is not None else now
    overdue = at < seen
    try:
        days = load_calendar(session).workdays_between(seen.astimezone(SHANGHAI).date(),
                                                       at.astimezone(SHANGHAI).date())
    except DeadlinePastCalendar:
        return Due(at, None, overdue, unknown_year=True, closed=closed)
    return Due(at, days, overdue, closed=closed)


def shown_count(count: int, more: bool) -> str:
    """A tab's count as shown: counting stops at ``COUNT_CAP`` ("10,000+")."""
    return f"{count:,}+" if more else str(count)


def _filter_from(args: Any) -> InboxFilter:
    def number(name: str, default: int) -> int:
        try:
            return int(args.get(name, default))
        except (TypeError, ValueError):
            return default

    tab = args.get("tab", "open")
    sort = args.get("sort", "due")
    try:
        return InboxFilter(tab=tab if tab in ("open", "mine", "done") else "open",
                           cycle=str(args.get("cycle", ""))[:100] or None,
                           district=(args.get("district") or None), process_id=(args.get("process") or None),
                           overdue=args.get("overdue") == "1", sort=sort if sort in ("due", "oldest", "newest") else "due",
                           page=min(max(number("page", 1), 1), 100_000))
    except InvalidData:
        return InboxFilter()


@bp.get("/")
@login_required
def index() -> str:
    db, _engine = _services()
    actor = _actor()
    with db.read() as session:
        processes = sorted(set(session.execute(select(ProcessVersion.process_id, ProcessVersion.name)).all()))
        cycle_ids = cycles(session)
        args, notes = screened(request.args, {
            "cycle": (_("创建周期"), cycle_ids), "process": (_("流程"), {pid for pid, _name in processes}),
            # a district user's list is their district's: the page offers them no other
            "district": (_("区"), {actor.district} if actor.district else DISTRICTS)})
        flt = _filter_from(args)
        page = inbox_page(session, actor, flt, now=g.now)
        counts = {tab: shown_count(*inbox_count(session, actor, InboxFilter(tab=tab), now=g.now))
                  for tab in ("open", "mine", "done")}
        dues = {t.id: due_of(session, t.due_at, g.now, state=t.state, completed_at=t.completed_at)
                for t in page.tasks}
    names: dict[str, str] = {}
    for pid, name in processes:
        names[pid] = name or pid
    return render_template("inbox.html", page=page, total=shown_count(page.total, page.more), flt=flt, counts=counts,
                           dues=dues, process_names=names, args=args, is_auditor=AUDITOR in actor.roles,
                           cycles=cycle_ids, notes=notes)


def _task_or_404(session: Session, task_id: int, actor: Actor) -> TaskView:
    row = session.execute(select(HumanTask).where(HumanTask.id == task_id)).scalar_one_or_none()
    if row is None:
        abort(404)
    task = TaskView.of(row)
    if not may_see_task(actor, task):
        abort(404)  # not "forbidden": whether the task exists is not for this user to learn
    return task


def task_data(session: Session, task: TaskView) -> dict[str, Any]:
    body = session.execute(
        select(DataBlob.body).join(TaskRow, TaskRow.data_hash == DataBlob.hash)
        .where(TaskRow.instance_id == task.instance_id, TaskRow.task_id == task.task_id)).scalar_one_or_none()
    data = json.loads(body) if body else {}
    return data if isinstance(data, dict) else {}


def _task_spec(engine: Engine, session: Session, version_id: int, bpmn_id: str) -> Any:
    spec, subprocess_specs = engine.cases.specs_for(session, version_id)
    for candidate in (spec, *subprocess_specs.values()):
        task_spec = candidate.task_specs.get(bpmn_id)
        if task_spec is not None:
            return task_spec
    return None


def instructions_of(engine: Engine, session: Session, version_id: int, bpmn_id: str) -> str:
    """The diagram's documentation of the task (its clause mark first)."""
    return str(getattr(_task_spec(engine, session, version_id, bpmn_id), "documentation", None) or "")


def guidance_of(engine: Engine, session: Session, version_id: int, bpmn_id: str) -> str:
    """What the diagram tells the person doing the task (``spiffworkflow:instructionsForEndUser``)."""
    extensions = getattr(_task_spec(engine, session, version_id, bpmn_id), "extensions", None) or {}
    return str(extensions.get("instructionsForEndUser") or "")


def _page(task_id: int, *, values: dict[str, Any] | None = None, errors: dict[str, list[str]] | None = None,
          general: list[str] | None = None, status: int = 200) -> tuple[str, int]:
    db, engine = _services()
    actor = _actor()
    with db.read() as session:
        task = _task_or_404(session, task_id, actor)
        instance = session.get(Instance, task.instance_id)
        assert instance is not None
        version = session.get(ProcessVersion, instance.process_version_id)
        data = task_data(session, task)
        schema = engine.cases.forms_for(session, instance.process_version_id).get(task.form or "") if task.form else None
        fields = formview.fields_of(schema, data) if schema else []
        draft = load_draft(session, task, actor)
        due = due_of(session, task.due_at, g.now, state=task.state, completed_at=task.completed_at)
        instructions = instructions_of(engine, session, instance.process_version_id, task.bpmn_id)
        guidance = guidance_of(engine, session, instance.process_version_id, task.bpmn_id)
        candidates = [u for u in list_users(session) if actor.is_admin and task.state == "ready" and not u.disabled
                      and u.name != task.claimed_by and AUDITOR not in u.roles
                      and Actor(u.name, frozenset(u.roles), u.district).may_work_on(task.role, task.district)]
        candidates.sort(key=lambda u: ("admin" in u.roles, u.name))  # the task's own people first
    shown = values
    if shown is None:
        shown = dict(draft[0]) if draft else {}
    field_values = {f.key: formview.display_value(f, shown.get(f.key)) for f in fields}
    files = _materials_of(fields, field_values, actor)
    holder = task.claimed_by == actor.name and task.state == "ready"
    may_claim = (task.state == "ready" and task.claimed_by is None and actor.may_work_on(task.role, task.district)
                 and AUDITOR not in actor.roles)
    clauses, instructions = split_mark(instructions)
    return render_template(
        "task.html", clauses=clauses, task=task, instance=instance, version=version, data=data, schema=schema, fields=fields,
        values=field_values, files=files, max_mb=materials.max_bytes() // (1024 * 1024), errors=errors or {}, general=general or [], draft=draft, due=due,
        instructions=instructions, guidance=guidance, holder=holder, may_claim=may_claim, candidates=candidates,
        may_release=task.state == "ready" and task.claimed_by is not None
        and (task.claimed_by == actor.name or actor.is_admin),
        cycle=data.get("cycle_name") or data.get("cycle_id"),
        publication=publication_status(data, g.now.astimezone(SHANGHAI).date()),
    ), status


@bp.get("/tasks/<int:task_id>")
@login_required
def task_page(task_id: int) -> tuple[str, int]:
    return _page(task_id)


def _materials_of(fields: list[formview.FormField], values: dict[str, Any], actor: Actor) -> dict[str, list[Any]]:
    """For each upload field, the materials its value names, as the page lists them (a name that
    is no material the user may see is listed as not found, never dropped)."""
    wanted = {f.key: ([values[f.key]] if f.kind == "upload" and values[f.key] else
                      list(values[f.key]) if f.kind == "uploads" else [])
              for f in fields if f.kind in ("upload", "uploads")}
    if not any(wanted.values()):
        return {key: [] for key in wanted}
    db, _engine = _services()
    found: dict[str, list[Any]] = {}
    with db.read() as session:
        for key, ids in wanted.items():
            found[key] = []
            for material_id in ids:
                try:
                    found[key].append(materials.get(session, str(material_id), actor))
                except ShanyuError:
                    found[key].append(str(material_id))
    return found


def _store_uploads(task: TaskView, fields: list[formview.FormField], data: dict[str, Any],
                   typed: dict[str, Any]) -> dict[str, list[str]]:
    """Store the files posted for upload fields (each a whole material, in its own transaction,
    so that a later refusal of the form keeps them) and put their ids into ``data`` and
    ``typed``; the ids ticked for removal go. Returns the messages of files that were refused."""
    db, _engine = _services()
    actor = _actor()
    errors: dict[str, list[str]] = {}
    for f in fields:
        if f.kind not in ("upload", "uploads"):
            continue
        removed = set(request.form.getlist(f"rm.{f.key}"))
        current = data.get(f.key)
        ids = ([current] if isinstance(current, str) else list(current or [])) if current else []
        ids = [i for i in ids if i not in removed]
        for upload in request.files.getlist(f"u.{f.key}"):
            if not upload or not upload.filename:
                continue
            body = upload.read(materials.max_bytes() + 1)
            try:
                with db.write() as session:
                    material_id = materials.add(session, task.instance_id, body, upload.filename, actor, g.now)
            except ShanyuError as exc:
                errors.setdefault(f.key, []).append(exc.message)
                continue
            if f.kind == "upload":
                ids = [material_id]
            elif material_id not in ids:
                ids.append(material_id)
        if f.kind == "upload":
            value: Any = ids[-1] if ids else None
        else:
            value = ids
        for target in (data, typed):
            if value in (None, []) and f.kind == "upload":
                target.pop(f.key, None)
            elif value == [] and not f.required:
                target.pop(f.key, None)
            else:
                target[f.key] = value
    return errors


@bp.get("/materials/<material_id>")
@login_required
def material(material_id: str) -> Response:
    """A material's bytes, for users who may see its case: PDFs and images shown in the page,
    anything else downloaded; never interpreted by the browser as something else."""
    db, _engine = _services()
    try:
        with db.read() as session:
            info, body = materials.read(session, material_id, _actor())
    except ShanyuError:
        abort(404)
    inline = info.media_type in ("application/pdf", "image/png", "image/jpeg")
    disposition = "inline" if inline else "attachment"
    return Response(body, mimetype=info.media_type.split(";")[0], headers={
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(info.filename)}",
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox",
        "Cache-Control": "private, max-age=3600"})


def diagram_of(session: Session, version_id: int, element_id: str) -> str | None:
    """The BPMN file of a process version that draws ``element_id`` (a task of the process, or of
    one of its subprocesses or call activities)."""
    files = session.execute(select(Bundle.files).join(ProcessVersion, ProcessVersion.bundle_hash == Bundle.content_hash)
                            .where(ProcessVersion.id == version_id)).scalar_one()
    marker = f'id="{element_id}"'
    for name, text in json.loads(files):
        if str(name).lower().endswith(".bpmn") and marker in text:
            return str(text)
    return None


@bp.get("/tasks/<int:task_id>/diagram.bpmn")
@login_required
def task_diagram(task_id: int) -> Response:
    """The diagram the task's case runs on (its pinned version), for the page's viewer."""
    db, _engine = _services()
    with db.read() as session:
        task = _task_or_404(session, task_id, _actor())
        instance = session.get(Instance, task.instance_id)
        assert instance is not None
        text = diagram_of(session, instance.process_version_id, task.bpmn_id)
    if text is None:
        abort(404)
    return Response(text, mimetype="application/xml", headers={"Cache-Control": "private, max-age=3600"})


def _act(task_id: int, verb: str) -> Response:
    db, engine = _services()
    actor = _actor()
    try:
        with db.write() as session:
            _task_or_404(session, task_id, actor)
            if verb == "claim":
                engine.claim(session, task_id, actor=actor, now=g.now)
            else:
                engine.release(session, task_id, actor=actor, now=g.now)
    except ShanyuError as exc:
        flash(f"{_headline(exc)} {exc.message}", "error")
        return redirect(url_for("inbox.task_page", task_id=task_id))
    if verb == "claim":
        flash(_("已领取，请填写并提交。"), "success")
        return redirect(url_for("inbox.task_page", task_id=task_id))
    flash(_("已退回，任务回到待领取状态。"), "success")
    return redirect(url_for("inbox.index"))


@bp.post("/tasks/<int:task_id>/claim")
@login_required
def claim(task_id: int) -> Response:
    return _act(task_id, "claim")


@bp.post("/tasks/<int:task_id>/release")
@login_required
def release(task_id: int) -> Response:
    return _act(task_id, "release")


@bp.post("/tasks/<int:task_id>")
@login_required
def submit(task_id: int) -> Response | tuple[str, int]:
    """Save a draft (``action=draft``) or complete (``action=complete``) with the posted form."""
    db, engine = _services()
    actor = _actor()
    action = request.form.get("action", "complete")
    with db.read() as session:
        task = _task_or_404(session, task_id, actor)
        instance = session.get(Instance, task.instance_id)
        assert instance is not None
        schema = engine.cases.forms_for(session, instance.process_version_id).get(task.form or "") if task.form else None
        fields = formview.fields_of(schema, task_data(session, task)) if schema else []
    data, unreadable = formview.read_post(fields, request.form)
    typed = {**data, **{k: request.form.get(f"f.{k}", "") for k in unreadable}}
    upload_errors = _store_uploads(task, fields, data, typed)
    if upload_errors:
        return _page(task_id, values=typed, errors=upload_errors,
                     general=[_("上传的文件未能保存，请按提示处理。其他内容尚未提交。")], status=422)
    if action == "draft":
        try:  # a draft keeps what was typed, readable or not, and is not validated
            with db.write() as session:
                save_draft(session, task, typed, actor=actor, now=g.now)
        except ShanyuError as exc:
            flash(f"{_headline(exc)} {exc.message}", "error")
            return redirect(url_for("inbox.task_page", task_id=task_id))
        flash(_("草稿已保存（未提交，仅您本人可见）。"), "success")
        return redirect(url_for("inbox.task_page", task_id=task_id))
    if unreadable:
        # what could not be read is reported with everything the form's rules say about the rest
        problems: list[Any] = []
        if schema is not None:
            try:
                forms.validate(schema, data, form=task.form or "")
            except InvalidData as exc:
                problems = [p for p in exc.details.get("errors") or []
                            if str(p.get("field") or "").split("/", 1)[0] not in unreadable]
        by_field, general = formview.field_messages(problems, fields, data)
        for key, message in unreadable.items():
            by_field[key] = [message]
        return _page(task_id, values=typed, errors=by_field, general=[str(HEADLINES["invalid_data"]), *general],
                     status=422)
    try:
        with db.write() as session:
            engine.complete(session, task_id, data, actor=actor, now=g.now)
            discard_drafts(session, task_id)
    except InvalidData as exc:
        by_field, general = formview.field_messages(exc.details.get("errors") or [], fields, data)
        if not by_field and not general:
            general = [exc.message]
        return _page(task_id, values=typed, errors=by_field, general=[str(HEADLINES["invalid_data"]), *general],
                     status=422)
    except ShanyuError as exc:
        return _page(task_id, values=typed, general=[_headline(exc), exc.message], status=exc.http_status)
    flash(_("已提交：%(name)s", name=task.name), "success")
    return redirect(url_for("inbox.index"))
