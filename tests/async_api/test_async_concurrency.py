"""Many coroutines, one session: one token renewal at a time, one rate limit for all, and a
bound on requests in flight."""

from __future__ import annotations

import asyncio

import httpx
import pytest

import up42_facade as up42
from up42_sandbox import Sandbox

from .conftest import AsyncRecordingSleep, Connect

pytestmark = [pytest.mark.anyio, pytest.mark.sandbox]


def token_requests(sandbox: Sandbox) -> int:
    return sum(1 for record in sandbox.requests.snapshot() if record.path == "/oauth/token")


async def test_coroutines_that_meet_an_expired_token_renew_it_once_between_them(
    sandbox: Sandbox, session: up42.AsyncUp42
) -> None:
    job = await session.initialize_job(sandbox.create_job("succeeds", start_status="SUCCEEDED"))
    assert session.tokens.renewals == 1
    sandbox.expire_tokens()
    sandbox.requests.clear()

    statuses = await asyncio.gather(*(job.status() for _ in range(20)))

    assert statuses == ["SUCCEEDED"] * 20
    assert session.tokens.renewals == 2
    assert token_requests(sandbox) == 1


async def test_a_429_holds_back_every_request_of_the_session_for_its_retry_after(
    sandbox: Sandbox, connect: Connect
) -> None:
    sleeps = AsyncRecordingSleep(real=None)  # real waits: the others must queue behind it
    session = await connect(sleep=sleeps)
    jobs = [
        await session.initialize_job(sandbox.create_job("succeeds", start_status="SUCCEEDED"))
        for _ in range(5)
    ]
    sandbox.inject("rate_limit", count=1, job_id=jobs[0].job_id, retry_after=0.3)
    sandbox.requests.clear()

    first = asyncio.create_task(jobs[0].status())
    # Once the session sleeps, it has read the 429 (the server's record alone comes earlier).
    while not sleeps.calls:
        await asyncio.sleep(0.005)
    rate_limited_at = next(r.time for r in sandbox.requests.snapshot() if r.status == 429)
    others = await asyncio.gather(*(job.status() for job in jobs[1:]))
    assert await first == "SUCCEEDED" and others == ["SUCCEEDED"] * 4

    later = [r for r in sandbox.requests.snapshot() if r.time > rate_limited_at]
    assert len(later) == 5
    assert all(record.time - rate_limited_at >= 0.25 for record in later)
    assert 0.3 in sleeps.calls


class _Counting(httpx.AsyncBaseTransport):
    """Counts the requests on the wire at the same time."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.now = 0
        self.most = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            response = await self._inner.handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.now -= 1

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_a_gather_over_many_calls_keeps_within_max_in_flight(
    sandbox: Sandbox, connect: Connect
) -> None:
    counting = _Counting()
    session = await connect(max_in_flight=4, transport=counting)
    job = await session.initialize_job(sandbox.create_job("succeeds", start_status="SUCCEEDED"))
    sandbox.inject("delay", count=None, job_id=job.job_id, seconds=0.02)

    statuses = await asyncio.gather(*(job.status() for _ in range(40)))

    assert statuses == ["SUCCEEDED"] * 40
    assert counting.most == 4


async def test_max_in_flight_must_be_positive(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="max_in_flight"):
        up42.AsyncUp42(
            project_id=sandbox.project_id,
            project_api_key=sandbox.project_api_key,
            max_in_flight=0,
        )
