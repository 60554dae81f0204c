"""Helpers shared by the sandbox tests: spec adapters for httpx, tokens, polling."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from up42_sandbox import Sandbox

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "up42-jobs.yaml"
#: The spec's only server: requests are validated as if they went to the real API.
SPEC_SERVER = "https://api.up42.com"
#: Fast enough that a default job (8 sandbox seconds) ends in 0.4 s.
SPEED = 20.0
#: Real seconds a poll loop waits before failing the test.
POLL_TIMEOUT = 10.0


class OpenAPIRequestAdapter:
    """An httpx request seen through openapi-core's request protocol."""

    def __init__(self, request: httpx.Request) -> None:
        self.host_url = SPEC_SERVER
        self.path = request.url.path
        self.method = request.method.lower()
        self.body: bytes | None = request.content or None
        self.content_type = request.headers.get("content-type", "")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(request.url.query.decode())),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        )


class OpenAPIResponseAdapter:
    """An httpx response seen through openapi-core's response protocol."""

    def __init__(self, response: httpx.Response) -> None:
        self.data = response.content
        self.status_code = response.status_code
        self.content_type = response.headers.get("content-type", "")
        self.headers = Headers(dict(response.headers))


def get_token(sb: Sandbox) -> str:
    """A token from ``POST /oauth/token``, the way clients get one."""
    response = httpx.post(
        f"{sb.base_url}/oauth/token",
        auth=(sb.project_id, sb.project_api_key),
        data={"grant_type": "client_credentials"},
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def job_path(sb: Sandbox, job_id: str) -> str:
    """``/projects/{project_id}/jobs/{job_id}``."""
    return f"/projects/{sb.project_id}/jobs/{job_id}"


def wait_for(
    client: httpx.Client, path: str, statuses: set[str], timeout: float = POLL_TIMEOUT
) -> list[str]:
    """Poll a job until its status is one of ``statuses``; returns every status seen, in order."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(path).json()["data"]["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in statuses:
            return seen
        time.sleep(0.02)
    raise AssertionError(f"job never reached {statuses}; saw {seen}")
