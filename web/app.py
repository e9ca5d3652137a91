"""Flask application factory.

``create_app(config=None, *, clock=None)``: configuration is the defaults, then ``SHANYU_*``
environment variables, then ``config``. Nothing happens at import time.

The app is an APIFlask app (a Flask subclass) so that the JSON API's OpenAPI document is generated
from the code; the HTML pages are plain Flask blueprints: sign-in (``web.auth``), the inbox and
task pages (``web.inbox``). Sessions are Flask-Login's, every form carries a CSRF token
(Flask-WTF), sign-in attempts are throttled (Flask-Limiter), pages are in Chinese with English
selectable (Flask-Babel), and every time is shown in Asia/Shanghai.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from apiflask import APIFlask
from flask import Flask, g, jsonify, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_babel import Babel
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from web import hooks
from web.extensions import csrf, limiter, login_manager
from workflow import materials
from workflow.clock import SHANGHAI, Clock, SystemClock
from workflow.districts import DISTRICTS, district_name
from workflow.engine import Engine
from workflow.store import Database, HumanTask, Instance, ProcessVersion

LANGUAGES = {"zh": "中文", "en": "English"}
DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,
    "SECRET_KEY": None,
    # cookies: HttpOnly and SameSite always; Secure when the site is served over HTTPS (set
    # SHANYU_SECURE_COOKIES=true behind TLS; a plain-HTTP intranet address cannot keep them)
    "SECURE_COOKIES": False,
    "SESSION_HOURS": 12,
    # sign-in throttling (本地设定 local setting; the notice says nothing about it): failed attempts
    # per account and per address, as Flask-Limiter rate strings
    "LOGIN_LIMIT_ACCOUNT": "10 per 15 minutes",
    "LOGIN_LIMIT_ADDRESS": "30 per 15 minutes",
    "RATELIMIT_STORAGE_URI": "memory://",
    # the public pages' objections and reports (本地设定 local settings; the notice sets none): posts
    # allowed per address (both forms together) and the lengths of what may be typed
    "PUBLIC_SUBMIT_LIMIT": "5 per hour",
    "PUBLIC_NAME_MAX": 50,
    "PUBLIC_CONTACT_MAX": 100,
    "PUBLIC_CONTENT_MIN": 10,
    "PUBLIC_CONTENT_MAX": 2000,
    # e-mail delivery of notifications (workflow.delivery): off unless SMTP_HOST is set
    "SMTP_HOST": "",
    "BABEL_DEFAULT_LOCALE": "zh",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
}


def select_locale() -> str:
    lang = session.get("lang")
    return lang if lang in LANGUAGES else "zh"


def shanghai(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time as a person in Shanghai reads it."""
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime(fmt)


class PageSessions(SecureCookieSessionInterface):
    """The pages' signed cookie sessions. A call to the JSON API (``/api/…``) opens none: the API
    authenticates by bearer token only, reads no cookie and sets none (so a browser's cookie can
    never act through it), and is spared verifying and re-signing a session on every call. Nor
    does ``/healthz``, a probe that shows nothing of anyone's."""

    def open_session(self, app: Flask, request: Any) -> SessionMixin | None:
        if request.path.startswith("/api/") or request.path == "/healthz":
            return self.make_null_session(app)
        return super().open_session(app, request)


def persistent_secret_key(path: Path) -> str:
    """The key in ``path``, created (random, readable by its owner only) on first use, so that
    sign-ins outlive a restart of ``shanyu serve``."""
    if path.exists():
        key = path.read_text().strip()
        if len(key) >= 32:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key


