"""The standing rate limit: a token bucket in front of the job API, and the 429s it counts.

``Sandbox(rate_limit=R)`` admits a burst of ``max(R, 1)`` requests and then ``R`` a second;
beyond that it answers 429 with ``Retry-After`` before any fault or route sees the request.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from up42_sandbox import Sandbox
from up42_sandbox._ratelimit import RateLimiter, parse_rate

from .helpers import get_token, job_path

TOO_MANY = {"data": None, "error": {"code": 429, "message": "Too many requests"}}


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limited() -> Iterator[tuple[Sandbox, httpx.Client, str]]:
    """A sandbox limited to 10 requests a second, a client with a token, a finished job's path."""
    with Sandbox(speed=20) as sb:
        token = get_token(sb)  # before the limit, so the burst below starts with a full bucket
        path = job_path(sb, sb.create_job(start_status="SUCCEEDED", features=0))
        sb.set_rate_limit(10)
        with httpx.Client(base_url=sb.base_url, headers={"Authorization": f"Bearer {token}"}) as c:
            yield sb, c, path


def test_a_burst_beyond_the_bucket_gets_429s_with_retry_after_and_each_one_is_counted(
    limited: tuple[Sandbox, httpx.Client, str],
) -> None:
    sb, http, path = limited
    answers = [http.get(path) for _ in range(40)]
    statuses = [answer.status_code for answer in answers]
    assert statuses[:10] == [200] * 10  # the full bucket
    refused = [answer for answer in answers if answer.status_code == 429]
    assert len(refused) >= 10, statuses  # 40 requests in well under 2 s
    assert set(statuses) == {200, 429}
    for answer in refused:
        assert answer.json() == TOO_MANY
        assert answer.headers["retry-after"] == "1"  # a token is < 0.1 s away, rounded up
    assert sb.rate_limited == len(refused)
    records = sb.requests.filter(path=path)
    assert [r.rate_limited for r in records] == [s == 429 for s in statuses]
    assert all(r.status == 429 for r in records if r.rate_limited)


def test_after_retry_after_requests_are_admitted_again(
    limited: tuple[Sandbox, httpx.Client, str],
) -> None:
    _, http, path = limited
    while (answer := http.get(path)).status_code != 429:
        pass
    time.sleep(int(answer.headers["retry-after"]))
    assert [http.get(path).status_code for _ in range(10)] == [200] * 10


def test_requests_at_the_rate_are_never_refused() -> None:
    with Sandbox(speed=20, rate_limit=20) as sb:
        token = get_token(sb)
        path = job_path(sb, sb.create_job(start_status="SUCCEEDED", features=0))
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=sb.base_url, headers=headers) as http:
            start = time.monotonic()
            # 40 requests (twice the bucket) over 2 s: only the refill lets them all through.
            for n in range(40):
                time.sleep(max(0.0, start + n / 20 - time.monotonic()))
                assert http.get(path).status_code == 200
        assert sb.rate_limited == 0


def test_a_slow_rate_asks_to_wait_longer_rounded_up_to_whole_seconds() -> None:
    with Sandbox(rate_limit=0.4) as sb:  # one request, then one every 2.5 s
        assert httpx.post(f"{sb.base_url}/oauth/token").status_code == 401  # admitted: it counts
        refused = httpx.post(f"{sb.base_url}/oauth/token")
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "3"
        assert refused.json() == TOO_MANY


def test_the_token_endpoint_and_unknown_paths_count_but_the_storage_listener_does_not() -> None:
    with Sandbox(speed=20) as sb:
        job_id = sb.create_job(start_status="SUCCEEDED", features=0)
        sb.set_rate_limit(2)
        url = sb.download_url(job_id)
        assert get_token(sb)
        assert httpx.get(f"{sb.base_url}/nowhere").status_code == 404
        assert httpx.get(f"{sb.base_url}/nowhere").status_code == 429
        token = httpx.post(
            f"{sb.base_url}/oauth/token",
            auth=(sb.project_id, sb.project_api_key),
            data={"grant_type": "client_credentials"},
        )
        assert token.status_code == 429
        assert [httpx.get(url).status_code for _ in range(5)] == [200] * 5
        assert sb.rate_limited == 2
        assert not any(r.rate_limited for r in sb.requests.filter(listener="storage"))


