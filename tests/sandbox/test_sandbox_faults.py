"""Every fault really happens on the wire (raw httpx, no facade in between)."""

from __future__ import annotations

import hashlib
import json
import time
from email.utils import parsedate_to_datetime

import httpx
import pytest

from up42_sandbox import Sandbox

from .helpers import job_path


@pytest.fixture
def job(sandbox: Sandbox) -> str:
    """A finished job, outputs ready."""
    return sandbox.create_job(start_status="SUCCEEDED")


def test_rate_limit_answers_429_with_retry_after_for_the_next_n_requests(
    sandbox: Sandbox, raw: httpx.Client, job: str
) -> None:
    fault = sandbox.inject("rate_limit", count=2, retry_after=3)
    path = job_path(sandbox, job)
    first, second, third = (raw.get(path) for _ in range(3))
    assert [first.status_code, second.status_code, third.status_code] == [429, 429, 200]
    assert first.headers["retry-after"] == "3"
    assert first.json() == {"data": None, "error": {"code": 429, "message": "Too many requests"}}
    assert fault.hits == 2
    assert fault.remaining == 0


def test_rate_limit_can_give_retry_after_as_an_http_date(
    sandbox: Sandbox, raw: httpx.Client, job: str
) -> None:
    sandbox.inject("rate_limit", retry_after=5, retry_after_date=True)
    answer = raw.get(job_path(sandbox, job))
    assert answer.status_code == 429
    moment = parsedate_to_datetime(answer.headers["retry-after"])
    assert 3 <= moment.timestamp() - time.time() <= 6


def test_a_502_burst_answers_html_and_a_503_burst_a_json_envelope(
    sandbox: Sandbox, raw: httpx.Client, job: str
) -> None:
    sandbox.inject("error", status=502, count=2)
    sandbox.inject("error", status=503, count=1, retry_after=1)
    path = job_path(sandbox, job)
    answers = [raw.get(path) for _ in range(4)]
    assert [a.status_code for a in answers] == [502, 502, 503, 200]
    assert answers[0].headers["content-type"].startswith("text/html")
    assert "502 Bad Gateway" in answers[0].text
    assert answers[2].json() == {
        "data": None,
        "error": {"code": 503, "message": "Service unavailable"},
    }
    assert answers[2].headers["retry-after"] == "1"


def test_faults_can_target_one_job_a_path_or_a_method(
    sandbox: Sandbox, raw: httpx.Client, job: str
) -> None:
    other = sandbox.create_job(start_status="SUCCEEDED")
    sandbox.inject("error", status=500, count=None, job_id=job)
    assert raw.get(job_path(sandbox, job)).status_code == 500
    assert raw.get(job_path(sandbox, other)).status_code == 200
    sandbox.clear_faults()
    sandbox.inject("error", status=504, path="/credits", method="GET")
    assert raw.post(f"{job_path(sandbox, job)}/cancel/").status_code == 200
    assert raw.get(job_path(sandbox, job)).status_code == 200
    assert raw.get(f"{job_path(sandbox, job)}/credits").status_code == 504


def test_a_forever_fault_stays_until_cleared(sandbox: Sandbox, raw: httpx.Client, job: str) -> None:
    fault = sandbox.inject("error", status=503, count=None)
    path = job_path(sandbox, job)
    assert all(raw.get(path).status_code == 503 for _ in range(5))
    assert fault.remaining is None
    assert fault.hits == 5
    sandbox.clear_faults()
    assert raw.get(path).status_code == 200


def test_delay_holds_each_answer_back(sandbox: Sandbox, raw: httpx.Client, job: str) -> None:
    sandbox.inject("delay", seconds=0.3, count=1)
    path = job_path(sandbox, job)
    started = time.monotonic()
    assert raw.get(path).status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    raw.get(path)
    assert time.monotonic() - started < 0.3


