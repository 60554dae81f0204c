"""Every cassette checked against the spec and for leaks; reads the YAML files only (offline).

A re-recording against the real API that no longer matches ``openapi/up42-jobs.yaml``
fails here, one line per problem, naming the cassette, the endpoint and the field.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path

import pytest

import up42_facade as up42
from tests.replay.conformance import (
    CASSETTES,
    OFF_SPEC,
    Interaction,
    cassette_files,
    endpoint_of,
    problems,
    read_interactions,
    spec_endpoints,
)
from tests.replay.recording import IDS_FILE, SEED
from tests.replay.scrub import (
    SCRUBBED,
    find_secrets,
    scrub_authorization,
    scrub_response,
    scrub_signed_url,
)
from up42_sandbox import Sandbox

#: The issue asks for at least this many recorded stories.
MIN_CASSETTES = 15
CASSETTE_FILES = cassette_files()
CASSETTE_IDS = [f"{path.parent.name}/{path.stem}" for path in CASSETTE_FILES]


def all_interactions() -> list[Interaction]:
    return [interaction for path in CASSETTE_FILES for interaction in read_interactions(path)]


def known_secrets() -> tuple[str, ...]:
    """API keys that must never be recorded: the seeded sandbox's, and the real one if set."""
    # Creating a Sandbox only draws its ids from the seed; nothing starts or listens.
    return (Sandbox(seed=SEED).project_api_key, os.environ.get("UP42_PROJECT_API_KEY", ""))


def test_there_are_enough_cassettes_to_tell_the_stories() -> None:
    assert len(CASSETTE_FILES) >= MIN_CASSETTES, CASSETTE_FILES


@pytest.mark.parametrize("cassette", CASSETTE_FILES, ids=CASSETTE_IDS)
def test_every_interaction_conforms_to_the_spec(cassette: Path) -> None:
    off_spec = OFF_SPEC.get(f"{cassette.parent.name}/{cassette.stem}")
    found = [
        problem
        for interaction in read_interactions(cassette)
        for problem in problems(interaction)
        if off_spec is None or endpoint_of(interaction) != off_spec[0]
    ]
    assert not found, "\n".join(["the cassette does not match the spec:", *found])


@pytest.mark.parametrize("cassette", sorted(OFF_SPEC))
def test_an_off_spec_cassette_breaks_the_spec_where_it_says(cassette: str) -> None:
    endpoint, why = OFF_SPEC[cassette]
    path = CASSETTES / f"{cassette}.yaml"
    off = [i for i in read_interactions(path) if endpoint_of(i) == endpoint and problems(i)]
    assert off, f"{cassette} was kept off the spec ({why}) but now conforms: drop it from OFF_SPEC"


def test_the_cassettes_cover_every_endpoint_of_the_spec_with_a_success() -> None:
    covered = {
        endpoint_of(interaction)
        for interaction in all_interactions()
        if not interaction.is_storage and interaction.status < 300
    }
    missing = sorted(set(spec_endpoints()) - covered)
    assert not missing, f"no cassette holds a successful call of {missing}"


#: The replay module that must use each class's members, and the instance attributes it has.
MEMBER_STORIES = {
    up42.Job: ("test_job_replay.py", {"job_id", "project_id", "results", "quicklooks"}),
    up42.JobTask: (
        "test_jobtask_replay.py",
        {"jobtask_id", "job_id", "project_id", "results", "quicklooks"},
    ),
}


@pytest.mark.parametrize("cls", MEMBER_STORIES, ids=lambda cls: cls.__name__)
def test_the_replays_use_every_public_member(cls: type) -> None:
    # A new public member fails here until a replay test uses it (text search, so a
    # `.name` anywhere in the module counts; the module is about this one class).
    module, attributes = MEMBER_STORIES[cls]
    source = (Path(__file__).parent / module).read_text(encoding="utf-8")
    members = {name for name in dir(cls) if not name.startswith("_")} | attributes
    missing = sorted(name for name in members if not re.search(rf"\.{name}\b", source))
    if "repr(" not in source:
        missing.append("__repr__")
    assert not missing, f"{module} never uses {cls.__name__}.{missing}"


def test_the_cassettes_hold_the_failures_the_facade_must_survive() -> None:
    statuses = {interaction.status for interaction in all_interactions()}
    assert {401, 404, 429} - statuses == set()
    assert any(interaction.is_storage for interaction in all_interactions()), "no download"


@pytest.mark.parametrize("cassette", [*CASSETTE_FILES, IDS_FILE], ids=[*CASSETTE_IDS, "ids.json"])
def test_no_recording_holds_a_token_key_or_signature(cassette: Path) -> None:
    leaks = find_secrets(cassette.read_text(encoding="utf-8"), known=known_secrets())
    assert not leaks, f"{cassette.relative_to(CASSETTES)} leaks: {leaks}"


# -- the checks themselves can fail ---------------------------------------------------------

