"""A service needs a real API token: none, a placeholder or a short one keeps it from starting."""

from __future__ import annotations

import pytest

from shared.settings import ServiceSettings


@pytest.mark.parametrize("token", ["", "change-me", "CHANGE-ME", "secret", "short-but-real"])
def test_a_missing_placeholder_or_short_token_is_a_reason_not_to_start(token: str) -> None:
    problem = ServiceSettings(api_token=token).secret_problem()
    assert problem is not None and "MEETDESK_API_TOKEN" in problem
    if len(token) > 8:
        assert token not in problem, "the reason never repeats the token"


def test_a_token_of_sixteen_characters_or_more_is_accepted() -> None:
    assert ServiceSettings(api_token="0123456789abcdef").secret_problem() is None


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("amqp_url", "amqp://meetdesk-booking:@rabbitmq:5672/"),
        ("database_url", "postgresql+asyncpg://meetdesk_booking:@postgres:5432/meetdesk_booking"),
    ],
)
def test_a_service_user_without_its_password_is_a_reason_not_to_start(field: str, url: str) -> None:
    problem = ServiceSettings(api_token="0123456789abcdef", **{field: url}).secret_problem()
    assert problem is not None and "without a password" in problem and "tools/access.py secrets" in problem


def test_a_url_without_a_user_or_with_its_password_is_accepted() -> None:
    for settings in (
        ServiceSettings(api_token="0123456789abcdef", database_url="postgresql+asyncpg://postgres@127.0.0.1/x"),
        ServiceSettings(api_token="0123456789abcdef", amqp_url="amqp://meetdesk-booking:s3cret@rabbitmq:5672/"),
    ):
        assert settings.secret_problem() is None
