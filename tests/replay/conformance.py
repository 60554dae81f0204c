"""Cassettes read back and checked: every API interaction against the spec, storage ones by hand.

An interaction is an API call when its URL is not a signed storage URL. API calls are
validated with openapi-core as if they had gone to the spec's server (the recorded host is
a sandbox port or the real API; only the path counts). Signed-URL downloads go to a cloud
storage host the spec does not describe, so they get the checks the facade relies on instead.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema.exceptions import ValidationError, best_match, by_relevance
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from vcr.request import Request as VcrRequest
from vcr.serialize import deserialize
from vcr.serializers import yamlserializer
from werkzeug.datastructures import Headers, ImmutableMultiDict

from tests.replay.scrub import SIGNED_URL_SECRETS

__all__ = [
    "CASSETTES",
    "OFF_SPEC",
    "SPEC_PATH",
    "Interaction",
    "cassette_files",
    "endpoint_of",
    "load_spec",
    "problems",
    "read_interactions",
    "spec_endpoints",
]

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "openapi" / "up42-jobs.yaml"
CASSETTES = ROOT / "tests" / "cassettes"
#: What a signed-URL download must answer: the whole object, or the range a resume asked for.
STORAGE_STATUSES = frozenset({200, 206})
#: Headers the facade needs from storage: the size to expect and the hashes to verify.
STORAGE_HEADERS = ("content-length", "x-goog-hash")
#: Cassettes that record answers outside the spec on purpose, to show that the client takes
#: what the real service sent (test_classic_replay): each may break the spec only at the
#: endpoint named, and must, or the entry is stale.
OFF_SPEC = {
    "test_classic_replay/test_a_cancel_answered_with_an_empty_body_succeeds": (
        "POST /projects/{project_id}/jobs/{job_id}/cancel/",
        "the service answered some cancels 200 with an empty body",
    ),
    "test_classic_replay/test_a_cancel_answered_with_null_or_an_empty_object_succeeds[null]": (
        "POST /projects/{project_id}/jobs/{job_id}/cancel/",
        "the service answered some cancels 200 with JSON null",
    ),
    **{
        f"test_classic_replay/test_a_success_without_data_but_with_an_error_{case}": (
            "GET /projects/{project_id}/jobs/{job_id}/credits",
            "the service answered some failures 200 with data null and an error",
        )
        for case in ("raises_the_servers_words[string]", "raises_the_servers_words[object]")
    },
}
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True)
class Interaction:
    """One recorded request and its response."""

    cassette: Path
    index: int
    request: VcrRequest
    response: dict[str, Any]

    @property
    def is_storage(self) -> bool:
        """Whether the request went to a signed cloud-storage URL rather than the API."""
        return any(name in SIGNED_URL_SECRETS for name, _ in self.request.query)

    @property
    def status(self) -> int:
        """The response's status code."""
        return int(self.response["status"]["code"])

    @property
    def label(self) -> str:
        """Where it is and what it asked for: cassette, position, endpoint (the path as sent).

        Example: ``cassettes/m/t.yaml #3: GET /projects/{project_id}/jobs/{job_id} (/projects/…)``.
        """
        where = self.cassette.relative_to(CASSETTES.parent)
        endpoint = endpoint_of(self)
        sent = f"{self.request.method} {self.request.path}"
        return f"{where} #{self.index}: " + (
            f"{endpoint} ({self.request.path})" if endpoint else sent
        )

    def response_headers(self) -> Headers:
        """The response headers (names in any case)."""
        return Headers([(k, v) for k, values in self.response["headers"].items() for v in values])

    def response_body(self) -> bytes:
        """The response body as bytes, whatever YAML made of it."""
        body = self.response["body"]["string"]
        return body.encode() if isinstance(body, str) else bytes(body)


def cassette_files() -> list[Path]:
    """Every cassette under ``tests/cassettes/<module>/``."""
    return sorted(CASSETTES.glob("*/*.yaml"))


def read_interactions(path: Path) -> list[Interaction]:
    """The interactions of a cassette, in recording order."""
    requests, responses = deserialize(path.read_text(encoding="utf-8"), yamlserializer)
    return [
        Interaction(cassette=path, index=i, request=request, response=response)
        for i, (request, response) in enumerate(zip(requests, responses, strict=True))
    ]


# -- the spec ------------------------------------------------------------------------------


def _as_text(data: bytes) -> str:
    return data.decode("latin-1")


@functools.cache
def load_spec() -> OpenAPI:
    """The spec, loaded once.

    openapi-core validates an OAS 3.1 ``format: binary`` body as a JSON-Schema string, so
    binary bodies (quicklook images) are handed to it as text, byte for byte.
    """
    binary = dict.fromkeys(_binary_media_types(), _as_text)
    # RFC 7807 problem bodies are JSON; openapi-core knows only application/json by name.
    problem = {"application/problem+json": json.loads}
    return OpenAPI.from_file_path(
        str(SPEC_PATH), config=Config(extra_media_type_deserializers={**binary, **problem})
    )