def test_a_refused_request_reaches_no_fault_and_no_route(
    limited: tuple[Sandbox, httpx.Client, str],
) -> None:
    sb, http, _ = limited
    job_id = sb.create_job(start_status="RUNNING", features=0)
    sb.set_rate_limit(1)
    fault = sb.inject("error", status=500, path="/nowhere")
    assert http.get("/nothing-here").status_code == 404  # takes the only token
    assert http.post(f"{job_path(sb, job_id)}/cancel/").status_code == 429
    assert http.get("/nowhere").status_code == 429
    assert sb.job_status(job_id) == "RUNNING"  # the cancel never reached the route
    assert fault.hits == 0  # nor the fault


def test_injected_rate_limit_faults_are_separate_and_not_counted(
    limited: tuple[Sandbox, httpx.Client, str],
) -> None:
    sb, http, path = limited
    fault = sb.inject("rate_limit", count=2, retry_after=7)
    answers = [http.get(path) for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["retry-after"] == "7"
    assert fault.hits == 2
    assert sb.rate_limited == 0
    assert not any(r.rate_limited for r in sb.requests.filter(path=path))


def test_the_limit_can_be_changed_and_switched_off_while_running(
    limited: tuple[Sandbox, httpx.Client, str],
) -> None:
    sb, http, path = limited
    assert sb.rate_limit == 10.0
    sb.set_rate_limit(None)
    assert sb.rate_limit is None
    assert {http.get(path).status_code for _ in range(30)} == {200}
    sb.set_rate_limit(3)
    assert [http.get(path).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert sb.rate_limited == 1
    sb.set_rate_limit(3)  # a fresh, full bucket; the count stays
    assert http.get(path).status_code == 200
    assert sb.rate_limited == 1
    with pytest.raises(ValueError, match="rate_limit must be > 0"):
        sb.set_rate_limit(-1)


def test_the_rate_is_in_the_info_and_off_by_default() -> None:
    assert Sandbox().rate_limit is None
    with Sandbox(rate_limit=20) as sb:
        assert sb.info()["rate_limit"] == 20.0
        assert sb.rate_limited == 0


def test_the_next_dialect_puts_its_headers_on_the_refusals_too() -> None:
    with Sandbox(dialect="next", rate_limit=1) as sb:
        httpx.get(f"{sb.base_url}/nowhere")
        refused = httpx.get(f"{sb.base_url}/nowhere")
        assert refused.status_code == 429
        assert "x-request-id" in refused.headers
        assert refused.json() == TOO_MANY  # the gateway's words, as faults answer


def test_the_bucket_holds_the_rate_refills_at_it_and_a_refusal_takes_no_token() -> None:
    clock = FakeClock()
    limiter = RateLimiter(4, clock=clock)
    assert [limiter.admit() for _ in range(4)] == [None] * 4
    assert limiter.admit() == pytest.approx(0.25)
    clock.now += 0.1
    assert limiter.admit() == pytest.approx(0.15)  # still 0.25 after the last admission
    clock.now += 0.15
    assert limiter.admit() is None
    clock.now += 60
    assert [limiter.admit() is None for _ in range(5)] == [True] * 4 + [False]  # never > 4
    assert limiter.refused == 3


def test_a_rate_below_one_a_second_holds_one_request() -> None:
    clock = FakeClock()
    limiter = RateLimiter(0.5, clock=clock)
    assert limiter.admit() is None
    assert limiter.admit() == pytest.approx(2.0)
    clock.now += 2
    assert limiter.admit() is None


@pytest.mark.parametrize(
    ("text", "rate"), [("20/s", 20.0), ("20", 20.0), (" 0.5 / s ", 0.5), ("2.5e1/s", 25.0)]
)
def test_rates_from_the_command_line(text: str, rate: float) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "fast", "20/m", "20/s/s", "-1", "0", "0/s", "inf", "nan"])
def test_bad_rates_from_the_command_line_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="rate"):
        parse_rate(text)