def create_app(config: dict[str, Any] | None = None, *, clock: Clock | None = None) -> Flask:
    app = APIFlask(__name__, title="Shanyu 善育 API", version="1", spec_path="/api/openapi.json",
                   docs_path=None, json_errors=False, instance_relative_config=True)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("SHANYU")
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.urandom(32).hex()
    app.config["SECRET_KEY"] = str(app.config["SECRET_KEY"])  # env values are parsed as JSON
    secure = bool(app.config["SECURE_COOKIES"])
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax", REMEMBER_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=int(app.config["SESSION_HOURS"])),
        WTF_CSRF_TIME_LIMIT=int(app.config["SESSION_HOURS"]) * 3600,
        # a form may carry several materials (workflow.materials.max_bytes() each); beyond this the
        # request is refused whole with a clear page, before anything is read
        MAX_CONTENT_LENGTH=int(app.config.get("MAX_CONTENT_LENGTH") or 5 * materials.max_bytes() + 1024 * 1024),
    )
    app.session_interface = PageSessions()
    db = Database(app.config.get("DATABASE_URL"))
    app.extensions["shanyu"] = {"db": db, "engine": Engine(), "clock": clock or SystemClock()}

    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    Babel(app, locale_selector=select_locale)

    from web import admin, api, api_materials, audit, auth, inbox, monitoring, notifications, public

    assert api_materials.bp is api.bp  # its routes are the API blueprint's

    app.register_blueprint(auth.bp)
    app.register_blueprint(inbox.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(notifications.bp)
    app.register_blueprint(monitoring.bp)

    app.jinja_env.filters["shanghai"] = shanghai
    app.jinja_env.filters["district"] = lambda code: district_name(code, select_locale()) if code else ""
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["DISTRICT_CODES"] = sorted(DISTRICTS)
    app.jinja_env.globals["basis_name"] = public.basis_name

    @app.context_processor
    def page_context() -> dict[str, Any]:
        return {"lang": select_locale()}

    @app.get("/lang/<code>")
    def set_language(code: str) -> Response:
        if code in LANGUAGES:
            session["lang"] = code
        target = request.args.get("next", "")
        return redirect(target if auth.is_safe_next(target) else url_for("inbox.index"))

    @app.get("/status")
    def status() -> str:
        """What is deployed and running, for anyone (no names, no data of any case)."""
        with db.read() as s:
            counts = {
                "processes": s.scalar(select(func.count(func.distinct(ProcessVersion.process_id)))),
                "running": s.scalar(select(func.count()).where(Instance.status == "running")),
                "open_tasks": s.scalar(select(func.count()).where(HumanTask.state == "ready")),
            }
        return render_template("status.html", **counts)

    @app.get("/healthz")
    def health() -> Any:
        db.ping()
        return jsonify(status="ok")

    @app.errorhandler(CSRFError)
    def csrf_failed(exc: CSRFError) -> tuple[str, int]:
        return render_template("error.html", title=_("页面已过期"), message=_(
            "表单已过期或不是从本系统提交的（安全校验失败），未保存任何内容。请返回、刷新页面后重新提交。")), 400

    @app.errorhandler(403)
    def forbidden(exc: Exception) -> tuple[str, int]:
        return render_template("error.html", title=_("无权访问"), message=_("您的角色不能使用这个页面。")), 403

    @app.errorhandler(404)
    def not_found(exc: Exception) -> tuple[str, int]:
        return render_template("error.html", title=_("未找到"), message=_(
            "没有这个页面，或者您无权查看它。")), 404

    @app.errorhandler(413)
    def too_large(exc: Exception) -> tuple[str, int]:
        return render_template("error.html", title=_("内容过大"), message=_(
            "提交的内容超过了大小上限，未保存任何内容。")), 413

    @app.errorhandler(500)
    def failed(exc: Exception) -> tuple[str, int]:
        return render_template("error.html", title=_("系统错误"), message=_(
            "系统未能完成这次请求，未保存任何内容。请稍后重试；如果问题持续，请联系管理员。")), 500

    @app.errorhandler(429)
    def too_many(exc: Exception) -> tuple[str, int]:
        return render_template("error.html", title=_("尝试次数过多"), message=_(
            "登录尝试过于频繁，请稍后再试。")), 429

    @app.before_request
    def remember_now() -> None:
        g.now = app.extensions["shanyu"]["clock"].now()

    hooks.limit_only_where_limited(app, limiter)  # last: it reads the views every blueprint registered
    return app
