"""Support for tests of the JSON API: an app on a given database and clock, and a client that signs
in with ``POST /api/login`` and sends its bearer token (and never a cookie of its own)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from web.app import create_app
from workflow.clock import FakeClock
from workflow.store import Database

PASSWORD = "api-test-password"


def api_app(db: Database, clock: FakeClock, **config: Any) -> Flask:
    """An app whose database is ``db`` (on PostgreSQL a throwaway schema the URL alone does not name)."""
    app = create_app({"DATABASE_URL": db.url, "TESTING": True, "SECRET_KEY": "test-secret", **config}, clock=clock)
    app.extensions["shanyu"]["db"].dispose()
    app.extensions["shanyu"]["db"] = db
    return app


@dataclass
class Api:
    """A client of ``/api``: ``token`` is sent as ``Authorization: Bearer``; no cookies are kept."""

    client: FlaskClient
    token: str | None = None

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> TestResponse:
        headers = dict(kwargs.pop("headers", {}))
        if self.token is not None:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        if body is not None:
            kwargs["json"] = body
        answer = self.client.open(path, method=method, headers=headers, **kwargs)
        assert answer.mimetype == "application/json", (path, answer.status_code, answer.get_data(as_text=True)[:300])
        return answer

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> TestResponse:
        return self.call("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> TestResponse:
        return self.call("PUT", path, body, **kwargs)

    def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        answer = self.call(method, path, body)
        assert answer.status_code == status, (method, path, answer.status_code, answer.get_json())
        return answer.get_json()

    def fails(self, method: str, path: str, body: Any = None, *, status: int, code: str | None = None) -> Any:
        answer = self.call(method, path, body)
        found = answer.get_json()
        assert answer.status_code == status, (method, path, answer.status_code, found)
        assert set(found) >= {"error", "message"} and found["message"], found
        if code is not None:
            assert found["error"] == code, found
        return found


def client_for(app: Flask, name: str | None = None, password: str = PASSWORD) -> Api:
    """A client signed in as ``name`` through ``POST /api/login`` (anonymous without a name)."""
    api = Api(app.test_client(use_cookies=False))
    if name is not None:
        answer = api.post("/api/login", {"username": name, "password": password})
        assert answer.status_code == 200, (name, answer.get_json())
        api.token = answer.get_json()["token"]
    return api
