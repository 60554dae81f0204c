"""The retry transport, Retry-After parsing, error mapping and secret redaction."""

from __future__ import annotations

import email.utils
import json
import logging
import random

import httpx
import pytest

from up42_facade import (
    APIError,
    AuthenticationError,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    ServerError,
)
from up42_facade._redact import SECRET_FILTER, install_secret_filter, redact_url
from up42_facade._responses import envelope_error, error_from_response
from up42_facade._retry import parse_retry_after
from up42_facade._status import JobStatus
from up42_facade._transport import RetryTransport


class FakeClock:
    """A clock that only moves when the transport sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def scripted(
    *answers: httpx.Response | Exception,
) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport answering with the given responses (or raising the given errors) in order."""
    queue = list(answers)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handler), seen


def client_with(transport: httpx.BaseTransport, clock: FakeClock, **policy: float) -> httpx.Client:
    retry = RetryTransport(
        transport,
        policy=RetryPolicy(**policy),  # type: ignore[arg-type]
        sleep=clock.sleep,
        clock=clock,
        rng=random.Random(7),
    )
    return httpx.Client(base_url="http://api.test", transport=retry)


def test_a_429_waits_exactly_as_long_as_retry_after_says() -> None:
    clock = FakeClock()
    transport, seen = scripted(
        httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, json={})
    )
    response = client_with(transport, clock).get("/jobs")
    assert response.status_code == 200
    assert clock.sleeps == [2.0]
    assert len(seen) == 2


def test_retry_after_as_an_http_date_is_honoured() -> None:
    date = email.utils.formatdate(1_000_003.0, usegmt=True)
    assert parse_retry_after(date, now=1_000_000.0) == pytest.approx(3.0)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("-4") == 0.0


def test_a_retry_after_beyond_the_deadline_returns_the_429_at_once() -> None:
    clock = FakeClock()
    transport, seen = scripted(httpx.Response(429, headers={"Retry-After": "600"}))
    response = client_with(transport, clock, deadline=60.0).get("/jobs")
    assert response.status_code == 429
    assert clock.sleeps == []
    assert len(seen) == 1


def test_503s_are_retried_a_bounded_number_of_times_with_growing_backoff() -> None:
    clock = FakeClock()
    transport, seen = scripted(*[httpx.Response(503, json={"error": "busy"}) for _ in range(5)])
    response = client_with(transport, clock, max_attempts=5, backoff_base=1.0).get("/jobs")
    assert response.status_code == 503
    assert len(seen) == 5
    assert len(clock.sleeps) == 4
    # Full jitter: each wait is at most the doubled ceiling of its attempt.
    for attempt, wait in enumerate(clock.sleeps, start=1):
        assert 0 <= wait <= 2 ** (attempt - 1)


def test_a_post_is_not_retried_on_502_unless_it_is_idempotent() -> None:
    clock = FakeClock()
    transport, seen = scripted(httpx.Response(502, text="<html>bad gateway</html>"))
    response = client_with(transport, clock).post("/projects/p/jobs/j/start")
    assert response.status_code == 502
    assert len(seen) == 1

    transport, seen = scripted(httpx.Response(502), httpx.Response(200, json={}))
    response = client_with(transport, clock).post("/projects/p/jobs/j/cancel/")
    assert response.status_code == 200
    assert len(seen) == 2


def test_connect_errors_are_retried_for_every_method() -> None:
    clock = FakeClock()
    transport, seen = scripted(httpx.ConnectError("refused"), httpx.Response(201))
    assert client_with(transport, clock).post("/anything").status_code == 201
    assert len(seen) == 2


def test_read_timeouts_are_retried_for_get_and_surface_when_attempts_run_out() -> None:
    clock = FakeClock()
    transport, seen = scripted(*[httpx.ReadTimeout("slow") for _ in range(3)])
    with pytest.raises(httpx.ReadTimeout):
        client_with(transport, clock, max_attempts=3).get("/jobs")
    assert len(seen) == 3


def test_other_4xx_are_final() -> None:
    clock = FakeClock()
    transport, seen = scripted(httpx.Response(400, json={"error": "bad"}))
    assert client_with(transport, clock).get("/jobs").status_code == 400
    assert len(seen) == 1


PROBLEM_JSON = {"Content-Type": "application/problem+json"}


def response(status: int, **kwargs: object) -> httpx.Response:
    request = httpx.Request("GET", "http://api.test/projects/p/jobs/j?secret=1")
    return httpx.Response(status, request=request, **kwargs)  # type: ignore[arg-type]


