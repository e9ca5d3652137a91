"""Sign-in and sign-out (Flask-Login), with the accounts ``shanyu user add`` creates.

A wrong user name and a wrong password get the same answer. Failed attempts are throttled per
account and per address (``LOGIN_LIMIT_ACCOUNT`` / ``LOGIN_LIMIT_ADDRESS``). The session's user id
carries a fragment of the password hash, so changing a password signs out every other session of
that user; a disabled user is signed out on the next request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from web.extensions import limiter, login_manager
from workflow.fastsql import Prepared
from workflow.store import User, UserRole
from workflow.users import Actor, check_password

bp = Blueprint("auth", __name__)


@dataclass
class WebUser:
    """The signed-in user: the ``Actor`` every engine command takes, plus what pages show."""

    actor: Actor
    display_name: str
    session_id: str
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        return self.session_id

    @property
    def name(self) -> str:
        return self.actor.name


def _session_id(name: str, password_hash: str | None) -> str:
    return f"{name}|{(password_hash or '')[-12:]}"


# one statement for the user and their roles, run on the driver: every request of a signed-in
# user (page or API) runs it, and through the ORM it cost a third of an API call
_USER = Prepared(select(User.name, User.district, User.password_hash, User.disabled, User.display_name, UserRole.role)
                 .select_from(User).outerjoin(UserRole, UserRole.user_id == User.id)
                 .where(User.name == bindparam("name")))


def user_of(session: Session, session_id: str) -> WebUser | None:
    """The user a session id (or an API token's) names, while it is still theirs: the account
    exists, is not disabled, and its password hash still ends as the id says."""
    rows = _USER.fetchall(session, {"name": session_id.split("|", 1)[0]})
    if not rows:
        return None
    name, district, password_hash, disabled, display_name, _role = rows[0]
    if disabled or _session_id(name, password_hash) != session_id:
        return None
    roles = frozenset(row[5] for row in rows if row[5] is not None)
    return WebUser(Actor(name, roles, district), display_name or name, session_id)


@login_manager.user_loader
def load_user(session_id: str) -> WebUser | None:
    db = current_app.extensions["shanyu"]["db"]
    with db.read() as s:
        return user_of(s, session_id)


@login_manager.unauthorized_handler
def unauthorized() -> Response:
    flash(_("请先登录。"), "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def is_safe_next(target: str) -> bool:
    """A redirect target inside this site (a path, never another host)."""
    return bool(target) and target.startswith("/") and not target.startswith("//") and "\\" not in target


def account_key() -> str:
    """The account a sign-in attempt names, from the page's form or the API's JSON body."""
    name = request.form.get("username")
    if name is None and request.is_json:
        body = request.get_json(silent=True)
        name = body.get("username") if isinstance(body, dict) else None
    return "account:" + str(name or "").strip().lower()[:100]


def login_failed(response: Response) -> bool:
    return response.status_code == 401


def login_limits(view: Any) -> Any:
    """Failed sign-ins, counted per account and per address over the page and the API together
    (shared limits: ten wrong passwords on the page leave none for the API)."""
    view = limiter.shared_limit(lambda: current_app.config["LOGIN_LIMIT_ACCOUNT"], scope="login:account",
                                key_func=account_key, methods=["POST"], deduct_when=login_failed)(view)
    return limiter.shared_limit(lambda: current_app.config["LOGIN_LIMIT_ADDRESS"], scope="login:address",
                                key_func=get_remote_address, methods=["POST"], deduct_when=login_failed)(view)


def signed_in_user(username: str, password: str) -> WebUser | None:
    """The user these credentials sign in, or None (unknown name, wrong password, disabled)."""
    db = current_app.extensions["shanyu"]["db"]
    with db.read() as s:
        user = s.execute(select(User).where(User.name == username[:100])).scalar_one_or_none()
        ok = user is not None and not user.disabled and check_password(user.password_hash, password)
        session_id = _session_id(user.name, user.password_hash) if ok and user is not None else ""
    return load_user(session_id) if ok else None


@bp.route("/login", methods=["GET", "POST"])
@login_limits
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("inbox.index"))
    target = request.values.get("next", "")
    if request.method == "GET":
        return render_template("login.html", next=target, username="")
    username = (request.form.get("username") or "").strip()
    web_user = signed_in_user(username, request.form.get("password") or "")
    if web_user is None:
        return render_template("login.html", next=target, username=username,
                               error=_("用户名或密码不正确。")), 401
    lang = session.get("lang")
    session.clear()  # a fresh session on sign-in (no fixation); the language choice stays
    if lang:
        session["lang"] = lang
    session.permanent = True
    login_user(web_user)
    return redirect(target if is_safe_next(target) else url_for("inbox.index"))


@bp.post("/logout")
@login_required
def logout() -> Response:
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("您已退出登录。"), "info")
    return redirect(url_for("auth.login"))
