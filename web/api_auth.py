"""Bearer tokens for the JSON API: stateless, signed, expiring, revoked with the password.

A token is the signed, timestamped session id of ``web.auth`` (the user's name and a fragment of
the password hash) under the app's ``SECRET_KEY`` and a salt of its own, so a page's session
cookie is never a token and a token never a cookie. Nothing is stored on the server: a token is valid while its
signature holds, it is younger than ``API_TOKEN_HOURS`` (by the app's clock) and ``web.auth``
still finds its user by it, which it no longer does once the password changed or the account was
disabled. The signature is checked before the view runs, in full once per token and its age on
every call (``Tokens``); a reason for refusing is kept on ``g`` so the 401 can say what to do. The
user is read by the view, in its own transaction (``actor_in``), which saves every call a
transaction of its own.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Any

from apiflask import HTTPTokenAuth
from flask import current_app, g
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from web.auth import WebUser, user_of
from workflow.clock import Clock
from workflow.errors import ShanyuError
from workflow.users import Actor

SALT = "shanyu.api.token"
DEFAULT_TOKEN_HOURS = 12

auth = HTTPTokenAuth(scheme="Bearer", description="POST /api/login gives the token; it expires after "
                     "API_TOKEN_HOURS (default 12) and when the password changes or the account is disabled.")

NOT_SIGNED_IN = ("not_signed_in", "Sign in first: POST /api/login with your user name and password, then send "
                 "the token as 'Authorization: Bearer TOKEN'.")
EXPIRED = ("token_expired", "The token has expired. Sign in again (POST /api/login).")
INVALID = ("token_invalid", "The token is not valid (altered, from another site, or revoked by a password "
           "change or a disabled account). Sign in again (POST /api/login).")


class Unauthenticated(ShanyuError):
    """A signed token whose user no longer signs in with it."""

    code = INVALID[0]
    http_status = 401


@dataclass(frozen=True)
class Bearer:
    """A token whose signature and age are good: whose session id it carries."""

    session_id: str


class ClockSigner(TimestampSigner):
    """A timestamp signer that reads the app's clock, so tokens age with the clock the app runs on."""

    def __init__(self, *args: Any, clock: Clock, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock

    def get_timestamp(self) -> int:
        return int(self.clock.now().timestamp())


class Tokens:
    """The app's token serializer (made once per app and key: every API call checks a token), and
    the tokens it has already verified.

    Checking a signature (HMAC-SHA256 with a derived key, two base64 decodings, JSON) cost 23 µs of
    CPU per call on this machine, as much as reading the user. A token's signature and payload
    never change under one key, so a token verified once is remembered with its signing time
    (``VERIFIED`` tokens at most, the oldest forgotten first) and later calls only check its age,
    with the same rule and the same clock as ``TimestampSigner``. Only tokens whose signature
    held are remembered: a refused token is checked in full every time. Whether the user may still
    sign in with it is read from the database on every call (``actor_in``), as before."""

    VERIFIED = 4096

    def __init__(self, key: str, clock: Clock) -> None:
        self.key, self.clock = key, clock
        self.serializer = URLSafeTimedSerializer(key, salt=SALT, signer=ClockSigner, signer_kwargs={
            "clock": clock, "digest_method": hashlib.sha256})
        self.verified: dict[str, tuple[object, int]] = {}
        self.lock = threading.Lock()

    def dumps(self, session_id: str) -> str:
        return str(self.serializer.dumps(session_id))

    def loads(self, token: str, max_age: int) -> object:
        """The token's payload; ``SignatureExpired`` or ``BadSignature`` as ``loads`` raises them."""
        found = self.verified.get(token)
        if found is None:
            payload, signed = self.serializer.loads(token, max_age=max_age, return_timestamp=True)
            found = (payload, int(signed.timestamp()))
            with self.lock:  # the server's threads share it
                if len(self.verified) >= self.VERIFIED:
                    del self.verified[next(iter(self.verified))]
                self.verified[token] = found
        payload, signed_at = found
        age = int(self.clock.now().timestamp()) - signed_at
        if age > max_age or age < 0:
            raise SignatureExpired(f"Signature age {age} outside 0..{max_age} seconds", payload=payload)
        return payload


def _tokens() -> Tokens:
    """The app's ``Tokens``, made again if the key changes."""
    ext = current_app.extensions["shanyu"]
    key = current_app.config["SECRET_KEY"]
    made: Tokens | None = ext.get("api_tokens")
    if made is None or made.key != key:
        made = ext["api_tokens"] = Tokens(key, ext["clock"])
    return made


def token_hours() -> int:
    return int(current_app.config.get("API_TOKEN_HOURS") or DEFAULT_TOKEN_HOURS)


def issue_token(user: WebUser) -> str:
    return _tokens().dumps(user.session_id)


@auth.verify_token
def verify_token(token: str) -> Bearer | None:
    if not token:
        g.api_auth_problem = NOT_SIGNED_IN
        return None
    try:
        session_id = _tokens().loads(token, max_age=token_hours() * 3600)
    except SignatureExpired:
        g.api_auth_problem = EXPIRED
        return None
    except BadSignature:
        g.api_auth_problem = INVALID
        return None
    if not isinstance(session_id, str):
        g.api_auth_problem = INVALID
        return None
    return Bearer(session_id)


@auth.error_processor
def unauthenticated(error: Any) -> tuple[dict[str, str], int]:
    code, message = g.get("api_auth_problem", NOT_SIGNED_IN)
    return {"error": code, "message": message}, 401


def actor_in(session: Session) -> Actor:
    """The caller, read in the view's transaction; ``Unauthenticated`` (401) once the token's
    user changed their password or was disabled."""
    bearer = auth.current_user
    assert isinstance(bearer, Bearer), "a view under @auth_required runs only with a token"
    user = user_of(session, bearer.session_id)
    if user is None:
        raise Unauthenticated(INVALID[1])
    return user.actor
