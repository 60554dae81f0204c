"""What an API request's attempt means for the next one, for both transports (no I/O).

``RequestRetries`` follows one request through its attempts: after each it says whether
to try again, after how long, and whether the wait is a ``Retry-After`` that holds back
the whole session (``QuietPeriod``). ``RetryTransport`` and ``AsyncRetryTransport`` only
send and sleep.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from ._network import is_certificate_error
from ._redact import LOGGER
from ._retry import Attempts, RetryPolicy, current_call_options, parse_retry_after

__all__ = ["CONNECT_ERRORS", "READ_ERRORS", "QuietPeriod", "RequestRetries", "Retry"]

#: Nothing reached the server: safe to send again, whatever the method.
CONNECT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout)
#: The request may have reached the server: only idempotent requests are sent again.
READ_ERRORS = (httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError)


@dataclass(frozen=True)
class Retry:
    """Try again after ``wait`` seconds; ``retry_after`` when the server asked for it."""

    wait: float
    reason: str
    retry_after: float | None = None


class RequestRetries:
    """One request's attempts under the session's policy (and any ``call_options``).

    Args:
        request: The request; its timeout is set from ``call_options`` if given.
        policy: The session's retry policy.
        clock: Monotonic clock.
        rng: Jitter source.
    """

    def __init__(
        self,
        request: httpx.Request,
        policy: RetryPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        options = current_call_options()
        if options.timeout is not None:
            timeouts = dict(request.extensions.get("timeout", {}))
            timeouts.update(read=options.timeout, write=options.timeout)
            request.extensions["timeout"] = timeouts
        self._request = request
        self._policy = policy
        self.attempts = Attempts(policy, max_attempts=options.max_attempts, clock=clock, rng=rng)

    def after_error(self, exc: httpx.TransportError) -> Retry | None:
        """After an attempt that got no answer: a ``Retry``, or None to raise ``exc``."""
        method, path = self._request.method, self._request.url.path
        if isinstance(exc, CONNECT_ERRORS):
            retryable = not is_certificate_error(exc) and self._policy.is_retryable(method, path)
        elif isinstance(exc, READ_ERRORS):
            retryable = self._policy.is_retryable(method, path, broke_off=True)
        else:
            retryable = False
        wait = self.attempts.next_wait() if retryable else None
        return None if wait is None else self._logged(Retry(wait, type(exc).__name__))

    def after_answer(self, response: httpx.Response) -> Retry | None:
        """After an answer: a ``Retry`` (close the answer first), or None to return it."""
        method, path = self._request.method, self._request.url.path
        status = response.status_code
        if not self._policy.is_retryable(method, path, status=status):
            return None
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        wait = self.attempts.next_wait(retry_after=retry_after)
        return None if wait is None else self._logged(Retry(wait, str(status), retry_after))

    def _logged(self, retry: Retry) -> Retry:
        LOGGER.info(
            "%s %s answered %s; attempt %d again in %.2f s",
            self._request.method,
            self._request.url.path,
            retry.reason,
            self.attempts.made + 1,
            retry.wait,
        )
        return retry


class QuietPeriod:
    """Until when a session sends nothing, after a ``Retry-After`` (the caller locks it).

    A rate limit is the project's: every request of the session waits it out, not only
    the one that got the 429.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.until = float("-inf")

    def extend(self, retry: Retry) -> None:
        """Hold the session back for the wait of a ``Retry-After``."""
        if retry.retry_after is not None:
            self.until = max(self.until, self._clock() + retry.wait)

    def remaining(self, wait: float) -> float:
        """How long to wait now: ``wait``, or longer while the quiet period runs."""
        return max(wait, self.until - self._clock())
