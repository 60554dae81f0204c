"""What goes wrong, replayed: unknown ids, refused credentials, expired tokens, rate limits.

The token renewal and the rate limit need a sandbox trick to happen on demand, so they are
recorded against the sandbox only; the cassette shows the exchange the facade must survive.
"""

from __future__ import annotations

from typing import Any

import pytest

import up42_facade as up42
from tests.replay.recording import Target

pytestmark = pytest.mark.vcr

#: A well-formed job id that no project has.
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
#: What the injected rate limit asks for, in seconds.
RETRY_AFTER = 1


def statuses(cassette: Any) -> list[tuple[str, int]]:
    """``[("POST token", 200), ("GET credits", 429), ...]``: method, last path segment, status."""
    return [
        (
            f"{request.method} {request.path.rstrip('/').rsplit('/', 1)[-1]}",
            response["status"]["code"],
        )
        for request, response in cassette.data
    ]


def test_a_job_id_nobody_has_raises_not_found_naming_the_path(
    target: Target, session: up42.Up42
) -> None:
    with pytest.raises(up42.NotFoundError) as caught:
        session.initialize_job(UNKNOWN_ID)
    assert caught.value.status_code == 404
    assert caught.value.path == f"/projects/{target.project_id}/jobs/{UNKNOWN_ID}"
    assert UNKNOWN_ID in str(caught.value)


def test_a_task_id_the_job_does_not_have_raises_not_found(
    target: Target, session: up42.Up42
) -> None:
    with pytest.raises(up42.NotFoundError) as caught:
        session.initialize_jobtask(UNKNOWN_ID, target.job_id("succeeded"))
    assert UNKNOWN_ID in str(caught.value)


def test_refused_credentials_raise_an_authentication_error_without_the_key(
    target: Target,
) -> None:
    key = "not-the-project-api-key"
    with pytest.raises(up42.AuthenticationError) as caught:
        up42.authenticate(
            project_id=target.project_id,
            project_api_key=key,
            base_url=target.base_url,
            sleep=target.sleep,
        )
    assert caught.value.status_code == 401
    assert target.project_id in str(caught.value)
    assert key not in str(caught.value)


@pytest.mark.sandbox_only("tokens are expired on demand with sandbox.expire_tokens()")
def test_an_expired_token_is_renewed_once_and_the_call_sent_again(
    target: Target, session: up42.Up42, vcr: Any
) -> None:
    job = session.initialize_job(target.job_id("succeeded"))
    target.expire_tokens()
    assert job.status == "SUCCEEDED"
    assert session.tokens.renewals == 2
    job_id = job.job_id
    assert statuses(vcr) == [
        ("POST token", 200),
        (f"GET {job_id}", 200),
        (f"GET {job_id}", 401),
        ("POST token", 200),
        (f"GET {job_id}", 200),
    ]


@pytest.mark.sandbox_only("the 429 is injected with sandbox.inject('rate_limit')")
def test_a_rate_limited_call_waits_as_long_as_retry_after_says_then_succeeds(
    target: Target, session: up42.Up42, vcr: Any
) -> None:
    job = session.initialize_job(target.job_id("succeeded"))
    target.inject("rate_limit", count=1, retry_after=RETRY_AFTER, job_id=job.job_id)
    assert job.get_credits()["creditsUsed"] >= 0
    assert statuses(vcr)[-2:] == [("GET credits", 429), ("GET credits", 200)]
    rate_limited = vcr.data[-2][1]
    assert target.sleep.calls == [float(rate_limited["headers"]["retry-after"][0])]
    assert target.sleep.calls == [RETRY_AFTER]


@pytest.mark.sandbox_only("the 429s are injected with sandbox.inject('rate_limit')")
def test_a_rate_limit_that_outlasts_the_retries_raises_with_retry_after(
    target: Target, vcr: Any
) -> None:
    with target.session(retry=up42.RetryPolicy(max_attempts=2)) as session:
        job = session.initialize_job(target.job_id("succeeded"))
        target.inject("rate_limit", count=2, retry_after=RETRY_AFTER, job_id=job.job_id)
        with pytest.raises(up42.RateLimitError) as caught:
            job.get_credits()
    assert caught.value.retry_after == RETRY_AFTER
    assert statuses(vcr)[-2:] == [("GET credits", 429), ("GET credits", 429)]
    assert target.sleep.calls == [RETRY_AFTER]
