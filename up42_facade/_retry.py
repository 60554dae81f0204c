"""When to try again and how long to wait: one ``RetryPolicy`` for API calls and storage alike.

Nothing here sleeps or sends: the sync and async front doors ask ``Attempts.next_wait``
after each failed attempt and do the waiting themselves, with the session's swappable
``sleep``. The rules:

- a connection that never reached the server is retried for every request;
- a read that broke off, and the statuses in ``RETRYABLE_STATUSES``, are retried for
  idempotent requests, and for any request when the answer says the server did not act
  on it (``NOT_PROCESSED_STATUSES``);
- ``Retry-After`` wins over the backoff; a wait that would end past the deadline is not
  taken, so the caller can report when to come back;
- a download that made progress resumes at once and starts its deadline afresh.
"""

from __future__ import annotations

import contextlib
import email.utils
import math
import random
import re
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC

from ._errors import ConfigurationError

__all__ = [
    "NOT_PROCESSED_STATUSES",
    "RETRYABLE_STATUSES",
    "Attempts",
    "CallOptions",
    "RetryPolicy",
    "call_options",
    "current_call_options",
    "parse_retry_after",
]

# Statuses that mean "not now" rather than "never": a request that timed out before the
# server read it (408), rate limits and gateway trouble.
RETRYABLE_STATUSES = frozenset({408, 429, 502, 503, 504})
# Statuses after which the server did not act on the request, so even a POST may be sent again.
NOT_PROCESSED_STATUSES = frozenset({408, 429, 503})
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """When and how long a session waits before sending a request again.

    The same policy governs API calls and downloads from storage: a download counts its
    ranged requests as attempts, and its deadline runs from the last byte that arrived.

    Attributes:
        max_attempts: Attempts in all, the first included.
        deadline: Seconds from the first attempt (a download: from its last progress)
            after which no new attempt starts; a ``Retry-After`` that ends later fails at once.
        backoff_base: First backoff in seconds; doubles per attempt (full jitter).
        backoff_cap: Longest single backoff in seconds.
        idempotent_posts: Path patterns of POSTs that are safe to send twice
            (the token endpoint and cancel): they are retried like GETs.
        stateless_paths: Path patterns whose every 5xx is worth another attempt, not
            only 502-504: asking for a token changes nothing on the server.

    Examples:
        >>> RetryPolicy(max_attempts=3).is_retryable("GET", "/projects/p/jobs/j", status=503)
        True
    """

    max_attempts: int = 5
    deadline: float = 120.0
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    idempotent_posts: tuple[str, ...] = (r"/oauth/token$", r"/cancel/?$")
    stateless_paths: tuple[str, ...] = (r"/oauth/token$",)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.deadline < 0 or self.backoff_base < 0 or self.backoff_cap < 0:
            raise ValueError("deadline and backoff times must be >= 0")

    def is_idempotent(self, method: str, path: str) -> bool:
        """Tell whether sending the request twice has the same effect as sending it once."""
        return method in _IDEMPOTENT_METHODS or _matches(self.idempotent_posts, path)

    def is_retryable(
        self, method: str, path: str, *, status: int | None = None, broke_off: bool = False
    ) -> bool:
        """Tell whether a failed attempt is worth another one.

        Args:
            method: The request method.
            path: The request path.
            status: The answer's status, or None when there was no answer.
            broke_off: True when the request may have reached the server but no whole
                answer came back (a read timeout, a reset); False when the connection
                never opened. Ignored when ``status`` is given.
        """
        if status is None:
            return not broke_off or self.is_idempotent(method, path)
        if not (
            status in RETRYABLE_STATUSES or (status >= 500 and _matches(self.stateless_paths, path))
        ):
            return False
        return self.is_idempotent(method, path) or status in NOT_PROCESSED_STATUSES

    def backoff(self, failures: int, rng: random.Random) -> float:
        """Full-jitter exponential backoff after ``failures`` failed attempts in a row."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (failures - 1))
        return rng.uniform(0, ceiling)


def _matches(patterns: tuple[str, ...], path: str) -> bool:
    return any(re.search(pattern, path) for pattern in patterns)


class Attempts:
    """The retry budget of one operation (a request, or a whole download) under a policy.

    Call ``next_wait`` after each failed attempt: it says how long to wait before the next
    one, or None when attempts or time ran out.

    Args:
        policy: The rules.
        max_attempts: Overrides ``policy.max_attempts`` (a download's own option).
        clock: Monotonic clock (tests).
        rng: Jitter source (tests).
    """

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        max_attempts: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts is not None and max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.policy = policy
        self.limit = policy.max_attempts if max_attempts is None else max_attempts
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._start = clock()
        self.made = 0
        self._failures = 0

    def begin(self) -> None:
        """An attempt starts."""
        self.made += 1

    def give_back(self) -> None:
        """The last attempt cost nothing (a refused signed URL that is replaced): uncount it."""
        self.made -= 1

    def reset(self) -> None:
        """Start from a full budget (a download that starts over from byte 0)."""
        self.made = 0
        self._failures = 0
        self._start = self._clock()

    def next_wait(
        self, *, retry_after: float | None = None, progressed: bool = False
    ) -> float | None:
        """The wait before the next attempt, or None when attempts or time ran out.

        Args:
            retry_after: The server's ``Retry-After`` in seconds, if it sent one.
            progressed: The failed attempt brought new bytes: resume at once, and count the
                deadline from now.
        """
        if self.made >= self.limit:
            return None
        if progressed:
            self._failures = 0
            self._start = self._clock()
            if retry_after is None:
                return 0.0
        else:
            self._failures += 1
        wait = (
            retry_after
            if retry_after is not None
            else self.policy.backoff(self._failures, self._rng)
        )
        if self._clock() - self._start + wait > self.policy.deadline:
            return None
        return wait


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date).

    Args:
        value: The header value, or None.
        now: The current wall-clock time (for tests); defaults to ``time.time()``.

    Returns:
        The wait in seconds (never negative), or None when absent or unreadable
        (``inf`` and ``nan`` included).
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


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


def current_call_options() -> CallOptions:
    """The overrides of the ``call_options`` block the current thread or task is in."""
    return _CALL_OPTIONS.get() or _NO_OPTIONS


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
