"""The public pages, no sign-in: the public notices (公示), objections to an open notice, and reports
of concern about named districts (动态监测, the situations of the notice's 第六条).

``/notices`` lists every notice, ``/notices/N`` shows one with its objection form while it is open,
``/report`` takes a report, ``/receipts/R`` confirms a filing by its receipt number (nothing of
what was filed is shown there). The rules (the objection window, what a valid submission is, which
message reaches which case) are ``workflow.public``'s; a view parses the form, calls one of its
commands in one write transaction, and renders the form again with a message next to each field at
fault, or redirects to the receipt. Submissions are rate-limited per address (``PUBLIC_SUBMIT_LIMIT``,
shared by both forms, every post counted) and carry the CSRF token like every form.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.wrappers import Response

from web.extensions import limiter
from workflow import public
from workflow.errors import InvalidData, NotFound, NoticeClosed
from workflow.registers import Notice, PublicSubmission

bp = Blueprint("public", __name__)

GROUND_NAMES = {  # the notice's 第六条, in its words; the second situation has two faces
    "safety_accident": _l("发生重大安全责任事故"),
    "backsliding": _l("创建措施不力、工作出现明显退步"),
    "fraud": _l("存在弄虚作假情形"),
    "low_satisfaction": _l("托育机构、婴幼儿家庭对政策环境和服务管理满意度不高"),
}

# where a request to consider revocation came from (handlers.titles.SOURCES), for the pages
SOURCE_NAMES = {
    "report": _l("举报或事故报告"),
    "monitoring": _l("动态监测"),
    "supervision": _l("督查指导"),
    "annual_review": _l("年度报送审核"),
    "missed_annual_report": _l("逾期未报送年度工作情况"),
    "survey": _l("满意度调查"),
}


def basis_name(kind: str, code: Any, recorded: Any = None) -> str:
    """A revocation's ground (``kind`` "ground") or source ("source") as a task page shows it:
    in Chinese, the name the case recorded; in another language, that language's name for the
    code, when there is one."""
    locale = get_locale()
    if locale is not None and str(locale) != "zh":
        names = GROUND_NAMES if kind == "ground" else SOURCE_NAMES
        if code in names:
            return str(names[code])
    return str(recorded or code or "")


def _limits() -> public.Limits:
    c = current_app.config
    return public.Limits(name_max=int(c["PUBLIC_NAME_MAX"]), contact_max=int(c["PUBLIC_CONTACT_MAX"]),
                         content_min=int(c["PUBLIC_CONTENT_MIN"]), content_max=int(c["PUBLIC_CONTENT_MAX"]))


def _message(code: str, limits: public.Limits, field: str) -> str:
    most = {"name": limits.name_max, "contact": limits.contact_max, "content": limits.content_max}.get(field, 0)
    texts = {
        "required": _("此项必填。"),
        "too_long": _("不能超过 %(n)s 个字。", n=most),
        "too_short": _("请至少写 %(n)s 个字，说明具体情况。", n=limits.content_min),
        "control": _("含有不能使用的字符（如换行或控制字符）。"),
        "not_contact": _("请填写能联系到您的手机号、电话号码或电子邮箱。"),
        "unknown": _("请从列表中选择。"),
    }
    return texts.get(code, _("此项有误。"))


def _services() -> tuple[Any, Any]:
    ext = current_app.extensions["shanyu"]
    return ext["db"], ext["engine"]


def _notice_page(notice_id: int, *, values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                 refusal: str = "", status: int = 200) -> tuple[str, int]:
    db, _engine = _services()
    with db.read() as session:
        try:
            info = public.public_notice(session, notice_id, g.now)
        except NotFound:
            abort(404)
    return render_template("public/notice.html", info=info, values=values or {}, errors=errors or {},
                           refusal=refusal, limits=_limits()), status


@bp.get("/notices")
def notices() -> str:
    db, _engine = _services()
    with db.read() as session:
        found = public.public_notices(session, g.now)
    return render_template("public/notices.html", notices=found)


@bp.get("/notices/<int:notice_id>")
def notice(notice_id: int) -> tuple[str, int]:
    return _notice_page(notice_id)


def _submit_limit() -> str:
    return str(current_app.config["PUBLIC_SUBMIT_LIMIT"])


@bp.post("/notices/<int:notice_id>")
@limiter.shared_limit(_submit_limit, scope="public-submit", methods=["POST"])
def object_to(notice_id: int) -> Response | tuple[str, int]:
    db, engine = _services()
    sub = public.Submission.of(request.form)
    values = {"name": sub.name, "contact": sub.contact, "content": sub.content, "district": sub.district}
    limits = _limits()
    try:
        with db.write() as session:
            filed = public.file_objection(session, engine, notice_id, sub, now=g.now, limits=limits)
    except NotFound:
        abort(404)
    except NoticeClosed as exc:
        if exc.details.get("upcoming"):
            return _notice_page(notice_id, values=values, status=409, refusal=_(
                "公示尚未开始，自公示发布之日起受理异议。未保存任何内容。"))
        return _notice_page(notice_id, values=values, status=409, refusal=_(
            "公示期已结束（截止于公示最后一个工作日的截止时刻，北京时间），不再受理异议，未保存任何内容。"))
    except InvalidData as exc:
        found: dict[str, str] = exc.details.get("problems") or {}
        return _notice_page(notice_id, values=values, status=422,
                            errors={k: _message(v, limits, k) for k, v in found.items()})
    return redirect(url_for("public.receipt", receipt=filed.receipt))


def _report_page(*, values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                 status: int = 200) -> tuple[str, int]:
    db, _engine = _services()
    with db.read() as session:
        districts = public.named_districts(session)
    return render_template("public/report.html", districts=districts, grounds=GROUND_NAMES, values=values or {},
                           errors=errors or {}, limits=_limits()), status


@bp.get("/report")
def report() -> tuple[str, int]:
    return _report_page()


@bp.post("/report")
@limiter.shared_limit(_submit_limit, scope="public-submit", methods=["POST"])
def file_report() -> Response | tuple[str, int]:
    db, engine = _services()
    sub = public.Submission.of(request.form)
    values = {"name": sub.name, "contact": sub.contact, "content": sub.content, "district": sub.district,
              "ground": sub.ground}
    limits = _limits()
    try:
        with db.write() as session:
            filed = public.file_concern(session, engine, sub, now=g.now, limits=limits)
    except InvalidData as exc:
        found: dict[str, str] = exc.details.get("problems") or {}
        return _report_page(values=values, status=422,
                            errors={k: _message(v, limits, k) for k, v in found.items()})
    return redirect(url_for("public.receipt", receipt=filed.receipt))


@bp.get("/receipts/<receipt>")
def receipt(receipt: str) -> str:
    db, _engine = _services()
    with db.read() as session:
        row = session.execute(select(PublicSubmission).where(PublicSubmission.receipt == receipt[:40])).scalar()
        if row is None:
            abort(404)
        title = session.execute(select(Notice.title).where(Notice.id == row.notice_id)).scalar() \
            if row.notice_id else None
        shown = {"receipt": row.receipt, "kind": row.kind, "at": row.created_at, "notice_title": title,
                 "notice_id": row.notice_id, "district": row.district}
    return render_template("public/receipt.html", r=shown)


@bp.errorhandler(429)
def too_many(exc: Exception) -> tuple[str, int]:
    return render_template("error.html", title=_("提交过于频繁"), message=_(
        "同一网络地址提交过于频繁，请稍后再试。本次提交未保存任何内容。")), 429
