"""The OpenAPI document at /api/openapi.json: generated from the code, valid OpenAPI 3.1, listing
every route of the API with its methods (and nothing but the API), its security and its error body."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from openapi_spec_validator import validate

from tests.web.api_client import client_for


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    from web.app import create_app

    return create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}", "TESTING": True})


def test_the_document_is_valid_openapi(app: Flask) -> None:
    spec = client_for(app).ok("GET", "/api/openapi.json")
    validate(spec)
    assert spec["openapi"].startswith("3.")


def test_the_document_lists_every_route_of_the_api_and_nothing_else(app: Flask) -> None:
    spec = client_for(app).ok("GET", "/api/openapi.json")
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.no_such_endpoint":
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            routes |= {(path, method.lower()) for method in rule.methods or () if method not in ("HEAD", "OPTIONS")}
    documented = {(path, method) for path, item in spec["paths"].items() for method in item if method != "parameters"}
    assert documented == routes
    assert len(routes) == 13


def test_every_route_but_login_and_notices_needs_the_bearer_token(app: Flask) -> None:
    spec = client_for(app).ok("GET", "/api/openapi.json")
    assert spec["components"]["securitySchemes"]["BearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": spec["components"]["securitySchemes"]["BearerAuth"]["description"]}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            public = path in ("/api/login", "/api/notices")
            assert ("security" in operation) is not public, (path, method)
            if not public:
                assert operation["responses"]["401"]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorOut"}
    errors = spec["components"]["schemas"]["ErrorOut"]
    assert set(errors["required"]) == {"error", "message"}


def test_no_page_of_documentation_loads_from_a_cdn(app: Flask) -> None:
    for path in ("/docs", "/api/docs", "/redoc"):
        answer = app.test_client().get(path)
        assert answer.status_code == 404 and b"cdn" not in answer.get_data().lower()
