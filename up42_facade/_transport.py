"""The API's sync httpx transport: every request of a ``Session`` goes through ``RetryTransport``.

It asks ``RequestRetries`` (``_api_retry``) whether and how long to wait after each attempt,
and does the waiting with the session's ``sleep``. ``Job`` methods never retry on their own.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable

import httpx

from ._api_retry import QuietPeriod, RequestRetries
from ._rate import RateBudget
from ._retry import RetryPolicy

__all__ = ["RetryTransport"]


class RetryTransport(httpx.BaseTransport):
    """Sends each request again as the ``RetryPolicy`` allows (see ``_retry``, ``_api_retry``).

    A ``Retry-After`` holds back every request of the transport, not only the one that
    got it: a rate limit is the project's, and threads sharing a session must not keep
    knocking while one of them waits it out. A certificate that is not trusted is never
    retried: it will not become trusted. Every attempt also waits its turn in the session's
    ``RateBudget``, and at most ``max_in_flight`` attempts (None: no bound) are sent at once.
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        budget: RateBudget | None = None,
        max_in_flight: int | None = None,
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._budget = budget or RateBudget(None)
        self._slots = threading.BoundedSemaphore(max_in_flight) if max_in_flight else None
        self._closed = False
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._lock = threading.Lock()
        self._quiet = QuietPeriod(clock)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        retries = RequestRetries(request, self._policy, clock=self._clock, rng=self._rng)
        wait = 0.0
        while True:
            self._hold_back(wait)
            retries.attempts.begin()
            try:
                response = self._send(request)
            except httpx.TransportError as exc:
                retry = retries.after_error(exc)
                if retry is None:
                    raise
            else:
                retry = retries.after_answer(response)
                if retry is None:
                    return response
                response.close()
            with self._lock:
                self._quiet.extend(retry)
            wait = retry.wait

    def _send(self, request: httpx.Request) -> httpx.Response:
        """Send once: in a free slot, at the request's turn in the rate budget."""
        with self._slots or contextlib.nullcontext():
            turn = self._budget.reserve()
            if turn > 0:
                self._sleep(turn)
            return self._inner.handle_request(request)

    def _hold_back(self, wait: float) -> None:
        """Sleep ``wait``, or longer while a ``Retry-After`` of the session is still running.

        Another thread may get a 429 while this one sleeps: then it sleeps on until that
        ``Retry-After`` has passed too.
        """
        with self._lock:
            wait, seen = self._quiet.remaining(wait), self._quiet.until
        while wait > 0:
            self._sleep(wait)
            with self._lock:
                # Only a Retry-After that came in meanwhile makes this request wait on.
                extended, seen = self._quiet.until > seen, self._quiet.until
                wait = self._quiet.remaining(0.0) if extended else 0.0

    def close(self) -> None:
        # The token client and the API client share this transport: close it once.
        if not self._closed:
            self._closed = True
            self._inner.close()
