"""What a user sees when the job API misbehaves: rate limits, gateway errors, timeouts, odd bodies.

Each story runs against the sandbox over loopback and checks the answer or the error the user
gets, how many requests reached the server (retries are bounded and only where they are safe),
how long the client waited between them, and that nothing was written to the current folder.
"""

from __future__ import annotations

import itertools
import logging
import random
import re
import socket
import time
import types
from pathlib import Path

import httpx
import pytest

import up42_facade as up42
from up42_facade import _transport
from up42_sandbox import Sandbox

from .conftest import Connect, RecordingSleep, api_requests, files_under

# Lets the sandbox's clock and the client's disagree by this much (scheduling, loopback).
TIMING_SLACK = 0.05
UNKNOWN_JOB = "00000000-0000-4000-8000-000000000000"


def running_job(sandbox: Sandbox, session: up42.Up42, outcome: str = "long_running") -> up42.Job:
    return session.initialize_job(sandbox.create_job(outcome))


def job_gets(sandbox: Sandbox, job: up42.Job) -> list[float]:
    """Arrival times of the GETs of the job itself (not its tasks or outputs)."""
    path = f"/projects/{job.project_id}/jobs/{job.job_id}"
    return [r.time for r in api_requests(sandbox, method="GET") if r.path == path]


def test_a_429_with_retry_after_in_seconds_is_waited_out_exactly_and_the_call_succeeds(
    sandbox: Sandbox, connect: Connect, workdir: Path
) -> None:
    sleep = RecordingSleep(real=None)
    job = running_job(sandbox, connect(sleep=sleep))
    sandbox.requests.clear()
    sandbox.inject("rate_limit", count=1, job_id=job.job_id, retry_after=1)

    assert job.status in {"NOT STARTED", "PENDING", "RUNNING"}

    assert sleep.calls == [1.0]
    first, second = job_gets(sandbox, job)
    assert second - first >= 1.0 - TIMING_SLACK
    assert files_under(workdir) == []


def test_a_429_with_retry_after_as_an_http_date_waits_until_that_date(
    sandbox: Sandbox, connect: Connect
) -> None:
    sleep = RecordingSleep()
    job = running_job(sandbox, connect(sleep=sleep))
    sandbox.inject("rate_limit", count=1, job_id=job.job_id, retry_after=2, retry_after_date=True)

    assert job.status in {"NOT STARTED", "PENDING", "RUNNING"}

    # The date has one-second resolution: "in 2 s" is between 1 and 2 s away (less the time
    # the answer took), far longer than the backoff (at most 0.2 s here) without the header.
    [wait] = sleep.calls
    assert 0.5 < wait <= 2.0


def test_a_503_with_retry_after_is_waited_out_too(sandbox: Sandbox, connect: Connect) -> None:
    sleep = RecordingSleep()
    job = running_job(sandbox, connect(sleep=sleep))
    sandbox.inject("error", count=1, job_id=job.job_id, status=503, retry_after=3)

    job.info  # noqa: B018 - the request is the point

    assert sleep.calls == [3.0]


def test_a_retry_after_past_the_deadline_fails_at_once_saying_when_to_come_back(
    sandbox: Sandbox, connect: Connect, workdir: Path
) -> None:
    sleep = RecordingSleep()
    session = connect(sleep=sleep, retry=up42.RetryPolicy(deadline=5.0))
    job = running_job(sandbox, session)
    sandbox.requests.clear()
    sandbox.inject("rate_limit", count=1, job_id=job.job_id, retry_after=90)

    with pytest.raises(up42.RateLimitError) as caught:
        job.track_status(poll_interval=0.01)

    error = caught.value
    assert error.status_code == 429
    assert error.retry_after == 90.0
    assert re.search(r"come back in 90 s, at \d\d:\d\d:\d\d UTC", str(error))
    assert sleep.calls == []
    assert len(job_gets(sandbox, job)) == 1
    assert files_under(workdir) == []


