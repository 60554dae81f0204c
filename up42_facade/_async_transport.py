"""The API's async httpx transport: retries, the session's quiet period, and a bound on
requests in flight.

The decisions are ``_api_retry``'s, the same as the sync transport's; this module only
sends, awaits and sleeps. The bound keeps ``asyncio.gather`` over hundreds of calls from
opening hundreds of connections: a request waits for a free slot before it is sent, holds
it until its response is closed, and gives it back while it sleeps between attempts.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

import httpx

from ._api_retry import QuietPeriod, RequestRetries
from ._lanes import on_close
from ._rate import RateBudget
from ._retry import RetryPolicy

__all__ = ["AsyncRetryTransport"]

AsyncSleep = Callable[[float], Awaitable[None]]


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    """Sends each request again as the ``RetryPolicy`` allows, at most ``max_in_flight`` at once.

    Args:
        inner: The transport that sends.
        policy: The session's retry policy.
        max_in_flight: Requests of the session on the wire at the same time.
        sleep: Awaited for every wait (``asyncio.sleep``; swappable in tests).
        budget: The session's ``RateBudget``: each attempt waits its turn in it.
        clock: Monotonic clock.
        rng: Jitter source.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        policy: RetryPolicy,
        max_in_flight: int,
        sleep: AsyncSleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        budget: RateBudget | None = None,
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._budget = budget or RateBudget(None)
        self._slots = asyncio.Semaphore(max_in_flight)
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._quiet = QuietPeriod(clock)
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        retries = RequestRetries(request, self._policy, clock=self._clock, rng=self._rng)
        wait = 0.0
        while True:
            await self._hold_back(wait)
            retries.attempts.begin()
            try:
                response = await self._send(request)
            except httpx.TransportError as exc:
                retry = retries.after_error(exc)
                if retry is None:
                    raise
            else:
                retry = retries.after_answer(response)
                if retry is None:
                    return response
                await response.aclose()
            self._quiet.extend(retry)  # one thread: the loop's, so no lock
            wait = retry.wait

    async def _send(self, request: httpx.Request) -> httpx.Response:
        """Send once, holding a slot until the response is closed (its body is on the wire
        too)."""
        await self._slots.acquire()
        try:
            turn = self._budget.reserve()
            if turn > 0:
                await self._sleep(turn)
            response = await self._inner.handle_async_request(request)
        except BaseException:
            self._slots.release()
            raise
        return on_close(response, self._slots.release)

    async def _hold_back(self, wait: float) -> None:
        """Sleep ``wait``, or longer while a ``Retry-After`` of the session is still running."""
        wait, seen = self._quiet.remaining(wait), self._quiet.until
        while wait > 0:
            await self._sleep(wait)
            # Only a Retry-After that came in meanwhile makes this request wait on.
            extended, seen = self._quiet.until > seen, self._quiet.until
            wait = self._quiet.remaining(0.0) if extended else 0.0

    async def aclose(self) -> None:
        # The token client and the API client share this transport: close it once.
        if not self._closed:
            self._closed = True
            await self._inner.aclose()
