"""The session's HTTP layer: one retry transport, error mapping and secret redaction.

Everything here sits below the generated client: the generated ``*_detailed``
functions build requests and parse bodies, this module decides when to try again
and what a failure means. ``Job`` methods never retry on their own.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from ._errors import (
    APIError,
    AuthenticationError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
)

__all__ = [
    "LOGGER",
    "RetryPolicy",
    "RetryTransport",
    "SecretFilter",
    "error_from_response",
    "excerpt",
    "install_secret_filter",
    "parse_retry_after",
]

LOGGER = logging.getLogger("up42_facade")

# Statuses that mean "not now" rather than "never": a request that timed out before the
# server read it (408), rate limits and gateway trouble.
RETRYABLE_STATUSES = frozenset({408, 429, 502, 503, 504})
# Statuses after which the server did not act on the request, so even a POST may be sent again.
NOT_PROCESSED_STATUSES = frozenset({408, 429, 503})
# How much of an unreadable body goes into an error message.
EXCERPT_CHARS = 160

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """When and how long the session waits before sending a request again.

    Attributes:
        max_attempts: Attempts in all, the first included.
        deadline: Seconds from the first attempt after which no new attempt starts;
            a ``Retry-After`` that ends later fails at once.
        backoff_base: First backoff in seconds; doubles per attempt (full jitter).
        backoff_cap: Longest single backoff in seconds.
        idempotent_posts: Path patterns of POSTs that are safe to send twice
            (the token endpoint and cancel): they are retried like GETs.
        stateless_paths: Path patterns whose every 5xx is worth another attempt, not
            only 502-504: asking for a token changes nothing on the server.
    """

    max_attempts: int = 5
    deadline: float = 120.0
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    idempotent_posts: tuple[str, ...] = (r"/oauth/token$", r"/cancel/?$")
    stateless_paths: tuple[str, ...] = (r"/oauth/token$",)

    def is_idempotent(self, request: httpx.Request) -> bool:
        """Tell whether sending ``request`` twice has the same effect as sending it once."""
        if request.method in {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}:
            return True
        return _matches(self.idempotent_posts, request)

    def is_retryable_status(self, request: httpx.Request, status: int) -> bool:
        """Tell whether an answer with ``status`` may go away if ``request`` is sent again."""
        return status in RETRYABLE_STATUSES or (
            status >= 500 and _matches(self.stateless_paths, request)
        )

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter exponential backoff before attempt number ``attempt + 1``."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return rng.uniform(0, ceiling)


def _matches(patterns: tuple[str, ...], request: httpx.Request) -> bool:
    return any(re.search(pattern, request.url.path) for pattern in patterns)


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


class RetryTransport(httpx.BaseTransport):
    """Sends each request again on connect errors, 408, 429, 502-504 and read timeouts.

    Connect errors are retried for every method (nothing reached the server).
    Rate limits, gateway errors and read timeouts are retried for idempotent
    requests; a POST is retried only when the policy marks it idempotent, or
    when the answer says the server did not act on it (408, 429, 503). Every
    5xx of the token endpoint is retried (``RetryPolicy.stateless_paths``).
    ``Retry-After`` wins over the backoff; one that ends past the deadline
    returns the 429 at once so the caller can say when to come back. A
    ``Retry-After`` holds back every request of the transport, not only the one
    that got it: a rate limit is the project's, and threads sharing a session
    must not keep knocking while one of them waits it out.
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
        start = self._clock()
        delay = 0.0
        attempt = 0
        while True:
            self._hold_back(delay)
            attempt += 1
            try:
                response = self._inner.handle_request(request)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                wait = self._next_wait(attempt, start, None)
                if wait is None:
                    raise
                self._log_retry(request, attempt, wait, type(exc).__name__)
            except (httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                wait = self._next_wait(attempt, start, None)
                if wait is None or not self._policy.is_idempotent(request):
                    raise
                self._log_retry(request, attempt, wait, type(exc).__name__)
            else:
                if not self._policy.is_retryable_status(request, response.status_code):
                    return response
                retryable = self._policy.is_idempotent(request) or (
                    response.status_code in NOT_PROCESSED_STATUSES
                )
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                wait = self._next_wait(attempt, start, retry_after) if retryable else None
                if wait is None:
                    return response
                if retry_after is not None:
                    with self._lock:
                        self._quiet_until = max(self._quiet_until, self._clock() + wait)
                response.close()
                self._log_retry(request, attempt, wait, str(response.status_code))
            delay = wait

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

    def _next_wait(self, attempt: int, start: float, retry_after: float | None) -> float | None:
        """The wait before the next attempt, or None when attempts or time ran out."""
        if attempt >= self._policy.max_attempts:
            return None
        wait = retry_after if retry_after is not None else self._policy.backoff(attempt, self._rng)
        if self._clock() - start + wait > self._policy.deadline:
            return None
        return wait

    @staticmethod
    def _log_retry(request: httpx.Request, attempt: int, wait: float, reason: str) -> None:
        LOGGER.info(
            "%s %s answered %s; attempt %d again in %.2f s",
            request.method,
            request.url.path,
            reason,
            attempt + 1,
            wait,
        )

    def close(self) -> None:
        self._inner.close()


def excerpt(body: bytes | str, limit: int = EXCERPT_CHARS) -> str:
    """A short, single-line, tag-free excerpt of a response body for error messages."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = _SPACE.sub(" ", _TAG.sub(" ", text)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _server_message(response: httpx.Response) -> tuple[str, bool]:
    """The server's own message, and whether the body was readable JSON."""
    try:
        payload = json.loads(response.content)
    except ValueError:
        return excerpt(response.content) or response.reason_phrase, False
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"], True
        if isinstance(error, str) and error:
            description = payload.get("error_description")
            return (f"{error}: {description}" if isinstance(description, str) else error), True
        if isinstance(payload.get("message"), str):
            return payload["message"], True
    return excerpt(response.content), True


def error_from_response(response: httpx.Response) -> APIError:
    """The typed error for a response that is not a success; the one place statuses map to errors.

    Args:
        response: A response with a status of 400 or more (its body already read).

    Returns:
        An ``APIError`` subclass carrying the status, the server's message and
        the path without its query string.
    """
    status = response.status_code
    message, readable = _server_message(response)
    where = {"path": response.request.url.path, "method": response.request.method}
    if status in (401, 403):
        hint = (
            "check the project id and API key"
            if status == 401
            else "this project may not access it"
        )
        return AuthenticationError(f"{message} ({hint})", status_code=status, **where)
    if status == 404:
        return NotFoundError(
            f"{message} (check the job and task ids and the project)", status_code=status, **where
        )
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        when = (
            f"; come back in {retry_after:.0f} s, at {_clock_time(retry_after)}"
            if retry_after is not None
            else "; try again later"
        )
        return RateLimitError(
            f"rate limited: {message}{when}", status_code=status, retry_after=retry_after, **where
        )
    if status >= 500:
        kind = "" if readable else "the server sent an error page: "
        return ServerError(f"{kind}{message} (try again later)", status_code=status, **where)
    return APIError(message, status_code=status, **where)


def invalid_response(response: httpx.Response, reason: str) -> InvalidResponseError:
    """An error for a success status whose body the spec does not allow."""
    content_type = response.headers.get("Content-Type", "no content type")
    return InvalidResponseError(
        f"unexpected answer ({content_type}): {reason}; body starts {excerpt(response.content)!r}",
        status_code=response.status_code,
        path=response.request.url.path,
        method=response.request.method,
    )


def _clock_time(seconds_from_now: float) -> str:
    try:
        moment = datetime.fromtimestamp(time.time() + seconds_from_now, tz=UTC)
    except (OverflowError, OSError, ValueError):  # a Retry-After past the year 9999
        return "a time too far away to show"
    return moment.strftime("%H:%M:%S UTC")


# Values that must never leave the process, whatever logged them: (pattern, replacement).
_SECRET_PATTERNS = (
    (
        re.compile(
            r"(?i)((?:proxy-)?authorization['\"]?\s*[:=,]\s*\(?\s*(?:b(?=['\"]))?['\"]?)(?:(?:bearer|basic)\s+)?[^'\"\s)]+"
        ),
        r"\1[REDACTED]",
    ),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [REDACTED]"),
    (re.compile(r"(?i)(X-Goog-(?:Signature|Credential)=)[^&\s'\"]+"), r"\1[REDACTED]"),
    (
        re.compile(r"(?i)((?:access_?token|refresh_token)['\"]?\s*[:=]\s*['\"]?)[^'\"&\s,}]+"),
        r"\1[REDACTED]",
    ),
)


class SecretFilter(logging.Filter):
    """Removes Authorization values, tokens, signatures and registered secrets from records."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add_secret(self, secret: str) -> None:
        """Redact this exact value from now on (an API key, a token)."""
        if len(secret) >= 4:
            with self._lock:
                self._secrets.add(secret)

    def redact(self, text: str) -> str:
        """The text with every known secret and secret-looking value replaced."""
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, "[REDACTED]")
        for pattern, replacement in _SECRET_PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


SECRET_FILTER = SecretFilter()

# httpx and httpcore log through child loggers; a filter on a parent does not see their records.
_THIRD_PARTY_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


def install_secret_filter(secrets: Iterable[str] = ()) -> SecretFilter:
    """Attach the process-wide secret filter to our logger and httpx's, and register secrets."""
    for secret in secrets:
        SECRET_FILTER.add_secret(secret)
    for name in ("up42_facade", *_THIRD_PARTY_LOGGERS):
        logger = logging.getLogger(name)
        if SECRET_FILTER not in logger.filters:
            logger.addFilter(SECRET_FILTER)
    return SECRET_FILTER
