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
