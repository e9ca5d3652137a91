"""Flask application factory.

``create_app(config=None, *, clock=None)``: configuration is the defaults, then ``SHANYU_*``
environment variables, then ``config``. Nothing happens at import time. For now the app serves a
status page and a health endpoint; the inbox, modeler, history and public blueprints come later.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, jsonify, render_template_string
from sqlalchemy import func, select

from workflow.clock import Clock, SystemClock
from workflow.engine import Engine
from workflow.store import Database, HumanTask, Instance, ProcessVersion

DEFAULTS: dict[str, Any] = {"DATABASE_URL": None, "SECRET_KEY": None}

STATUS_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>善育 Shanyu</title></head>
<body>
<h1>善育 · 上海市婴幼儿照护服务示范区创建工作流</h1>
<p>Shanyu — workflows for Shanghai's infant and toddler care demonstration districts.</p>
<ul>
  <li>已部署流程 Deployed processes: {{ processes }}</li>
  <li>进行中的案件 Running cases: {{ running }}</li>
  <li>待办任务 Open tasks: {{ open_tasks }}</li>
</ul>
</body></html>"""


def create_app(config: dict[str, Any] | None = None, *, clock: Clock | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("SHANYU")
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.urandom(32).hex()
    app.config["SECRET_KEY"] = str(app.config["SECRET_KEY"])  # env values are parsed as JSON
    db = Database(app.config.get("DATABASE_URL"))
    app.extensions["shanyu"] = {"db": db, "engine": Engine(), "clock": clock or SystemClock()}

    @app.get("/")
    def index() -> str:
        with db.read() as session:
            counts = {
                "processes": session.scalar(select(func.count(func.distinct(ProcessVersion.process_id)))),
                "running": session.scalar(select(func.count()).where(Instance.status == "running")),
                "open_tasks": session.scalar(select(func.count()).where(HumanTask.state == "ready")),
            }
        return render_template_string(STATUS_PAGE, **counts)

    @app.get("/healthz")
    def health() -> Any:
        with db.read() as session:
            session.execute(select(1))
        return jsonify(status="ok")

    return app