def test_statuses_map_to_typed_errors_with_the_servers_message_and_path() -> None:
    error = error_from_response(
        response(404, json={"data": None, "error": {"code": 404, "message": "Job not found"}})
    )
    assert isinstance(error, NotFoundError)
    assert error.status_code == 404
    assert "Job not found" in str(error)
    assert error.path == "/projects/p/jobs/j"
    assert "secret" not in str(error)
    assert isinstance(error_from_response(response(401, json={"error": "x"})), AuthenticationError)
    assert isinstance(error_from_response(response(403, json={"error": "no"})), AuthenticationError)
    assert type(error_from_response(response(400, json={"error": "bad id"}))) is APIError


def test_an_html_error_page_becomes_a_server_error_with_a_short_excerpt() -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body>" + "x" * 5000 + "</body></html>"
    error = error_from_response(response(502, text=page))
    assert isinstance(error, ServerError)
    assert "502 Bad Gateway" in str(error)
    assert "<html>" not in str(error)
    assert len(str(error)) < 300


def test_a_rate_limit_error_says_when_to_come_back() -> None:
    error = error_from_response(
        response(429, headers={"Retry-After": "90"}, json={"error": "slow"})
    )
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 90.0
    assert "come back in 90 s" in str(error)


def test_signed_urls_lose_their_query_when_shown() -> None:
    url = "https://storage.test/b/o.tgz?X-Goog-Signature=abc&X-Goog-Credential=me"
    assert redact_url(url) == "https://storage.test/b/o.tgz"


def test_the_secret_filter_cleans_httpx_and_httpcore_records(
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_secret_filter(["the-api-key-0001"])
    caplog.set_level(logging.DEBUG)
    logging.getLogger("httpcore.http11").debug(
        "send_request_headers headers=[(b'Authorization', b'Bearer eyJtoken.part')]"
    )
    logging.getLogger("httpx").info(
        'HTTP Request: GET http://s/o.tgz?X-Goog-Signature=f00d&X-Goog-Date=1 "HTTP/1.1 200 OK"'
    )
    logging.getLogger("up42_facade").warning("key is %s", "the-api-key-0001")
    text = caplog.text
    for secret in ("eyJtoken.part", "f00d", "the-api-key-0001"):
        assert secret not in text
    assert "X-Goog-Date=1" in text  # only the secrets go
    assert SECRET_FILTER.redact('{"access_token": "abc123"}') == '{"access_token": "[REDACTED]"}'


def test_a_problem_body_gives_the_typed_error_worded_from_title_and_detail() -> None:
    problem = {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "No job j"}
    error = error_from_response(
        response(404, content=json.dumps(problem).encode(), headers=PROBLEM_JSON)
    )
    assert isinstance(error, NotFoundError)
    assert "404 for GET /projects/p/jobs/j: Not Found: No job j (check" in str(error)
    assert "about:blank" not in str(error)
    only_title = error_from_response(response(400, json={"title": "Bad Request", "status": 400}))
    assert str(only_title).endswith(": Bad Request")


def test_a_success_without_data_but_with_an_error_carries_the_servers_words() -> None:
    worded = envelope_error(response(200, json={"data": None, "error": "Job is archived"}))
    assert type(worded) is APIError and worded.status_code == 200
    assert "Job is archived" in str(worded)
    detailed = envelope_error(
        response(200, json={"data": None, "error": {"code": 410, "message": "Gone for good"}})
    )
    assert detailed is not None and "Gone for good" in str(detailed)


@pytest.mark.parametrize(
    "body",
    [
        {"data": {"id": "j"}, "error": {}},
        {"data": {"id": "j"}, "error": "ignored beside real data"},
        {"data": None, "error": {}},
        {"data": None, "error": None},
        [],
    ],
)
def test_an_empty_error_or_one_beside_data_is_no_error(body: object) -> None:
    assert envelope_error(response(200, json=body)) is None


def test_the_services_other_spellings_of_a_status_are_the_known_status() -> None:
    assert JobStatus.parse("NOT_STARTED") is JobStatus.NOT_STARTED
    assert JobStatus.is_known("NOT_STARTED")
    assert JobStatus("NOT_STARTED") == "NOT STARTED"
    assert JobStatus.parse("NOT-STARTED") == "NOT-STARTED"  # no guessing beyond SPELLINGS