def test_malformed_json_and_wrong_content_type_answer_200_with_a_broken_body(
    sandbox: Sandbox, raw: httpx.Client, job: str
) -> None:
    sandbox.inject("malformed_json")
    sandbox.inject("wrong_content_type")
    path = job_path(sandbox, job)
    broken = raw.get(path)
    assert broken.status_code == 200
    assert broken.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        broken.json()
    html = raw.get(path)
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")


def test_unknown_status_reports_a_status_the_spec_does_not_know(
    sandbox: Sandbox, raw: httpx.Client, job: str
) -> None:
    sandbox.inject("unknown_status", value="QUEUED_FOR_REVIEW")
    path = job_path(sandbox, job)
    assert raw.get(f"{path}/tasks/").status_code == 200  # not consumed by other endpoints
    assert raw.get(path).json()["data"]["status"] == "QUEUED_FOR_REVIEW"
    assert raw.get(path).json()["data"]["status"] == "SUCCEEDED"


def test_drop_closes_the_connection_after_exactly_n_body_bytes(sandbox: Sandbox, job: str) -> None:
    sandbox.inject("drop", at_byte=1000)
    received = bytearray()
    statuses: list[int] = []

    def download() -> None:
        with httpx.stream("GET", sandbox.download_url(job)) as answer:
            statuses.append(answer.status_code)
            for chunk in answer.iter_raw():
                received.extend(chunk)

    with pytest.raises(httpx.RemoteProtocolError, match=r"incomplete|without sending complete"):
        download()
    assert statuses == [200]
    assert bytes(received) == sandbox.archive_path(job).read_bytes()[:1000]
    assert httpx.get(sandbox.download_url(job)).status_code == 200


def test_ignore_range_answers_200_with_the_whole_body(sandbox: Sandbox, job: str) -> None:
    sandbox.inject("ignore_range")
    answer = httpx.get(sandbox.download_url(job), headers={"Range": "bytes=100-"})
    assert answer.status_code == 200
    assert "content-range" not in answer.headers
    assert answer.content == sandbox.archive_path(job).read_bytes()


def test_expired_url_answers_gcs_expired_token(sandbox: Sandbox, job: str) -> None:
    sandbox.inject("expired_url")
    answer = httpx.get(sandbox.download_url(job))
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/xml")
    assert "<Code>ExpiredToken</Code>" in answer.text


def test_corrupt_flips_bytes_but_keeps_the_announced_hashes(sandbox: Sandbox, job: str) -> None:
    sandbox.inject("corrupt")
    answer = httpx.get(sandbox.download_url(job))
    good = sandbox.archive_path(job).read_bytes()
    assert answer.status_code == 200
    assert len(answer.content) == len(good)
    assert answer.content != good
    assert answer.headers["etag"] == f'"{hashlib.md5(good).hexdigest()}"'  # noqa: S324
    assert answer.headers["x-goog-hash"] == sandbox.archive_info(job).goog_hash


def test_storage_faults_can_target_one_job(sandbox: Sandbox, job: str) -> None:
    other = sandbox.create_job(start_status="SUCCEEDED")
    sandbox.inject("expired_url", job_id=other, count=None)
    assert httpx.get(sandbox.download_url(job)).status_code == 200
    assert httpx.get(sandbox.download_url(other)).status_code == 400


def test_unknown_fault_kinds_are_refused(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        sandbox.inject("gremlins")


def test_requests_are_recorded_with_their_time_and_status(
    sandbox: Sandbox, raw: httpx.Client, job: str
) -> None:
    sandbox.requests.clear()
    sandbox.inject("rate_limit", count=1)
    path = job_path(sandbox, job)
    raw.get(path)
    raw.get(path, params={"x": "1"})
    httpx.head(sandbox.download_url(job))
    records = list(sandbox.requests)
    assert [(r.listener, r.method, r.status) for r in records] == [
        ("api", "GET", 429),
        ("api", "GET", 200),
        ("storage", "HEAD", 200),
    ]
    assert records[0].path == path
    assert records[1].query == {"x": "1"}
    assert records[0].headers["authorization"].startswith("Bearer ")
    assert records[0].time <= records[1].time <= records[2].time
