"""Tokens: Basic credentials for a bearer token that expires, and 401s like the real API's."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from up42_sandbox import Sandbox

from .helpers import get_token, job_path

TOKEN_FORM = {"grant_type": "client_credentials"}


def test_the_right_credentials_get_a_bearer_token_in_both_shapes(
    sandbox: Sandbox, validate: Callable[[httpx.Response], None]
) -> None:
    answer = httpx.post(
        f"{sandbox.base_url}/oauth/token",
        auth=(sandbox.project_id, sandbox.project_api_key),
        data=TOKEN_FORM,
    )
    validate(answer)
    body = answer.json()
    assert answer.status_code == 200
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 300
    assert body["access_token"] == body["data"]["accessToken"]


def test_wrong_credentials_get_401_invalid_client(
    sandbox: Sandbox, validate: Callable[[httpx.Response], None]
) -> None:
    answer = httpx.post(
        f"{sandbox.base_url}/oauth/token", auth=(sandbox.project_id, "wrong"), data=TOKEN_FORM
    )
    validate(answer)
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    anonymous = httpx.post(f"{sandbox.base_url}/oauth/token", data=TOKEN_FORM)
    assert anonymous.status_code == 401


def test_a_wrong_grant_type_gets_400(sandbox: Sandbox) -> None:
    answer = httpx.post(
        f"{sandbox.base_url}/oauth/token",
        auth=(sandbox.project_id, sandbox.project_api_key),
        data={"grant_type": "password"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "unsupported_grant_type"


def test_calls_without_a_valid_token_get_a_401_envelope(
    sandbox: Sandbox, validate_response: Callable[[httpx.Response], None]
) -> None:
    path = sandbox.base_url + job_path(sandbox, sandbox.create_job())
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eA=="}):
        answer = httpx.get(path, headers=headers)
        validate_response(answer)
        assert answer.status_code == 401
        assert answer.json() == {"data": None, "error": {"code": 401, "message": "Unauthorized"}}


def test_tokens_expire_after_their_ttl() -> None:
    with Sandbox(token_ttl=0.6) as sb:
        path = sb.base_url + job_path(sb, sb.create_job())
        answer = httpx.post(
            f"{sb.base_url}/oauth/token", auth=(sb.project_id, sb.project_api_key), data=TOKEN_FORM
        )
        assert answer.json()["expires_in"] == 0
        headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        assert httpx.get(path, headers=headers).status_code == 200
        time.sleep(0.7)
        assert httpx.get(path, headers=headers).status_code == 401


def test_expire_tokens_kills_every_token_issued_so_far(sandbox: Sandbox) -> None:
    path = sandbox.base_url + job_path(sandbox, sandbox.create_job())
    old = {"Authorization": f"Bearer {get_token(sandbox)}"}
    assert httpx.get(path, headers=old).status_code == 200
    sandbox.expire_tokens()
    assert httpx.get(path, headers=old).status_code == 401
    fresh = {"Authorization": f"Bearer {get_token(sandbox)}"}
    assert httpx.get(path, headers=fresh).status_code == 200
