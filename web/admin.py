"""Admin pages (role ``admin``): users (create, roles, district, password, disable), the lane →
role table, and reassigning a held task (on the task page; recorded in the case's history)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from workflow.districts import DISTRICTS
from workflow.errors import InvalidData, NotFound, ShanyuError
from workflow.store import HumanTask, LaneRole, User
from workflow.users import (
    Actor,
    add_user,
    check_user,
    known_roles,
    list_users,
    load_actor,
    map_lane,
    set_disabled,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_only(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    @login_required
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not current_user.actor.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return guarded


def _db() -> Any:
    return current_app.extensions["shanyu"]["db"]


def _me() -> Actor:
    actor: Actor = current_user.actor
    return actor


@bp.get("/users")
@admin_only
def users() -> str:
    """The users, and the form that creates or changes one: ``?edit=NAME`` fills it with that
    user's name shown, roles and district, so a change starts from what the user has now (the
    form replaces the roles with those ticked)."""
    with _db().read() as s:
        found = list_users(s)
        roles = sorted(known_roles(s))
    form: dict[str, Any] = {}
    errors: list[str] = []
    wanted = request.args.get("edit")
    if wanted:
        user = next((u for u in found if u.name == wanted), None)
        if user is None:
            errors.append(_("没有用户“%(name)s”。", name=wanted[:100]))
        else:
            form = {"name": user.name, "display_name": user.display_name, "roles": list(user.roles),
                    "district": user.district, "editing": True}
    return render_template("admin_users.html", users=found, roles=roles, districts=DISTRICTS, form=form,
                           errors=errors)


def _user_form() -> dict[str, Any]:
    return {
        "name": (request.form.get("name") or "").strip(),
        "display_name": (request.form.get("display_name") or "").strip()[:200],
        "roles": [r for r in request.form.getlist("roles") if r],
        "district": request.form.get("district") or None,
        "password": request.form.get("password") or "",
    }


@bp.post("/users")
@admin_only
def save_user() -> Response | tuple[str, int]:
    """Create a user, or change an existing one's roles, district, name shown and password."""
    form = _user_form()
    try:
        with _db().write() as s:
            check_user(s, form["roles"], form["district"])
            add_user(s, form["name"], form["roles"], district=form["district"],
                     password=form["password"] or None, display_name=form["display_name"], now=g.now,
                     by=_me().name)
    except ShanyuError as exc:
        with _db().read() as s:
            found = list_users(s)
            roles = sorted(known_roles(s))
        return render_template("admin_users.html", users=found, roles=roles, districts=DISTRICTS, form=form,
                               errors=[exc.message]), exc.http_status
    flash(_("已保存用户 %(name)s。", name=form["name"]), "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<name>/disabled")
@admin_only
def disable_user(name: str) -> Response:
    disabled = request.form.get("disabled") == "1"
    try:
        with _db().write() as s:
            set_disabled(s, name, disabled, by=_me(), now=g.now)
    except ShanyuError as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.users"))
    flash(_("已停用 %(name)s。", name=name) if disabled else _("已启用 %(name)s。", name=name), "success")
    return redirect(url_for("admin.users"))


@bp.get("/lanes")
@admin_only
def lanes() -> str:
    with _db().read() as s:
        mapped = {row.lane: row.role for row in s.execute(select(LaneRole)).scalars()}
        seen = set(s.execute(select(HumanTask.lane).distinct()).scalars())
        roles = sorted(known_roles(s))
    every = sorted({lane for lane in seen if lane} | set(mapped))
    return render_template("admin_lanes.html", lanes=every, mapped=mapped, roles=roles)


@bp.post("/lanes")
@admin_only
def save_lane() -> Response:
    lane = (request.form.get("lane") or "").strip()
    role = (request.form.get("role") or "").strip()
    try:
        with _db().write() as s:
            if not lane:
                raise InvalidData(_("请填写泳道名称。"))
            check_user(s, [role], None)
            count = map_lane(s, lane, role, by=_me().name, now=g.now)
    except ShanyuError as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.lanes"))
    flash(_("泳道 %(lane)s 的任务现归角色 %(role)s（%(n)s 个待办已更新）。", lane=lane, role=role, n=count), "success")
    return redirect(url_for("admin.lanes"))


@bp.post("/tasks/<int:task_id>/reassign")
@admin_only
def reassign(task_id: int) -> Response:
    engine = current_app.extensions["shanyu"]["engine"]
    to_name = (request.form.get("to") or "").strip()
    reason = request.form.get("reason") or ""
    try:
        with _db().write() as s:
            if s.execute(select(User.id).where(User.name == to_name)).first() is None:
                raise NotFound(_("没有用户 %(name)s。", name=to_name))
            engine.reassign(s, task_id, load_actor(s, to_name), reason=reason, actor=_me(), now=g.now)
    except ShanyuError as exc:
        flash(exc.message, "error")
        return redirect(url_for("inbox.task_page", task_id=task_id))
    flash(_("已改派给 %(name)s，原因已记入案件历史。", name=to_name), "success")
    return redirect(url_for("inbox.task_page", task_id=task_id))
