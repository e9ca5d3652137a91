"""``web.hooks``: Flask-Limiter's three request hooks run on the limited views' requests only.

This pins what the adapter relies on in Flask-Limiter (its hooks' shapes, its decorated limits by
qualified name): a new version that changes them fails here, or the app refuses to start. That the
limits still hold is tested where they are used: failed sign-ins on the page and through the API
(tests/web/test_api__flow.py, tests/web/test_inbox__pages.py), the public forms
(tests/web/test_public__objections.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from tests.web.api_client import PASSWORD, api_app, client_for
from web import hooks
from web.extensions import limiter
from workflow.clock import FakeClock
from workflow.store import Database
from workflow.users import add_user

LIMITED = {"auth.login", "api.login", "public.object_to", "public.file_report"}


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every run of Flask-Limiter's check, by endpoint (its before-request hook, or a limited view's
    own wrapper), counted from the next app made."""
    seen: list[str] = []
    check = Limiter._check_request_limit

    def counted(self: Limiter, *args: Any, **kwargs: Any) -> None:
        from flask import request

        seen.append(str(request.endpoint))
        check(self, *args, **kwargs)

    monkeypatch.setattr(Limiter, "_check_request_limit", counted)
    return seen


@pytest.fixture
def app(db: Database, clock: FakeClock, checks: list[str]) -> Iterator[Flask]:
    with db.write() as s:
        add_user(s, "huangpu", ["区有关部门"], district="310101", password=PASSWORD, now=clock.now())
    yield api_app(db, clock)


def test_only_the_sign_ins_and_the_public_forms_are_limited(app: Flask) -> None:
    assert hooks.limited_endpoints(app, limiter) == LIMITED


def test_each_of_the_limiters_hooks_is_guarded_once(app: Flask) -> None:
    for registered in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        ours = [hook for hook in registered[None] if hooks._is_limiters(getattr(hook, "__wrapped__", hook), limiter)]
        assert len(ours) == 1 and hasattr(ours[0], "__wrapped__")  # wrapped by functools.wraps, not bare
        assert not [hook for hook in registered[None] if hooks._is_limiters(hook, limiter)]


def test_an_api_call_and_healthz_run_no_limiter_code(app: Flask, checks: list[str]) -> None:
    api = client_for(app, "huangpu")
    checks.clear()
    assert app.test_client().get("/healthz").status_code == 200
    assert api.get("/api/tasks").status_code == 200
    assert api.get("/api/tasks/999").status_code == 404
    assert checks == []


def test_a_sign_in_still_runs_the_check(app: Flask, checks: list[str]) -> None:
    client_for(app, "huangpu")
    assert "api.login" in checks
    checks.clear()
    app.test_client().get("/login")  # (a post would stop at its CSRF check, which runs first)
    assert "auth.login" in checks


def test_limits_on_every_request_keep_every_hook() -> None:
    """Default limits (or application, meta or blueprint ones) apply beyond the limited views."""
    app = Flask("defaults")
    own = Limiter(get_remote_address, app=app, default_limits=["1000 per second"], storage_uri="memory://")

    @app.get("/")
    def index() -> str:
        return "ok"

    assert hooks.limit_only_where_limited(app, own) is None
    assert own._check_request_limit in app.before_request_funcs[None]


def test_a_limit_on_a_helper_keeps_every_hook() -> None:
    """A limit on a callable that is not a view is checked within that view's request."""
    app = Flask("helper")
    own = Limiter(get_remote_address, app=app, storage_uri="memory://")

    @own.limit("5 per minute")
    def helper() -> str:
        return "ok"

    @app.get("/")
    def index() -> str:
        return helper()

    assert hooks.limited_endpoints(app, own) is None


def test_hooks_not_found_as_expected_stop_the_app() -> None:
    app = Flask("unhooked")
    own = Limiter(get_remote_address, storage_uri="memory://")  # never bound to the app: no hooks

    @app.get("/")
    @own.limit("5 per minute")
    def index() -> str:
        return "ok"

    with pytest.raises(hooks.HooksChanged):
        hooks.limit_only_where_limited(app, own)
