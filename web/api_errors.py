"""How the JSON API answers what went wrong: always JSON ``{"error": CODE, "message": …}``, never
a page.

- A ``ShanyuError`` (from the engine or the API) answers with its ``to_dict()`` and ``http_status``,
  as the CLI prints it with ``--json``.
- A request that does not fit its schema (APIFlask's ``HTTPError``) answers 422 ``invalid_request``,
  with ``errors`` naming each field and where it was (``json``, ``query``).
- HTTP errors (malformed JSON, a body too large, too many sign-ins, a crash) answer with their
  status. They are registered by code: the pages' handlers are registered by code too, and Flask
  prefers any handler registered by code over one registered by class.
- A path under ``/api`` that matches no endpoint would otherwise reach the pages' 404 page (Flask
  cannot tell a blueprint from a path nobody routes), so a catch-all route under the blueprint
  answers 404, or 405 with ``Allow`` when the path exists for other methods.
"""

from __future__ import annotations

import json
from typing import Any

from apiflask import APIBlueprint
from apiflask.exceptions import HTTPError
from flask import current_app
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.exceptions import NotFound as RouteNotFound
from werkzeug.routing import Map, Rule

from web.api_auth import Unauthenticated
from workflow.errors import ShanyuError

HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large",
              415: "unsupported_media_type", 429: "too_many_requests", 500: "internal_error"}
HTTP_MESSAGES = {400: "The request is malformed (its body is not valid JSON, for instance).",
                 413: "The request is too large; nothing was saved.",
                 429: "Too many failed sign-ins; try again later.",
                 500: "The server could not complete the request; nothing was saved."}
CATCH_ALL = "no_such_endpoint"


def domain_error(exc: ShanyuError) -> ResponseReturnValue:
    headers = {"WWW-Authenticate": 'Bearer realm="Authentication Required"'} if isinstance(exc, Unauthenticated) else {}
    body = json.loads(json.dumps(exc.to_dict(), default=str))  # details may hold dates and the like
    return body, exc.http_status, headers


def request_error(exc: HTTPError) -> ResponseReturnValue:
    problems = [{"field": field, "location": where,
                 "message": "; ".join(map(str, messages)) if isinstance(messages, list)
                 else json.dumps(messages, ensure_ascii=False)}
                for where, found in (exc.detail or {}).items() if isinstance(found, dict)
                for field, messages in found.items()]
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems) or str(exc.message)
    return {"error": "invalid_request", "message": f"The request does not fit this endpoint: {summary}",
            "errors": problems}, exc.status_code


def http_error(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    message = HTTP_MESSAGES.get(status) or exc.description or ""
    return {"error": HTTP_CODES.get(status, "bad_request"), "message": message}, status, headers


def no_such_endpoint(unknown: str) -> ResponseReturnValue:
    """Unknown paths under /api (and wrong methods on known ones) answer in JSON."""
    routes: Map | None = current_app.extensions.get("shanyu.api_routes")
    if routes is None:  # the API's own rules, without this one
        routes = Map([Rule(r.rule, endpoint=r.endpoint, methods=r.methods) for r in current_app.url_map.iter_rules()
                      if r.endpoint.startswith("api.") and r.endpoint != f"api.{CATCH_ALL}"])
        current_app.extensions["shanyu.api_routes"] = routes
    allowed = routes.bind("api").allowed_methods(f"/api/{unknown}")
    if allowed:
        raise MethodNotAllowed(valid_methods=allowed)
    raise RouteNotFound(f"There is no endpoint /api/{unknown}; see /api/openapi.json.")


def register(bp: APIBlueprint) -> None:
    bp.register_error_handler(ShanyuError, domain_error)
    bp.register_error_handler(HTTPError, request_error)
    for code in HTTP_CODES:
        bp.register_error_handler(code, http_error)
    view: Any = bp.doc(hide=True)(no_such_endpoint)
    bp.add_url_rule("/<path:unknown>", CATCH_ALL, view, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
