"""``web.api_auth.Tokens``: a token verified once is remembered, and only its age is checked on
later calls, by the same rule and clock as the signer; refused tokens are never remembered; a new
key forgets every token."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from itsdangerous import BadSignature, SignatureExpired

from web.api_auth import Tokens, _tokens
from web.app import create_app
from workflow.clock import FakeClock

HOUR = 3600


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 3, 8, 0, tzinfo=UTC))


def test_a_remembered_token_still_expires_by_the_clock(clock: FakeClock) -> None:
    tokens = Tokens("k" * 64, clock)
    token = tokens.dumps("huangpu|abcdef")
    assert tokens.loads(token, max_age=12 * HOUR) == "huangpu|abcdef"
    assert token in tokens.verified
    clock.advance(hours=12)
    assert tokens.loads(token, max_age=12 * HOUR) == "huangpu|abcdef"  # exactly at the limit, as the signer says
    clock.advance(seconds=1)
    with pytest.raises(SignatureExpired):
        tokens.loads(token, max_age=12 * HOUR)
    with pytest.raises(SignatureExpired):  # and the full check agrees
        Tokens("k" * 64, clock).loads(token, max_age=12 * HOUR)


def test_a_token_from_the_future_is_refused_when_remembered_too(clock: FakeClock) -> None:
    tokens = Tokens("k" * 64, clock)
    token = tokens.dumps("huangpu|abcdef")
    tokens.loads(token, max_age=HOUR)
    clock.advance(seconds=-1)  # the clock set back: the signer calls a negative age expired
    with pytest.raises(SignatureExpired):
        tokens.loads(token, max_age=HOUR)


def test_refused_tokens_are_not_remembered(clock: FakeClock) -> None:
    tokens = Tokens("k" * 64, clock)
    token = tokens.dumps("huangpu|abcdef")
    for bad in (token[:-2] + "xx", Tokens("another key" * 4, clock).dumps("huangpu|abcdef"), "nonsense"):
        for _ in range(2):
            with pytest.raises(BadSignature):
                tokens.loads(bad, max_age=HOUR)
    assert tokens.verified == {}
    clock.advance(hours=2)
    with pytest.raises(SignatureExpired):
        tokens.loads(token, max_age=HOUR)
    assert tokens.verified == {}


def test_the_memory_is_bounded(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Tokens, "VERIFIED", 3)
    tokens = Tokens("k" * 64, clock)
    made = [tokens.dumps(f"user{i}|abcdef") for i in range(5)]
    for token in made:
        tokens.loads(token, max_age=HOUR)
    assert list(tokens.verified) == made[2:]  # the oldest forgotten first
    assert tokens.loads(made[0], max_age=HOUR) == "user0|abcdef"  # and checked in full again


def test_a_new_key_forgets_the_old_keys_tokens(clock: FakeClock) -> None:
    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "first key", "TESTING": True}, clock=clock)
    with app.app_context():
        first = _tokens()
        token = first.dumps("huangpu|abcdef")
        first.loads(token, max_age=HOUR)
        app.config["SECRET_KEY"] = "second key"
        second = _tokens()
        assert second is not first and second.verified == {}
        with pytest.raises(BadSignature):
            second.loads(token, max_age=HOUR)
    app.extensions["shanyu"]["db"].dispose()
