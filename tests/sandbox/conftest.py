"""Fixtures of the sandbox tests: a running sandbox, spec-validating clients, polling helpers."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from openapi_core import Config, OpenAPI

from up42_sandbox import Sandbox

from .helpers import SPEC_PATH, SPEED, OpenAPIRequestAdapter, OpenAPIResponseAdapter, get_token


@pytest.fixture(scope="session")
def openapi() -> OpenAPI:
    """The spec, loaded once.

    openapi-core validates an OAS 3.1 ``format: binary`` body as a JSON-Schema string, so image
    bytes are handed to it as text; the images themselves are checked with Pillow elsewhere.
    It reads only ``application/json`` as JSON, so RFC 7807 problem bodies (the classic
    dialect's 400s and 404s) are read as JSON too.
    """
    deserializers: dict[str, Callable[[bytes], Any]] = {
        "image/png": _latin1,
        "image/jpeg": _latin1,
        "application/problem+json": json.loads,
    }
    return OpenAPI.from_file_path(
        str(SPEC_PATH), config=Config(extra_media_type_deserializers=deserializers)
    )


def _latin1(data: bytes) -> str:
    return data.decode("latin-1")


def _check_against_spec(openapi: OpenAPI, response: httpx.Response, *, request_too: bool) -> None:
    response.read()
    request = OpenAPIRequestAdapter(response.request)
    with warnings.catch_warnings():
        # openapi-core skips the spec's oauth2 scheme with a warning; bearerAuth is checked.
        warnings.filterwarnings("ignore", "Unsupported scheme type", UserWarning)
        if request_too:
            openapi.validate_request(request)
        openapi.validate_response(request, OpenAPIResponseAdapter(response))


@pytest.fixture(scope="session")
def validate_response(openapi: OpenAPI) -> Callable[[httpx.Response], None]:
    """Validate a response against the spec, whatever its request (even a deliberately bad one)."""
    return lambda response: _check_against_spec(openapi, response, request_too=False)


@pytest.fixture(scope="session")
def validate(openapi: OpenAPI) -> Callable[[httpx.Response], None]:
    """Validate a response and its request against the spec; raises on any mismatch."""
    return lambda response: _check_against_spec(openapi, response, request_too=True)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh sandbox at test speed; stopped (ports freed) after the test."""
    with Sandbox(speed=SPEED) as sb:
        yield sb


@pytest.fixture
def api(sandbox: Sandbox, validate: Callable[[httpx.Response], None]) -> Iterator[httpx.Client]:
    """A client with a bearer token whose every request and response is checked against the spec."""
    with httpx.Client(
        base_url=sandbox.base_url,
        headers={"Authorization": f"Bearer {get_token(sandbox)}"},
        event_hooks={"response": [validate]},
    ) as client:
        yield client


@pytest.fixture
def slow_sandbox() -> Iterator[Sandbox]:
    """A sandbox slow enough (speed 5) that every short phase spans several polls."""
    with Sandbox(speed=5) as sb:
        yield sb


@pytest.fixture
def slow_api(
    slow_sandbox: Sandbox, validate: Callable[[httpx.Response], None]
) -> Iterator[httpx.Client]:
    """Like ``api``, for ``slow_sandbox``."""
    with httpx.Client(
        base_url=slow_sandbox.base_url,
        headers={"Authorization": f"Bearer {get_token(slow_sandbox)}"},
        event_hooks={"response": [validate]},
    ) as client:
        yield client


@pytest.fixture
def raw(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """A client with a bearer token and no validation: faults answer off-spec on purpose."""
    with httpx.Client(
        base_url=sandbox.base_url, headers={"Authorization": f"Bearer {get_token(sandbox)}"}
    ) as client:
        yield client
