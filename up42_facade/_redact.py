"""Keeping secrets out of logs, reprs and messages: the API key, tokens, signed-URL signatures.

One process-wide ``SecretFilter`` sits on this package's logger and on httpx's; every
message that names a URL names it through ``redact_url`` or ``describe``.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = [
    "LOGGER",
    "SECRET_FILTER",
    "SecretFilter",
    "describe",
    "install_secret_filter",
    "redact_url",
]

LOGGER = logging.getLogger("up42_facade")

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


def redact_url(url: str) -> str:
    """``scheme://host/path`` of a URL: no query (it holds the signature), no credentials.

    Args:
        url: Any URL.

    Returns:
        The URL without query, fragment and user info.
    """
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}"


def describe(exc: BaseException | None) -> str:
    """A one-line account of a failure, with any secret in it redacted."""
    if exc is None:
        return "no answer"
    text = SECRET_FILTER.redact(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
