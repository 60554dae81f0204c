"""What an answer means: the one place statuses and bodies become typed errors.

Everything here reads a response that has already arrived (an ``httpx.Response`` with its
body read); nothing sends or waits, so both front doors share it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from ._errors import (
    APIError,
    AuthenticationError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from ._retry import parse_retry_after

__all__ = [
    "envelope_error",
    "error_from_response",
    "excerpt",
    "invalid_response",
    "json_body",
]

# How much of an unreadable body goes into an error message.
EXCERPT_CHARS = 160

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


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
        message = _words(payload)
        if message is not None:
            return message, True
    return excerpt(response.content), True


def _words(payload: dict[str, Any]) -> str | None:
    """The message of a JSON error body in any of the shapes the service used: the
    envelope's ``error`` (an object with ``message``, or a string), OAuth's ``error`` and
    ``error_description``, an RFC 7807 problem (``title``, ``detail``), or a ``message``."""
    error = payload.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    if isinstance(error, str) and error:
        description = payload.get("error_description")
        return f"{error}: {description}" if isinstance(description, str) else error
    title, detail = payload.get("title"), payload.get("detail")
    problem = [part for part in (title, detail) if isinstance(part, str) and part]
    if problem:
        return ": ".join(problem)
    if isinstance(payload.get("message"), str):
        return str(payload["message"])
    return None


def envelope_error(response: httpx.Response) -> APIError | None:
    """The error a success status carries in its envelope, or None.

    The service answered some failures ``200`` with ``{"data": null, "error": ...}`` (a
    string or an object); that is an ``APIError`` with the server's words. An ``error``
    beside real data, or an empty one (``{}``), is no error.
    """
    try:
        payload = json.loads(response.content)
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.get("data") is not None:
        return None
    error = payload.get("error")
    if not error:
        return None
    message = _words(payload) or excerpt(json.dumps(error))
    return APIError(
        f"the API answered {response.status_code} without data: {message}",
        status_code=response.status_code,
        path=response.request.url.path,
        method=response.request.method,
    )


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


def json_body(response: httpx.Response, loads: Callable[[bytes], Any] = json.loads) -> Any:
    """The JSON body of a successful answer, as plain Python data.

    Args:
        response: The answer.
        loads: The JSON parser (``_json_slices.loads_in_slices`` on a worker thread).

    Raises:
        InvalidResponseError: The body is not JSON (the spec allows nothing else here).
    """
    try:
        return loads(response.content)
    except ValueError:
        raise invalid_response(response, "the body is not valid JSON") from None
