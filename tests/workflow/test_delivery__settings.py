"""SMTP settings from the environment (off without a host) and the retry backoff (doubling, capped)."""

from __future__ import annotations

from datetime import timedelta

from workflow.delivery import RetryPolicy, SmtpSettings


def test_without_a_host_delivery_is_off() -> None:
    assert SmtpSettings.from_mapping({}, "SHANYU_") is None
    assert SmtpSettings.from_mapping({"SHANYU_SMTP_HOST": "  ", "SHANYU_SMTP_PORT": "2525"}, "SHANYU_") is None


def test_settings_are_read_with_their_prefix_and_types() -> None:
    env = {"SHANYU_SMTP_HOST": "mail.example.org", "SHANYU_SMTP_PORT": "587", "SHANYU_SMTP_USER": "u",
           "SHANYU_SMTP_PASSWORD": "p", "SHANYU_SMTP_FROM": "noreply@example.org", "SHANYU_SMTP_STARTTLS": "true",
           "SHANYU_SMTP_TIMEOUT": "3", "SMTP_HOST": "ignored"}
    assert SmtpSettings.from_mapping(env, "SHANYU_") == SmtpSettings(
        "mail.example.org", 587, "u", "p", "noreply@example.org", starttls=True, use_ssl=False, timeout=3.0)
    app_config = {"SMTP_HOST": "localhost", "SMTP_PORT": 2525, "SMTP_SSL": True}  # as Flask parsed it
    parsed = SmtpSettings.from_mapping(app_config)
    assert parsed is not None and (parsed.port, parsed.use_ssl, parsed.sender) == (2525, True, "shanyu@localhost")


def test_the_backoff_doubles_up_to_its_cap() -> None:
    policy = RetryPolicy(first_delay=timedelta(minutes=1), max_delay=timedelta(hours=1))
    assert [policy.delay(n) for n in (1, 2, 3, 6, 7, 50)] == [
        timedelta(minutes=m) for m in (1, 2, 4, 32, 60, 60)]
