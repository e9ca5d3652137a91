"""Findings of 动态监测 and 督查指导 (the notice's 第六条), filed by municipal staff: ``/monitoring``.

The page lists the districts holding an active Shanghai title and takes a finding about one of
them (the notice's ground, the source, what was found). Filing it opens verification: a revocation
case whose first step, 核实情况, is in 市有关部门's inbox; the decision stays with 市级审批. The rules
(who may file, what a valid finding is) are ``workflow.monitoring``'s; the view parses the form,
calls ``file_finding`` in one write transaction, and shows the form again with a message next to
each field at fault, or goes to the verification task.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from web.public import GROUND_NAMES
from workflow import monitoring, public
from workflow.errors import InvalidData
from workflow.store import HumanTask

bp = Blueprint("monitoring", __name__)

SOURCE_NAMES = {"monitoring": _l("动态监测"), "supervision": _l("督查指导")}


def _db() -> Any:
    return current_app.extensions["shanyu"]["db"]


def _guard() -> None:
    if not monitoring.may_file(current_user.actor):
        abort(403)


def _message(code: str) -> str:
    return {
        "required": _("此项必填。"),
        "unknown": _("请从列表中选择。"),
        "too_short": _("请至少写 %(n)s 个字，说明发现的具体情况。", n=monitoring.SUMMARY_MIN),
        "too_long": _("不能超过 %(n)s 个字。", n=monitoring.SUMMARY_MAX),
        "control": _("含有不能使用的控制字符。"),
    }.get(code, _("此项有误。"))


def _page(*, values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
          status: int = 200) -> tuple[str, int]:
    with _db().read() as session:
        districts = public.named_districts(session)
    return render_template("monitoring.html", districts=districts, grounds=GROUND_NAMES, sources=SOURCE_NAMES,
                           values=values or {}, errors=errors or {}, summary_max=monitoring.SUMMARY_MAX), status


@bp.get("/monitoring")
@login_required
def form() -> tuple[str, int]:
    _guard()
    return _page()


@bp.post("/monitoring")
@login_required
def file() -> Response | tuple[str, int]:
    _guard()
    finding = monitoring.Finding.of(request.form)
    values = {"district": finding.district, "ground": finding.ground, "source": finding.source,
              "summary": finding.summary}
    engine = current_app.extensions["shanyu"]["engine"]
    try:
        with _db().write() as session:
            case_id = monitoring.file_finding(session, engine, finding, actor=current_user.actor, now=g.now)
            task_id = session.execute(select(HumanTask.id).where(
                HumanTask.instance_id == case_id, HumanTask.state == "ready").order_by(HumanTask.id)).scalar()
    except InvalidData as exc:
        found: dict[str, str] = exc.details.get("problems") or {}
        return _page(values=values, errors={k: _message(v) for k, v in found.items()}, status=422)
    flash(_("已登记发现，并开启核实（案件 %(n)s）。处理决定由市级审批作出。", n=case_id), "success")
    if task_id is not None:
        return redirect(url_for("inbox.task_page", task_id=task_id))
    return redirect(url_for("inbox.index"))
