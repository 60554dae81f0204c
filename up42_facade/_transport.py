"""The API's httpx transport: every request of a session goes through ``RetryTransport``.

It asks the session's ``RetryPolicy`` (via ``Attempts``) whether and how long to wait, and
does the waiting with the session's ``sleep``. ``Job`` methods never retry on their own.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

import httpx

from ._errors import ConfigurationError
from ._network import is_certificate_error
from ._retry import Attempts, RetryPolicy, parse_retry_after

__all__ = ["CallOptions", "RetryTransport", "call_options"]

LOGGER = logging.getLogger("up42_facade")


@dataclass(frozen=True)
class CallOptions:
    """Overrides for the requests made inside ``call_options`` (e.g. one quicklook download).

    Attributes:
        timeout: Seconds to wait for an answer, instead of the session's read timeout.
        max_attempts: Attempts per request, instead of the policy's.
    """

    timeout: float | None = None
    max_attempts: int | None = None


_CALL_OPTIONS: ContextVar[CallOptions | None] = ContextVar("_CALL_OPTIONS", default=None)
_NO_OPTIONS = CallOptions()


@contextlib.contextmanager
def call_options(
    *, timeout: float | None = None, max_attempts: int | None = None
) -> Iterator[None]:
    """Apply ``timeout`` and ``max_attempts`` to the API requests made inside the block.

    Raises:
        ConfigurationError: A value is out of range.
    """
    if timeout is not None and not timeout > 0:
        raise ConfigurationError(f"timeout must be a number of seconds > 0, not {timeout!r}")
    if max_attempts is not None and max_attempts < 1:
        raise ConfigurationError(f"max_attempts must be >= 1, not {max_attempts!r}")
    token = _CALL_OPTIONS.set(CallOptions(timeout=timeout, max_attempts=max_attempts))
    try:
        yield
    finally:
        _CALL_OPTIONS.reset(token)


class RetryTransport(httpx.BaseTransport):
    """Sends each request again as the ``RetryPolicy`` allows (see ``_retry``).

    A ``Retry-After`` holds back every request of the transport, not only the one that
    got it: a rate limit is the project's, and threads sharing a session must not keep
    knocking while one of them waits it out. A certificate that is not trusted is never
    retried: it will not become trusted.
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._lock = threading.Lock()
        self._quiet_until = float("-inf")

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        options = _CALL_OPTIONS.get() or _NO_OPTIONS
        if options.timeout is not None:
            timeouts = dict(request.extensions.get("timeout", {}))
            timeouts.update(read=options.timeout, write=options.timeout)
            request.extensions["timeout"] = timeouts
        attempts = Attempts(
            self._policy, max_attempts=options.max_attempts, clock=self._clock, rng=self._rng
        )
        method, path = request.method, request.url.path
        wait = 0.0
        while True:
            self._hold_back(wait)
            attempts.begin()
            try:
                response = self._inner.handle_request(request)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if is_certificate_error(exc):
                    raise
                next_wait = (
                    attempts.next_wait() if self._policy.is_retryable(method, path) else None
                )
                if next_wait is None:
                    raise
                reason = type(exc).__name__
            except (httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                retryable = self._policy.is_retryable(method, path, broke_off=True)
                next_wait = attempts.next_wait() if retryable else None
                if next_wait is None:
                    raise
                reason = type(exc).__name__
            else:
                status = response.status_code
                if not self._policy.is_retryable(method, path, status=status):
                    return response
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                next_wait = attempts.next_wait(retry_after=retry_after)
                if next_wait is None:
                    return response
                if retry_after is not None:
                    with self._lock:
                        self._quiet_until = max(self._quiet_until, self._clock() + next_wait)
                response.close()
                reason = str(status)
            LOGGER.info(
                "%s %s answered %s; attempt %d again in %.2f s",
                method,
                path,
                reason,
                attempts.made + 1,
                next_wait,
            )
            wait = next_wait

    def _hold_back(self, wait: float) -> None:
        """Sleep ``wait``, or longer while a ``Retry-After`` of the session is still running.

        Another thread may get a 429 while this one sleeps: then it sleeps on until that
        ``Retry-After`` has passed too.
        """
        with self._lock:
            quiet_until = self._quiet_until
        wait = max(wait, quiet_until - self._clock())
        while wait > 0:
            self._sleep(wait)
            with self._lock:
                extended, quiet_until = self._quiet_until > quiet_until, self._quiet_until
            wait = quiet_until - self._clock() if extended else 0.0

    def close(self) -> None:
        self._inner.close()