@functools.cache
def _raw_spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


def _binary_media_types() -> set[str]:
    """Media types whose schema is ``format: binary`` anywhere in the spec."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for media, item in (node.get("content") or {}).items():
                if isinstance(item, dict) and (item.get("schema") or {}).get("format") == "binary":
                    found.add(media)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(_raw_spec())
    return found


def spec_server() -> str:
    """The spec's (first) server URL, where every recorded API call is validated as sent."""
    return str(_raw_spec()["servers"][0]["url"]).rstrip("/")


@functools.cache
def spec_endpoints() -> dict[str, re.Pattern[str]]:
    """``{"GET /projects/{project_id}/jobs/{job_id}": pattern}`` for every operation in the spec."""
    endpoints = {}
    for template, item in _raw_spec()["paths"].items():
        regex = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        for method in HTTP_METHODS:
            if method in item:
                endpoints[f"{method.upper()} {template}"] = re.compile(regex)
    return endpoints


def endpoint_of(interaction: Interaction) -> str | None:
    """The spec operation the request was meant for (``"GET /projects/{project_id}/..."``)."""
    method = interaction.request.method.upper()
    for endpoint, pattern in spec_endpoints().items():
        if endpoint.startswith(f"{method} ") and pattern.fullmatch(interaction.request.path):
            return endpoint
    return None


# -- validation ---------------------------------------------------------------------------


@dataclass
class SpecRequest:
    """A recorded request as openapi-core's ``Request`` protocol sees it."""

    host_url: str
    path: str
    method: str
    content_type: str
    body: bytes | None
    parameters: RequestParameters = field(default_factory=RequestParameters)


@dataclass
class SpecResponse:
    """A recorded response as openapi-core's ``Response`` protocol sees it."""

    status_code: int
    content_type: str
    headers: Headers
    data: bytes


def _spec_request(interaction: Interaction) -> SpecRequest:
    request = interaction.request
    headers = Headers(list(request.headers.items()))
    body = request.body
    if isinstance(body, str):
        body = body.encode()
    return SpecRequest(
        host_url=spec_server(),
        path=request.path,
        method=request.method.lower(),
        content_type=headers.get("Content-Type", ""),
        body=body or None,
        parameters=RequestParameters(
            query=ImmutableMultiDict(request.query),
            header=headers,
            cookie=ImmutableMultiDict(),
            path={},
        ),
    )


def _spec_response(interaction: Interaction) -> SpecResponse:
    headers = interaction.response_headers()
    return SpecResponse(
        status_code=interaction.status,
        content_type=headers.get("Content-Type", ""),
        headers=headers,
        data=interaction.response_body(),
    )


def problems(interaction: Interaction) -> list[str]:
    """Why the interaction does not conform, one line per problem, naming endpoint and field.

    Example: ``<label>: response 200: InvalidData; at $.data: 'status' is a required property``.
    """
    if interaction.is_storage:
        return [f"{interaction.label}: {issue}" for issue in _storage_issues(interaction)]
    openapi = load_spec()
    request = _spec_request(interaction)
    found = [f"request: {_describe(error)}" for error in openapi.iter_request_errors(request)]
    found += [
        f"response {interaction.status}: {_describe(error)}"
        for error in openapi.iter_response_errors(request, _spec_response(interaction))
    ]
    return [f"{interaction.label}: {issue}" for issue in found]


def _storage_issues(interaction: Interaction) -> Iterator[str]:
    if interaction.status not in STORAGE_STATUSES:
        yield f"storage answered {interaction.status}, not {sorted(STORAGE_STATUSES)}"
    headers = interaction.response_headers()
    for name in STORAGE_HEADERS:
        if name not in headers:
            yield f"storage response has no {name} header"
    if "authorization" in {name.lower() for name in interaction.request.headers}:
        yield "the request to the signed URL carried an Authorization header"


def _describe(error: BaseException) -> str:
    """The error with the field paths of its schema errors (``at $.data.status: ...``)."""
    parts = [type(error).__name__ + (f" ({error})" if str(error) and not error.__cause__ else "")]
    cause: BaseException | None = error.__cause__
    while cause is not None:
        schema_errors: tuple[ValidationError, ...] = getattr(cause, "schema_errors", ())
        if schema_errors:
            parts.extend(_field_error(schema_error) for schema_error in schema_errors)
        else:
            parts.append(str(cause))
        cause = cause.__cause__
    return "; ".join(parts)


def _field_error(error: ValidationError) -> str:
    # Inside anyOf/oneOf, the branch that got furthest tells most: a missing field of an
    # object says more than "is not of type 'null'" from the branch that allows null.
    relevance = by_relevance(weak=frozenset({"anyOf", "oneOf", "type"}))
    deepest = best_match(error.context, key=relevance) if error.context else None
    chosen = deepest if deepest is not None else error
    return f"at {chosen.json_path}: {_short(chosen.message)}"


def _short(message: str, limit: int = 160) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"
