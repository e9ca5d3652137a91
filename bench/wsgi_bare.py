"""Bare WSGI apps for measuring the floor under Shanyu's API (``web_floor.py``, ``web_overhead.py``):
a WSGI callable with no framework, a bare Flask app and a bare APIFlask app, each answering a small
JSON body for ``POST /ping``; and ``in_process``, which calls a WSGI app with a prepared environ (no
socket, no HTTP parsing) and returns the time it took."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterable
from typing import Any

from bench.common import now_ns

WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]
BODY = {"data": {"approved": True, "comment": "同意", "score": 90}}


def bare_wsgi(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """No framework: reads the JSON body, answers a small JSON object, nothing else."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        json.loads(environ["wsgi.input"].read(length))
    body = b'{"status": "ok"}'
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def bare_flask() -> WSGIApp:
    from flask import Flask, request

    app = Flask("bare")

    @app.post("/ping")
    def ping() -> dict[str, Any]:
        request.get_json()
        return {"status": "ok"}

    return app


def bare_apiflask() -> WSGIApp:
    """The framework the API runs on, with nothing of Shanyu: one route, an input and an output schema."""
    from apiflask import APIFlask, Schema
    from apiflask.fields import Dict, String

    class In(Schema):
        data = Dict(load_default=dict)

    class Out(Schema):
        status = String(required=True)

    app = APIFlask("bare-api", docs_path=None)

    @app.post("/ping")
    @app.input(In, arg_name="body")
    @app.output(Out)
    def ping(body: dict[str, Any]) -> dict[str, Any]:
        return {"status": "ok"}

    return app


def in_process(app: WSGIApp, method: str = "POST", path: str = "/ping", body: Any = BODY) -> int:
    """The app alone: one request through a prepared environ; nanoseconds."""
    raw = json.dumps(body).encode() if method == "POST" else b""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
               "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(raw), "wsgi.errors": sys.stderr, "wsgi.multithread": True,
               "wsgi.multiprocess": False, "wsgi.run_once": False, "wsgi.version": (1, 0),
               "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(raw)),
               "HTTP_HOST": "127.0.0.1"}
    t0 = now_ns()
    answer = b"".join(app(environ, lambda status, headers, exc_info=None: None))
    elapsed = now_ns() - t0
    assert answer.startswith(b"{"), answer[:200]
    return elapsed
