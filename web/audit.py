"""The auditors' workbench (roles auditor and admin; read-only, every district).

``/audit``: find cases by cycle, district, process, date, actor and event type. ``/audit/cases/N``:
the case's verification (chain, live state, replay, the newest anchor), its timeline (who did what
when, with the data submitted), and a slider that replays the case on its diagram: completed,
active and not-taken elements at the chosen event. ``/audit/cases/N/bundle.json`` downloads the
case's evidence bundle (``shanyu history check-bundle`` verifies it offline).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import wraps
from typing import Any

from flask import Blueprint, Response, abort, current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from web.clauses import split_mark
from web.filters import screened
from web.inbox import diagram_of
from workflow import anchors, integrity
from workflow.clock import SHANGHAI, iso
from workflow.districts import DISTRICTS
from workflow.evidence import export_case
from workflow.history import list_events, verify_instance
from workflow.inbox import cycles
from workflow.paths import all_workflows
from workflow.replay import replay
from workflow.store import Anchor, HistoryEvent, Instance, ProcessVersion
from workflow.users import AUDITOR

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE = 50
EVENT_TYPES = {
    "instance_started": _l("案件开始"), "task_claimed": _l("领取任务"), "task_released": _l("退回任务"),
    "task_reassigned": _l("改派任务"), "task_completed": _l("办结任务"), "timer_fired": _l("期限到达"),
    "message_delivered": _l("收到消息"),
}


def auditors_only(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    @login_required
    def guarded(*args: Any, **kwargs: Any) -> Any:
        actor = current_user.actor
        if not (actor.is_admin or AUDITOR in actor.roles):
            abort(403)
        return view(*args, **kwargs)

    return guarded


def _db() -> Any:
    return current_app.extensions["shanyu"]["db"]


@bp.get("")
@auditors_only
def search() -> str:
    instance = Instance.__table__
    with _db().read() as s:
        names = dict(s.execute(select(ProcessVersion.process_id, ProcessVersion.name)).all())
        cycle_ids = cycles(s)
        args, notes = screened(request.args, {
            "cycle": (_("创建周期"), cycle_ids), "district": (_("区"), DISTRICTS), "process": (_("流程"), names),
            "type": (_("事件"), EVENT_TYPES)}, {"from": _("自"), "to": _("至")})
        conditions: list[Any] = []
        if args.get("cycle"):
            conditions.append(Instance.cycle_id == args["cycle"])
        if args.get("district"):
            conditions.append(Instance.district == args["district"])
        if args.get("process"):
            conditions.append(Instance.process_id == args["process"])
        event_conditions: list[Any] = []
        if args.get("actor"):
            event_conditions.append(HistoryEvent.actor == args["actor"].strip())
        if args.get("type"):
            event_conditions.append(HistoryEvent.type == args["type"])
        start, end = args.get("from"), args.get("to")  # dates, or None: ``screened`` read them
        if start:  # event times are stored in UTC ISO text; a Shanghai day starts 8 hours earlier in UTC
            event_conditions.append(HistoryEvent.at >= _utc_text(start))
        if end:
            event_conditions.append(HistoryEvent.at < _utc_text(end + timedelta(days=1)))
        if event_conditions:
            conditions.append(exists().where(HistoryEvent.instance_id == instance.c.id, *event_conditions))
        try:
            page = max(1, min(int(args.get("page", 1)), 100_000))
        except ValueError:
            page = 1
        total = s.execute(select(func.count()).select_from(Instance).where(*conditions)).scalar_one()
        found = s.execute(select(Instance).where(*conditions).order_by(Instance.id.desc())
                          .limit(PAGE).offset((page - 1) * PAGE)).scalars().all()
    return render_template("audit_search.html", cases=found, total=total, page=page,
                           pages=max(1, -(-total // PAGE)), args=args, names=names, cycles=cycle_ids,
                           event_types=EVENT_TYPES, notes=notes)


def _utc_text(day: date) -> str:
    """The start of a Shanghai day as events store times (``workflow.clock.iso``), for comparing."""
    return iso(datetime.combine(day, time(0, 0), tzinfo=SHANGHAI))


def _case_or_404(s: Session, instance_id: int) -> Instance:
    found = s.get(Instance, instance_id)
    if found is None:
        abort(404)
    return found


def verification(s: Session, instance_id: int) -> dict[str, Any]:
    """The four checks an auditor's badge shows, each ok / failed with its reason."""
    engine = current_app.extensions["shanyu"]["engine"]
    chain = verify_instance(s, instance_id)
    live = integrity.check_case(s, engine.cases, instance_id) if chain.ok else None
    replayed = replay(s, engine, instance_id)
    bad = replayed.first_mismatch
    newest = s.execute(select(Anchor).order_by(Anchor.id.desc()).limit(1)).scalar_one_or_none()
    anchor: dict[str, Any] = {"ok": None, "reason": _("尚无锚定记录")}
    if newest is not None:
        statement = json.loads(newest.statement)
        mine = [h for h in statement["heads"] if h[0] == instance_id]
        if not mine:
            anchor = {"ok": None, "reason": _("案件晚于最近一次锚定（%(at)s）", at=_shanghai_text(statement["at"])[:16])}
        else:
            doc = {"statement": newest.statement, "signature": newest.signature, "public_key": newest.public_key}
            result = anchors.check_anchor(s, {**doc})
            problems = [p for p in result.problems if p["instance_id"] in (None, instance_id)]
            anchor = {"ok": not problems, "reason": problems[0]["reason"] if problems else
                      _("与 %(at)s 的锚定一致", at=_shanghai_text(statement["at"])[:16])}
    return {
        "chain": {"ok": chain.ok, "reason": chain.reason or _("%(n)s 个事件，链完整", n=chain.events)},
        "live": {"ok": live.ok if live else None, "reason": (live.reason if live and not live.ok else
                                                             _("现存状态与历史一致") if live else _("链已损坏，未检查"))},
        "replay": {"ok": replayed.ok, "reason": (f"event {bad.seq}: {bad.note}" if bad else
                                                  _("重放再现了每一个记录的状态"))},
        "anchor": anchor,
    }