class _HighestJitter(random.Random):
    """Full jitter always drawing its ceiling, so the exponential schedule shows exactly."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_five_503s_in_a_row_are_retried_with_growing_waits_and_the_last_error_surfaces(
    sandbox: Sandbox, connect: Connect, monkeypatch: pytest.MonkeyPatch, workdir: Path
) -> None:
    monkeypatch.setattr(_transport, "random", types.SimpleNamespace(Random=_HighestJitter))
    sleep = RecordingSleep(real=None)
    policy = up42.RetryPolicy(max_attempts=5, backoff_base=0.02, backoff_cap=1.0, deadline=10.0)
    job = running_job(sandbox, connect(sleep=sleep, retry=policy))
    sandbox.requests.clear()
    sandbox.inject("error", count=5, job_id=job.job_id, status=503)

    with pytest.raises(up42.ServerError) as caught:
        job.info  # noqa: B018

    assert caught.value.status_code == 503
    assert "Service unavailable" in str(caught.value)
    assert sleep.calls == pytest.approx([0.02, 0.04, 0.08, 0.16])
    arrivals = job_gets(sandbox, job)
    assert len(arrivals) == 5
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert all(gap >= wait - TIMING_SLACK for gap, wait in zip(gaps, sleep.calls, strict=True))
    assert files_under(workdir) == []


def test_backoff_is_jittered_below_a_doubling_ceiling(sandbox: Sandbox, connect: Connect) -> None:
    sleep = RecordingSleep()
    policy = up42.RetryPolicy(max_attempts=5, backoff_base=0.5, backoff_cap=30.0)
    job = running_job(sandbox, connect(sleep=sleep, retry=policy))
    sandbox.inject("error", count=4, job_id=job.job_id, status=503)

    job.info  # noqa: B018 - the fifth attempt gets through

    assert len(sleep.calls) == 4
    for attempt, wait in enumerate(sleep.calls):
        assert 0.0 <= wait <= 0.5 * 2**attempt


def test_a_502_html_page_is_retried_and_the_user_never_sees_it(
    sandbox: Sandbox, connect: Connect
) -> None:
    job = running_job(sandbox, connect())
    sandbox.requests.clear()
    sandbox.inject("error", count=1, job_id=job.job_id, status=502)

    assert job.status in {"NOT STARTED", "PENDING", "RUNNING"}

    assert [r.status for r in api_requests(sandbox)] == [502, 200]


@pytest.mark.parametrize(
    ("status", "title"), [(502, "502 Bad Gateway"), (504, "504 Gateway Time-out")]
)
def test_gateway_html_pages_that_persist_become_a_short_server_error_without_markup(
    sandbox: Sandbox, connect: Connect, status: int, title: str
) -> None:
    job = running_job(sandbox, connect())
    sandbox.inject("error", count=5, job_id=job.job_id, status=status)

    with pytest.raises(up42.ServerError) as caught:
        job.info  # noqa: B018

    message = str(caught.value)
    assert caught.value.status_code == status
    assert title in message
    assert "error page" in message
    assert "<" not in message
    assert len(message) < 300


def test_a_read_timeout_on_a_get_is_retried(sandbox: Sandbox, connect: Connect) -> None:
    sleep = RecordingSleep()
    job = running_job(sandbox, connect(sleep=sleep, read_timeout=0.3))
    sandbox.inject("delay", count=1, job_id=job.job_id, method="GET", seconds=1.0)

    assert job.status in {"NOT STARTED", "PENDING", "RUNNING"}

    assert len(sleep.calls) == 1


def test_read_timeouts_that_persist_raise_a_transport_error_naming_the_path(
    sandbox: Sandbox, connect: Connect, workdir: Path
) -> None:
    sleep = RecordingSleep()
    policy = up42.RetryPolicy(max_attempts=2, backoff_base=0.01)
    job = running_job(sandbox, connect(sleep=sleep, read_timeout=0.2, retry=policy))
    sandbox.inject("delay", count=2, job_id=job.job_id, method="GET", seconds=0.6)

    started = time.monotonic()
    with pytest.raises(up42.TransportError) as caught:
        job.info  # noqa: B018

    assert time.monotonic() - started < 2.0
    message = str(caught.value)
    assert "timed out" in message
    assert f"/jobs/{job.job_id}" in message
    assert len(sleep.calls) == 1
    assert files_under(workdir) == []


def test_timeouts_are_settable_in_authenticate(connect: Connect) -> None:
    session = connect(connect_timeout=1.5, read_timeout=7.0)
    assert session.timeout.connect == 1.5
    assert session.timeout.read == 7.0
    default = connect()
    assert 0 < default.timeout.connect <= 30
    assert 0 < default.timeout.read <= 300


def test_a_refused_connection_is_retried_then_says_to_check_the_network(
    sandbox: Sandbox,
) -> None:
    with socket.socket() as probe:  # a port that was just free: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleep = RecordingSleep()
    with pytest.raises(up42.TransportError) as caught:
        up42.authenticate(
            project_id=sandbox.project_id,
            project_api_key=sandbox.project_api_key,
            base_url=f"http://127.0.0.1:{port}",
            retry=up42.RetryPolicy(max_attempts=3, backoff_base=0.01),
            sleep=sleep,
        )
    assert len(sleep.calls) == 2
    assert "check the network and base_url" in str(caught.value)
    assert sandbox.project_api_key not in str(caught.value)


def test_a_500_on_cancel_is_not_resent_and_surfaces_while_the_job_runs_on(
    sandbox: Sandbox, connect: Connect, workdir: Path
) -> None:
    job = running_job(sandbox, connect())
    sandbox.requests.clear()
    sandbox.inject("error", count=1, job_id=job.job_id, path="/cancel/", status=500)

    with pytest.raises(up42.ServerError) as caught:
        job.cancel_job()

    assert caught.value.status_code == 500
    assert "try again later" in str(caught.value)
    assert len(api_requests(sandbox, method="POST")) == 1
    assert sandbox.job_status(job.job_id) in {"NOT STARTED", "PENDING", "RUNNING"}
    job.cancel_job()
    assert files_under(workdir) == []


def test_a_500_on_cancel_of_a_job_already_cancelling_counts_as_success(
    sandbox: Sandbox, connect: Connect
) -> None:
    job = running_job(sandbox, connect())
    sandbox.cancel_job(job.job_id)  # the server acted, then its answer got lost in a 500
    sandbox.inject("error", count=1, job_id=job.job_id, path="/cancel/", status=500)

    job.cancel_job()

    assert job.status in {"CANCELLING", "CANCELLED"}


def test_a_cancel_answered_503_or_502_is_sent_again(sandbox: Sandbox, connect: Connect) -> None:
    job = running_job(sandbox, connect())
    sandbox.requests.clear()
    sandbox.inject("error", count=1, job_id=job.job_id, path="/cancel/", status=503)
    sandbox.inject("error", count=1, job_id=job.job_id, path="/cancel/", status=502)

    job.cancel_job()

    assert [r.status for r in api_requests(sandbox, method="POST")] == [503, 502, 200]
    assert sandbox.job_status(job.job_id) in {"CANCELLING", "CANCELLED"}


def test_a_read_timeout_on_cancel_is_sent_again_and_the_job_ends_cancelled(
    sandbox: Sandbox, connect: Connect
) -> None:
    sleep = RecordingSleep()
    job = running_job(sandbox, connect(sleep=sleep, read_timeout=0.3))
    sandbox.inject("delay", count=1, job_id=job.job_id, path="/cancel/", seconds=1.0)

    job.cancel_job()

    assert len(sleep.calls) == 1
    assert sandbox.job_status(job.job_id) in {"CANCELLING", "CANCELLED"}


def test_a_job_that_does_not_exist_raises_not_found_at_once(
    sandbox: Sandbox, connect: Connect, workdir: Path
) -> None:
    session = connect()
    sandbox.requests.clear()

    with pytest.raises(up42.NotFoundError) as caught:
        session.initialize_job(UNKNOWN_JOB)

    assert caught.value.status_code == 404
    assert UNKNOWN_JOB in str(caught.value)
    assert "check the job and task ids" in str(caught.value)
    assert len(api_requests(sandbox)) == 1
    assert files_under(workdir) == []


@pytest.mark.parametrize(
    ("status", "error", "words"),
    [
        (400, up42.APIError, "Bad request"),
        (403, up42.AuthenticationError, "may not access"),
    ],
)
def test_other_4xx_answers_are_final(
    sandbox: Sandbox, connect: Connect, status: int, error: type[Exception], words: str
) -> None:
    job = running_job(sandbox, connect())
    sandbox.requests.clear()
    sandbox.inject("error", count=1, job_id=job.job_id, status=status)

    with pytest.raises(error) as caught:
        job.info  # noqa: B018

    assert words in str(caught.value)
    assert len(api_requests(sandbox)) == 1


def test_a_malformed_json_body_raises_invalid_response_and_is_not_resent(
    sandbox: Sandbox, connect: Connect
) -> None:
    job = running_job(sandbox, connect())
    sandbox.requests.clear()
    sandbox.inject("malformed_json", count=1, job_id=job.job_id)

    with pytest.raises(up42.InvalidResponseError) as caught:
        job.info  # noqa: B018

    message = str(caught.value)
    assert "application/json" in message
    assert '{"data": {"id": ' in message
    assert len(api_requests(sandbox)) == 1
    assert job.status  # the next call is fine again


def test_a_wrong_content_type_raises_invalid_response_showing_what_came(
    sandbox: Sandbox, connect: Connect
) -> None:
    job = running_job(sandbox, connect())
    sandbox.inject("wrong_content_type", count=1, job_id=job.job_id)

    with pytest.raises(up42.InvalidResponseError) as caught:
        job.get_jobtasks()

    message = str(caught.value)
    assert "text/html" in message
    assert "Maintenance" in message
    assert "<html>" not in message


def test_an_unknown_status_is_reported_as_is_and_polling_times_out_on_it(
    sandbox: Sandbox, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    job = running_job(sandbox, connect())
    sandbox.inject("unknown_status", count=None, job_id=job.job_id, value="QUEUED_FOR_REVIEW")
    caplog.set_level(logging.WARNING, logger="up42_facade")

    assert job.status == "QUEUED_FOR_REVIEW"
    assert job.job_status == "QUEUED_FOR_REVIEW"
    with pytest.raises(up42.JobTimeoutError) as caught:
        job.track_status(poll_interval=0.02, timeout=0.2, sleep=time.sleep)

    assert caught.value.status == "QUEUED_FOR_REVIEW"
    warnings = [r for r in caplog.records if "QUEUED_FOR_REVIEW" in r.getMessage()]
    assert len(warnings) == 1
    job.cancel_job()


def _mock_session(handler: httpx.MockTransport, sleep: RecordingSleep) -> up42.Up42:
    return up42.Up42(
        project_id="20adecb9-97f6-42c0-8ba8-f1e2fa0bff39",
        project_api_key="mock-api-key-0001",
        base_url="http://api.test",
        transport=handler,
        retry=up42.RetryPolicy(backoff_base=0.01),
        sleep=sleep,
    )


def _api_answering(status: int, body: dict[str, object]) -> tuple[httpx.MockTransport, list[str]]:
    """A mock API whose job endpoint answers ``status`` once, then the job."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "tok-0001", "expires_in": 300})
        seen.append(request.method)
        if len(seen) == 1:
            return httpx.Response(status, json=body)
        return httpx.Response(200, json={"data": {"id": UNKNOWN_JOB, "status": "RUNNING"}})

    return httpx.MockTransport(handler), seen


