"""The signed-in user's notifications (``/notifications``): the ``outbox`` rows addressed to their
roles (``workflow.notifications`` says which), newest first, unread ones marked; mark one or all
read. Every page's header shows the unread count."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from workflow import notifications
from workflow.errors import NotFound

bp = Blueprint("notifications", __name__)


def _db() -> Any:
    return current_app.extensions["shanyu"]["db"]


@bp.app_context_processor
def unread() -> dict[str, Any]:
    """``unread_notifications`` for the header of every page (0 when signed out)."""
    if not current_user.is_authenticated:
        return {"unread_notifications": 0}
    try:
        with _db().read() as session:
            return {"unread_notifications": notifications.unread_count(session, current_user.actor)}
    except (NotFound, SQLAlchemyError):  # an error page must render even when the count cannot be had
        return {"unread_notifications": 0}


@bp.get("/notifications")
@login_required
def index() -> str:
    try:
        page = min(max(int(request.args.get("page", 1)), 1), 100_000)
    except ValueError:
        page = 1
    unread_only = request.args.get("unread") == "1"
    with _db().read() as session:
        rows, total = notifications.notifications_page(session, current_user.actor, page=page,
                                                       unread_only=unread_only)
    pages = max((total + notifications.PAGE_SIZE - 1) // notifications.PAGE_SIZE, 1)
    return render_template("notifications.html", rows=rows, total=total, page=page, pages=pages,
                           unread_only=unread_only)


@bp.post("/notifications/<int:outbox_id>/read")
@login_required
def read(outbox_id: int) -> Response:
    try:
        with _db().write() as session:
            notifications.mark_read(session, current_user.actor, outbox_id, now=g.now)
    except NotFound:
        abort(404)
    return redirect(url_for("notifications.index", page=request.form.get("page", 1)))


@bp.post("/notifications/read-all")
@login_required
def read_all() -> Response:
    with _db().write() as session:
        count = notifications.mark_all_read(session, current_user.actor, now=g.now)
    flash(_("已将 %(n)s 条通知标为已读。", n=count), "success")
    return redirect(url_for("notifications.index"))
