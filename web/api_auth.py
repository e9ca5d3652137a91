"""Bearer tokens for the JSON API: stateless, signed, expiring, revoked with the password.

A token is the signed, timestamped session id of ``web.auth`` (the user's name and a fragment of
the password hash) under the app's ``SECRET_KEY`` and a salt of its own, so a page's session
cookie is never a token and a token never a cookie. Nothing is stored: a token is valid while its
signature holds, it is younger than ``API_TOKEN_HOURS`` (by the app's clock) and ``web.auth``
still loads its user from it, which it no longer does once the password changed or the account
was disabled. A reason for refusing is kept on ``g`` so the 401 can say what to do.
"""

from __future__ import annotations

import hashlib
from typing import Any

from apiflask import HTTPTokenAuth
from flask import current_app, g
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from web.auth import WebUser, load_user
from workflow.clock import Clock

SALT = "shanyu.api.token"
DEFAULT_TOKEN_HOURS = 12

auth = HTTPTokenAuth(scheme="Bearer", description="POST /api/login gives the token; it expires after "
                     "API_TOKEN_HOURS (default 12) and when the password changes or the account is disabled.")

NOT_SIGNED_IN = ("not_signed_in", "Sign in first: POST /api/login with your user name and password, then send "
                 "the token as 'Authorization: Bearer TOKEN'.")
EXPIRED = ("token_expired", "The token has expired. Sign in again (POST /api/login).")
INVALID = ("token_invalid", "The token is not valid (altered, from another site, or revoked by a password "
           "change or a disabled account). Sign in again (POST /api/login).")


class ClockSigner(TimestampSigner):
    """A timestamp signer that reads the app's clock, so tokens age with the clock the app runs on."""

    def __init__(self, *args: Any, clock: Clock, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock

    def get_timestamp(self) -> int:
        return int(self.clock.now().timestamp())


def _serializer() -> URLSafeTimedSerializer:
    clock = current_app.extensions["shanyu"]["clock"]
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT, signer=ClockSigner,
                                  signer_kwargs={"clock": clock, "digest_method": hashlib.sha256})


def token_hours() -> int:
    return int(current_app.config.get("API_TOKEN_HOURS") or DEFAULT_TOKEN_HOURS)


def issue_token(user: WebUser) -> str:
    return str(_serializer().dumps(user.session_id))


@auth.verify_token
def verify_token(token: str) -> WebUser | None:
    if not token:
        g.api_auth_problem = NOT_SIGNED_IN
        return None
    try:
        session_id = _serializer().loads(token, max_age=token_hours() * 3600)
    except SignatureExpired:
        g.api_auth_problem = EXPIRED
        return None
    except BadSignature:
        g.api_auth_problem = INVALID
        return None
    user = load_user(session_id) if isinstance(session_id, str) else None
    if user is None:
        g.api_auth_problem = INVALID
    return user


@auth.error_processor
def unauthenticated(error: Any) -> tuple[dict[str, str], int]:
    code, message = g.get("api_auth_problem", NOT_SIGNED_IN)
    return {"error": code, "message": message}, 401


def current_user() -> WebUser:
    user = auth.current_user
    assert isinstance(user, WebUser), "a view under @auth_required runs only with a user"
    return user
