"""The bearer token never leaves the API host: redirects of API calls are not followed."""

from __future__ import annotations

import httpx
import pytest

import up42_facade as up42

PROJECT = "5ac4a1b6-6c2b-4b4e-8a3e-2b1e2f0c9d11"
JOB = "d62c27c0-24e9-433d-b509-ae080504d5c6"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_an_api_redirect_to_another_host_is_an_error_and_the_token_is_not_sent_there(
    status: int,
) -> None:
    seen: list[httpx.Request] = []

    def api(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "secret-token", "expires_in": 300})
        return httpx.Response(status, headers={"Location": "https://elsewhere.example/steal"})

    session = up42.Up42(
        project_id=PROJECT,
        project_api_key="key",
        base_url="https://api.test",
        transport=httpx.MockTransport(api),
    )
    with session, pytest.raises(up42.InvalidResponseError, match=f"HTTP {status}"):
        session.initialize_job(JOB)
    assert {request.url.host for request in seen} == {"api.test"}
    assert "secret-token" not in str(session) + repr(session.tokens)