#: One of each leak the scan must catch (made-up values shaped like the real ones).
DIRTY = {
    "bearer header": "authorization:\n  - Bearer abcdef0123456789abcdef",
    "folded bearer header": "      - Bearer\n        abcdef0123456789abcdef",
    "basic header": "authorization:\n  - Basic cHJvamVjdDpzYW5kYm94LWtleQ==",
    "JWT in a body": "string: 'token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'",
    "token body": """string: '{"access_token":"opaque-token-value-123"}'""",
    "camel-case token": """string: '{"data":{"accessToken":"opaque-token-value-123"}}'""",
    "signature": "uri: https://storage/x.tgz?X-Goog-Date=1&X-Goog-Signature=2ade97109e57a7e1",
    "credential": "url: https://storage/x.tgz?X-Goog-Credential=signer%40up42.iam%2F20210928",
    "known key": "body: sandbox-23b8c1e9392456de",
    "cookie": "headers:\n      Set-Cookie:\n      - session=abc; HttpOnly",
}
#: Scrubbed values and look-alikes that are not secrets.
CLEAN = """
authorization:
  - Bearer SCRUBBED
  - Basic SCRUBBED
www-authenticate:
  - Bearer error="invalid_token"
string: '{"access_token":"SCRUBBED","token_type":"bearer","data":{"accessToken":"SCRUBBED"}}'
uri: http://127.0.0.1:1/up42-results/j/output.tgz?X-Goog-Credential=SCRUBBED&X-Goog-Date=20260101T000000Z&X-Goog-Signature=SCRUBBED
"""


@pytest.mark.parametrize("sample", DIRTY.values(), ids=DIRTY.keys())
def test_the_secret_scan_finds_each_kind_of_leak(sample: str) -> None:
    assert find_secrets(sample, known=("sandbox-23b8c1e9392456de",))


def test_the_secret_scan_passes_scrubbed_values() -> None:
    assert find_secrets(CLEAN) == []


def test_scrubbing_replaces_credentials_tokens_and_signatures_and_drops_volatile_headers() -> None:
    assert scrub_authorization(key="authorization", value="Bearer eyJ.x.y", request=None) == (
        f"Bearer {SCRUBBED}"
    )
    url = "http://h/b/o.tgz?X-Goog-Credential=a%40b&X-Goog-Date=D&X-Goog-Signature=ff"
    assert scrub_signed_url(url) == (
        f"http://h/b/o.tgz?X-Goog-Credential={SCRUBBED}&X-Goog-Date=D&X-Goog-Signature={SCRUBBED}"
    )
    token = {"data": {"accessToken": "t0k3n"}, "access_token": "t0k3n", "token_type": "bearer"}
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {
            "content-type": ["application/json"],
            "content-length": ["99"],
            "date": ["Mon, 30 Nov 2026 11:48:09 GMT"],
            "server": ["uvicorn"],
        },
        "body": {"string": json.dumps(token).encode()},
    }
    scrubbed = scrub_response(response)
    body = scrubbed["body"]["string"]
    assert json.loads(body) == {
        "data": {"accessToken": SCRUBBED},
        "access_token": SCRUBBED,
        "token_type": "bearer",
    }
    assert scrubbed["headers"] == {
        "content-type": ["application/json"],
        "content-length": [str(len(body))],
    }


def test_a_response_that_breaks_the_spec_fails_naming_the_endpoint_and_the_field() -> None:
    job = next(
        interaction
        for interaction in all_interactions()
        if endpoint_of(interaction) == "GET /projects/{project_id}/jobs/{job_id}"
        and interaction.status == 200
    )
    body = json.loads(job.response_body())
    del body["data"]["status"]
    body["data"]["createdAt"] = 20210928
    response = copy.deepcopy(job.response)
    response["body"]["string"] = json.dumps(body).encode()
    broken = Interaction(job.cassette, job.index, job.request, response)
    [message] = problems(broken)
    assert f"GET /projects/{{project_id}}/jobs/{{job_id}} ({job.request.path})" in message
    assert "at $.data: 'status' is a required property" in message
    assert "at $.data.createdAt: 20210928 is not of type 'string'" in message


def test_a_status_the_spec_does_not_list_fails_naming_the_endpoint() -> None:
    job = next(i for i in all_interactions() if endpoint_of(i) and i.status == 200)
    response = copy.deepcopy(job.response)
    response["status"]["code"] = 418
    [message] = problems(Interaction(job.cassette, job.index, job.request, response))
    assert f"{endpoint_of(job)} ({job.request.path}): response 418:" in message


def test_a_storage_download_without_hash_or_with_a_bearer_token_fails() -> None:
    download = next(i for i in all_interactions() if i.is_storage)
    response = copy.deepcopy(download.response)
    response["headers"] = {
        name: values for name, values in response["headers"].items() if name != "x-goog-hash"
    }
    request = copy.deepcopy(download.request)
    request.headers["Authorization"] = f"Bearer {SCRUBBED}"
    found = problems(Interaction(download.cassette, download.index, request, response))
    assert any("no x-goog-hash header" in problem for problem in found)
    assert any("carried an Authorization header" in problem for problem in found)
