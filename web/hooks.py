"""Flask-Limiter's request hooks, run only on the requests that have limits: the one module that
reaches into Flask's hook lists and Flask-Limiter's internals, pinned by
tests/web/test_hooks__limiter.py.

``Limiter.init_app`` registers three hooks on the app, run on every request: a before-request check
that resolves the endpoint's limits, an after-request hook that applies conditional deductions
(the sign-in limits count failed attempts only, ``deduct_when``) and adds rate-limit headers, and a
teardown that drops the limiter's per-request state. In Shanyu only four views carry limits (the
sign-in page, the API's sign-in and the public pages' two forms) and no limit applies to every
request (no default, application, meta or blueprint limits). On every other request the three hooks
decide, at a cost of about 40–60 µs (docs/performance.md), that there is nothing to do: on the
API's claim and complete, on ``/healthz``, on every page. ``request_filter`` cannot spare that: the
filter is asked inside the check, after the hooks have started.

So ``limit_only_where_limited`` wraps the three hooks, once the app is built, to run only when the
request's endpoint is one whose view Flask-Limiter holds limits for. The limits themselves are
untouched: a limited view's own wrapper checks its limits as before, and its requests run all
three hooks as before. If any limit could apply beyond the limited views (default, application,
meta or blueprint limits, or a limit on a callable that is not a view), the hooks are left as
they are. If Flask-Limiter's hooks are not found as this module expects (a new version), the app
refuses to start rather than run without them or twice.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_qualified_name

Hook = Callable[..., Any]


class HooksChanged(RuntimeError):
    """Flask-Limiter's hooks are not registered as this module expects."""


def _is_limiters(hook: Hook, limiter: Limiter) -> bool:
    """The limiter's own hooks: its bound methods, and its after-request ``partial(fn, limiter)``."""
    if getattr(hook, "__self__", None) is limiter:
        return True
    return isinstance(hook, functools.partial) and hook.args[:1] == (limiter,)


def limited_endpoints(app: Flask, limiter: Limiter) -> frozenset[str] | None:
    """The endpoints whose views carry limits; ``None`` when some limit may apply to other requests."""
    manager = limiter.limit_manager
    if (manager.default_limits or manager.application_limits or limiter._meta_limits
            or manager._blueprint_limits):
        return None
    decorated = {name for name, limits in manager._decorated_limits.items() if limits}
    by_view = {endpoint: get_qualified_name(view) for endpoint, view in app.view_functions.items()}
    limited = frozenset(endpoint for endpoint, name in by_view.items() if name in decorated)
    if decorated - set(by_view.values()):
        return None  # a limit on a callable that is not a view (or a view of another app): keep every hook
    return limited


def limit_only_where_limited(app: Flask, limiter: Limiter) -> frozenset[str] | None:
    """Run the limiter's hooks only on requests to ``limited_endpoints``; returns them (``None``:
    the hooks were left to run on every request). Call once, after every blueprint is registered."""
    limited = limited_endpoints(app, limiter)
    if limited is None:
        return None

    def before(hook: Hook) -> Hook:
        @functools.wraps(hook)
        def run() -> Any:
            return hook() if request.endpoint in limited else None

        return run

    def after(hook: Hook) -> Hook:
        @functools.wraps(hook)
        def run(response: Any) -> Any:
            return hook(response) if request.endpoint in limited else response

        return run

    def teardown(hook: Hook) -> Hook:
        @functools.wraps(hook)
        def run(exc: BaseException | None = None) -> Any:
            return hook(exc) if request.endpoint in limited else None

        return run

    for hooks, guard in ((app.before_request_funcs, before), (app.after_request_funcs, after),
                         (app.teardown_request_funcs, teardown)):
        app_wide = hooks.get(None, [])
        found = [i for i, hook in enumerate(app_wide) if _is_limiters(hook, limiter)]
        if len(found) != 1:
            raise HooksChanged(f"expected one hook of Flask-Limiter's in each list, found {len(found)}: "
                               "see web/hooks.py")
        app_wide[found[0]] = guard(app_wide[found[0]])
    return limited