def test_out_of_credits_is_final(sandbox: Sandbox) -> None:
    # The sandbox has no out-of-credits answer yet; UP42 answers 402 with an envelope.
    body = {"data": None, "error": {"code": 402, "message": "Insufficient credits"}}
    transport, seen = _api_answering(402, body)
    sleep = RecordingSleep()
    with _mock_session(transport, sleep) as session, pytest.raises(up42.APIError) as caught:
        session.initialize_job(UNKNOWN_JOB)
    assert caught.value.status_code == 402
    assert "Insufficient credits" in str(caught.value)
    assert seen == ["GET"]
    assert sleep.calls == []


def test_a_408_request_timeout_is_retried(sandbox: Sandbox) -> None:
    body = {"data": None, "error": {"code": 408, "message": "Request timeout"}}
    transport, seen = _api_answering(408, body)
    sleep = RecordingSleep()
    with _mock_session(transport, sleep) as session:
        assert session.initialize_job(UNKNOWN_JOB).job_id == UNKNOWN_JOB
    assert seen == ["GET", "GET"]
    assert len(sleep.calls) == 1


def test_ctrl_c_while_waiting_to_retry_stops_at_once_and_the_session_stays_usable(
    sandbox: Sandbox, connect: Connect, workdir: Path
) -> None:
    def interrupted(_: float) -> None:
        raise KeyboardInterrupt

    session = connect(sleep=interrupted)
    job = running_job(sandbox, session)
    sandbox.requests.clear()
    sandbox.inject("error", count=1, job_id=job.job_id, status=503)

    with pytest.raises(KeyboardInterrupt):
        job.info  # noqa: B018

    assert len(api_requests(sandbox)) == 1
    assert job.status in {"NOT STARTED", "PENDING", "RUNNING"}
    assert files_under(workdir) == []


def test_ctrl_c_during_polling_stops_at_once_leaving_nothing_behind(
    sandbox: Sandbox, connect: Connect, workdir: Path
) -> None:
    job = running_job(sandbox, connect())
    polls: list[str] = []

    def interrupted(_: float) -> None:
        if len(polls) >= 2:
            raise KeyboardInterrupt
        time.sleep(0.01)

    with pytest.raises(KeyboardInterrupt):
        job.track_status(poll_interval=0.01, sleep=interrupted, callback=polls.append)

    assert len(polls) == 2
    assert files_under(workdir) == []
    job.cancel_job()
