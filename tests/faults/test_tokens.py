"""Tokens against the sandbox: wrong credentials, a failing token endpoint, expiry mid-run."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator

import pytest

import up42_facade as up42
from up42_sandbox import Sandbox

from .conftest import FAST_RETRY, Connect, RecordingSleep, api_requests

TOKEN_PATH = "/oauth/token"


def token_posts(sandbox: Sandbox) -> list[int]:
    """The statuses the token endpoint answered, in order."""
    return [r.status for r in api_requests(sandbox, path=TOKEN_PATH, method="POST")]


def unauthorized(sandbox: Sandbox) -> int:
    return sum(1 for r in api_requests(sandbox) if r.status == 401 and r.path != TOKEN_PATH)


def test_wrong_credentials_raise_authentication_error_naming_the_project_not_the_key(
    sandbox: Sandbox,
) -> None:
    wrong_key = "sandbox-0000wrong0000key0000"
    sleep = RecordingSleep()

    with pytest.raises(up42.AuthenticationError) as caught:
        up42.authenticate(
            project_id=sandbox.project_id,
            project_api_key=wrong_key,
            base_url=sandbox.base_url,
            retry=FAST_RETRY,
            sleep=sleep,
        )
    gc.collect()  # a session leaked by the failed authenticate would warn (an error here) now

    error = caught.value
    assert error.status_code == 401
    assert sandbox.project_id in str(error)
    for shown in (str(error), repr(error), str(error.args)):
        assert wrong_key not in shown
        assert sandbox.project_api_key not in shown
    assert token_posts(sandbox) == [401]
    assert sleep.calls == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_token_endpoint_answering_5xx_is_retried_and_authenticate_succeeds(
    sandbox: Sandbox, connect: Connect, status: int
) -> None:
    sandbox.inject("error", count=2, path=TOKEN_PATH, status=status)

    session = connect()

    assert token_posts(sandbox) == [status, status, 200]
    assert session.initialize_job(sandbox.create_job()).status


def test_a_token_endpoint_that_stays_down_raises_a_server_error_after_bounded_attempts(
    sandbox: Sandbox,
) -> None:
    sandbox.inject("error", count=None, path=TOKEN_PATH, status=503)
    sleep = RecordingSleep()
    policy = up42.RetryPolicy(max_attempts=3, backoff_base=0.01)

    with pytest.raises(up42.ServerError) as caught:
        up42.authenticate(
            project_id=sandbox.project_id,
            project_api_key=sandbox.project_api_key,
            base_url=sandbox.base_url,
            retry=policy,
            sleep=sleep,
        )
    gc.collect()

    assert caught.value.status_code == 503
    assert token_posts(sandbox) == [503, 503, 503]
    assert sandbox.project_api_key not in str(caught.value)


def test_a_token_that_expires_mid_track_status_is_renewed_once_and_tracking_goes_on(
    sandbox: Sandbox, connect: Connect
) -> None:
    session = connect()
    job = session.initialize_job(sandbox.create_job("succeeds"))
    sandbox.requests.clear()
    seen: list[str] = []

    def expire_after_the_second_poll(status: str) -> None:
        seen.append(status)
        if len(seen) == 2:
            sandbox.expire_tokens()

    status = job.track_status(
        poll_interval=0.02, sleep=time.sleep, callback=expire_after_the_second_poll
    )

    assert status == "SUCCEEDED"
    assert len(seen) > 2
    assert token_posts(sandbox) == [200]
    assert unauthorized(sandbox) == 1
    assert session.tokens.renewals == 2


def test_concurrent_401s_renew_the_token_once(sandbox: Sandbox, connect: Connect) -> None:
    session = connect()
    jobs = [session.initialize_job(sandbox.create_job("long_running")) for _ in range(8)]
    sandbox.expire_tokens()
    sandbox.requests.clear()
    barrier = threading.Barrier(len(jobs))
    statuses: list[str] = []
    errors: list[BaseException] = []

    def poll(job: up42.Job) -> None:
        barrier.wait(timeout=5)
        try:
            statuses.append(job.status)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=poll, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert errors == []
    assert len(statuses) == len(jobs)
    assert token_posts(sandbox) == [200]
    for job in jobs:
        job.cancel_job()


@pytest.fixture
def short_lived_tokens() -> Iterator[Sandbox]:
    with Sandbox(speed=4.0, token_ttl=1.0) as sb:
        yield sb


def test_short_lived_tokens_are_renewed_as_they_age_not_before_every_request(
    short_lived_tokens: Sandbox,
) -> None:
    sandbox = short_lived_tokens
    with up42.authenticate(
        project_id=sandbox.project_id,
        project_api_key=sandbox.project_api_key,
        base_url=sandbox.base_url,
        retry=FAST_RETRY,
    ) as session:
        job = session.initialize_job(sandbox.create_job("succeeds", duration=6.0))
        # 8 sandbox seconds at speed 4: two real seconds of polling, two token lifetimes.
        assert job.track_status(poll_interval=0.05, sleep=time.sleep) == "SUCCEEDED"

    polls = len(api_requests(sandbox, method="GET"))
    tokens = len(token_posts(sandbox))
    assert polls >= 20
    assert 2 <= tokens <= 6
