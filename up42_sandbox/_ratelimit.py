"""The standing rate limit of the API listener: a token bucket in front of every route.

Unlike the ``rate_limit`` fault, which answers 429 to the next N requests it selects, the
standing limit refuses requests only when they come too fast, the way a gateway in front of the
real API does. It is a token bucket rather than a sliding window: a client that keeps an even
pace of ``rate`` requests a second is never refused, however the network jitters the arrival
times, while a burst beyond the bucket is. Gateways such as AWS API Gateway limit the same way
(a rate and a burst).

- The bucket holds ``max(rate, 1)`` tokens and starts full; it refills continuously at ``rate``
  tokens a second, never beyond full.
- An admitted request takes one token. A request that finds less than one token is refused
  (429) and takes none, so a client that keeps knocking does not push its own recovery back.
- ``Retry-After`` is the time until the bucket holds a whole token again, in whole seconds,
  rounded up and at least 1.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable

from ._numbers import positive_or_none

__all__ = ["RateLimiter", "check_rate", "parse_rate", "retry_after_seconds"]

#: ``20``, ``20/s``, ``0.5/s``: requests a second, as ``--rate-limit`` takes it.
RATE_SPEC = re.compile(r"\s*(?P<rate>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(?:/\s*s)?\s*")


def check_rate(rate: float | None) -> float | None:
    """``rate`` as a float when it is a positive, finite number of requests a second, or None.

    Raises:
        ValueError: ``rate`` is zero, negative, infinite or NaN.
        TypeError: ``rate`` is not a number (or is a bool).
    """
    return positive_or_none(rate, name="rate_limit", unit="requests per second", off="off")


def parse_rate(spec: str) -> float:
    """Requests a second from ``--rate-limit``: ``20/s`` or a plain ``20`` give 20.0.

    Raises:
        ValueError: the text is no such rate, or the rate is not > 0.
    """
    match = RATE_SPEC.fullmatch(spec)
    if match is None:
        raise ValueError(
            f"bad rate limit {spec!r}: give requests per second, e.g. 20/s or 20 (or 0.5/s)"
        )
    rate = check_rate(float(match["rate"]))
    assert rate is not None
    return rate


class RateLimiter:
    """A thread-safe token bucket (see the module docstring); ``rate=None`` admits everything.

    Example:
        >>> limiter = RateLimiter(2.0)
        >>> [limiter.admit() is None for _ in range(3)]  # a bucket of 2, then ~0.5 s to wait
        [True, True, False]
        >>> limiter.refused
        1

    Args:
        rate: requests a second, or None for no limit.
        clock: the monotonic clock, swappable for tests.
    """

    def __init__(
        self, rate: float | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._rate = check_rate(rate)
        self._tokens = self._capacity
        self._last = clock()
        self._refused = 0

    @property
    def _capacity(self) -> float:
        return 0.0 if self._rate is None else max(self._rate, 1.0)

    @property
    def rate(self) -> float | None:
        """Requests a second, or None when off."""
        with self._lock:
            return self._rate

    @property
    def refused(self) -> int:
        """How many requests this limiter has refused so far (changing the rate keeps it)."""
        with self._lock:
            return self._refused

    def set_rate(self, rate: float | None) -> None:
        """Change the rate (None: off); the bucket starts full again."""
        checked = check_rate(rate)
        with self._lock:
            self._rate = checked
            self._tokens = self._capacity
            self._last = self._clock()

    def admit(self) -> float | None:
        """Take a token for one request: None when admitted, else seconds until one is there."""
        with self._lock:
            rate = self._rate
            if rate is None:
                return None
            now = self._clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._last) * rate)
            self._last = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return None
            self._refused += 1
            return (1.0 - self._tokens) / rate


def retry_after_seconds(wait: float) -> int:
    """``Retry-After`` for a wait of ``wait`` seconds: whole seconds, rounded up, at least 1."""
    return max(1, math.ceil(wait))