@bp.get("/cases/<int:instance_id>")
@auditors_only
def case(instance_id: int) -> str:
    with _db().read() as s:
        instance = _case_or_404(s, instance_id)
        version = s.get(ProcessVersion, instance.process_version_id)
        events = list_events(s, instance_id)
        checks = verification(s, instance_id)
        spec, subprocess_specs = current_app.extensions["shanyu"]["engine"].cases.specs_for(
            s, instance.process_version_id)
    names, marks = {}, {}
    for candidate in (spec, *subprocess_specs.values()):
        for bpmn_id, ts in candidate.task_specs.items():
            names[bpmn_id] = str(getattr(ts, "bpmn_name", None) or bpmn_id)
            marks[bpmn_id] = split_mark(getattr(ts, "documentation", None))[0]
    return render_template("audit_case.html", instance=instance, version=version, events=events, checks=checks,
                           event_types=EVENT_TYPES, shanghai_of=_shanghai_text, names=names, marks=marks)


def _shanghai_text(at: str) -> str:
    return datetime.fromisoformat(at).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


@bp.get("/cases/<int:instance_id>/diagram.bpmn")
@auditors_only
def case_diagram(instance_id: int) -> Response:
    with _db().read() as s:
        instance = _case_or_404(s, instance_id)
        text = diagram_of(s, instance.process_version_id, instance.process_id)
    if text is None:
        abort(404)
    return Response(text, mimetype="application/xml")


@bp.get("/cases/<int:instance_id>/at/<int:seq>.json")
@auditors_only
def case_at(instance_id: int, seq: int) -> Response:
    """The case on its diagram after event ``seq``: which elements had completed, which were
    active (ready, waiting), the rest not taken (yet)."""
    engine = current_app.extensions["shanyu"]["engine"]
    with _db().read() as s:
        _case_or_404(s, instance_id)
        events = [e for e in list_events(s, instance_id) if e.seq <= seq]
        if not events:
            abort(404)
        result = replay(s, engine, instance_id, events=events)
    bad = result.first_mismatch
    if bad is not None:
        return jsonify(ok=False, seq=bad.seq, note=bad.note), 409  # type: ignore[return-value]
    assert result.case is not None
    completed, active = set(), set()
    for _key, wf in all_workflows(result.case.workflow):
        for task in wf.tasks.values():
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            if not bpmn_id:
                continue
            if task.state == TaskState.COMPLETED:
                completed.add(bpmn_id)
            elif task.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED):
                active.add(bpmn_id)
    last = events[-1]
    return jsonify(ok=True, seq=last.seq, completed=sorted(completed - active), active=sorted(active),
                   event={"seq": last.seq, "type": last.type, "type_zh": str(EVENT_TYPES.get(last.type, last.type)),
                          "at": _shanghai_text(last.at), "actor": last.actor,
                          "bpmn_id": last.payload.get("bpmn_id")})


@bp.get("/cases/<int:instance_id>/bundle.json")
@auditors_only
def bundle(instance_id: int) -> Response:
    with _db().read() as s:
        _case_or_404(s, instance_id)
        doc = export_case(s, instance_id, now=g.now, exported_by=current_user.actor.name)
    text = json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    return Response(text, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="shanyu-case-{instance_id}-evidence.json"'})


@bp.get("/system")
@auditors_only
def system() -> str:
    """The system journal: deployments, calendar imports, user and lane changes, migrations, anchors."""
    from workflow import journal

    with _db().read() as s:
        found = journal.events(s, limit=500)
        chain = journal.verify(s)
    return render_template("audit_system.html", events=found, chain=chain, shanghai_of=_shanghai_text)
