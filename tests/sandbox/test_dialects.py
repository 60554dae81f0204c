"""The "body" fault, seen on the wire with raw httpx."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from up42_sandbox import Sandbox
from up42_sandbox._faults import parse_fault_spec

from .helpers import job_path

# -- the "body" fault ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("null", None),
        ("{}", {}),
        ('{"data": null, "error": "Job is gone"}', {"data": None, "error": "Job is gone"}),
    ],
)
def test_the_body_fault_sends_any_json_on_the_matching_path(
    sandbox: Sandbox, raw: httpx.Client, content: str, expected: Any
) -> None:
    path = job_path(sandbox, sandbox.create_job())
    fault = sandbox.inject("body", path="/cancel/", content=content)
    assert raw.get(path).json()["data"]["id"]  # another path: not consumed
    answer = raw.post(f"{path}/cancel/")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.content == content.encode()
    assert answer.json() == expected
    assert fault.hits == 1
    assert raw.post(f"{path}/cancel/").json() == {"data": {}, "error": None}


def test_the_body_fault_sends_a_problem_with_its_status_and_content_type(
    sandbox: Sandbox, raw: httpx.Client
) -> None:
    path = job_path(sandbox, sandbox.create_job())
    problem = '{"type": "about:blank", "title": "Not Found", "status": 404, "detail": "gone"}'
    sandbox.inject(
        "body",
        method="GET",
        status=404,
        content=problem,
        content_type="application/problem+json",
        count=2,
    )
    assert raw.post(f"{path}/cancel/").status_code == 200  # another method: not consumed
    answers = [raw.get(path) for _ in range(3)]
    assert [a.status_code for a in answers] == [404, 404, 200]
    assert answers[0].headers["content-type"] == "application/problem+json"
    assert answers[0].json()["detail"] == "gone"


def test_the_body_fault_defaults_to_an_empty_200_and_takes_bytes(
    sandbox: Sandbox, raw: httpx.Client
) -> None:
    path = job_path(sandbox, sandbox.create_job())
    sandbox.inject("body", job_id=path.rsplit("/", 1)[1])
    empty = raw.get(path)
    assert (empty.status_code, empty.content) == (200, b"")
    assert empty.headers["content-type"] == "application/json"
    sandbox.inject("body", content=b"\xff\x00", content_type=None)
    binary = raw.get(path)
    assert binary.content == b"\xff\x00"
    assert "content-type" not in binary.headers


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        ({"status": 101}, ValueError, "body status must be"),
        ({"status": 600}, ValueError, "body status must be"),
        ({"status": 204, "content": "{}"}, ValueError, "has no body"),
        ({"content": {"data": None}}, TypeError, "str or bytes"),
        ({"content_type": 1}, TypeError, "content_type"),
        ({"retry_after": 2}, ValueError, "takes status, content and content_type"),
    ],
)
def test_bad_body_fault_settings_are_refused(
    settings: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        Sandbox().inject("body", **settings)


def test_the_command_line_keeps_a_body_fault_content_verbatim() -> None:
    assert parse_fault_spec('body:path=/cancel/,status=404,content={"a": null, "b": 1}') == (
        "body",
        {"path": "/cancel/", "status": 404, "content": '{"a": null, "b": 1}'},
    )
    assert parse_fault_spec("body:content=null") == ("body", {"content": "null"})
    assert parse_fault_spec("body:content_type=application/problem+json,count=2") == (
        "body",
        {"content_type": "application/problem+json", "count": 2},
    )
