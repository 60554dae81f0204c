"""What may not reach a cassette, both sides of it: the scrubbing and the scan that proves it.

``vcr_config`` (in ``conftest.py``) runs the scrubbers on every interaction before it is
saved; vcrpy also runs the request scrubbers on live requests before matching them, so
a replayed request carrying ``SCRUBBED`` matches the recorded one. ``find_secrets`` is the
other side: it reads a cassette's raw text and names anything still shaped like a secret.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "SCRUBBED",
    "SIGNED_URL_SECRETS",
    "find_secrets",
    "scrub_authorization",
    "scrub_response",
    "scrub_signed_url",
]

#: Stands in for every secret. Plain letters, so it survives URL and JSON encoding unchanged.
SCRUBBED = "SCRUBBED"
#: Query parameters of a signed URL that grant access (GCS V4 signing).
SIGNED_URL_SECRETS = ("X-Goog-Signature", "X-Goog-Credential")
#: JSON keys whose values are bearer tokens (the token endpoint sends the token twice).
TOKEN_KEYS = frozenset(
    {"access_token", "accessToken", "refresh_token", "refreshToken", "id_token", "idToken"}
)
#: Response headers dropped: they change on every recording and say nothing about the API
#: (date, server), or they would carry a session of the real API (set-cookie).
DROPPED_RESPONSE_HEADERS = frozenset({"date", "server", "set-cookie"})

_JSON_TYPE = re.compile(r"^application/([\w.+-]+\+)?json\b", re.IGNORECASE)

# A credential after an auth scheme, unless it is the placeholder. The auth-param lookahead
# lets `WWW-Authenticate: Bearer error="invalid_token"` through; `\s+` spans YAML line folds.
_AUTH_CREDENTIAL = re.compile(
    rf"\b(?:Bearer|Basic)\s+(?!{SCRUBBED}\b)(?![\w.~+/-]*=[\w\"])[\w.~+/-]{{8,}}",
    re.IGNORECASE,
)
_SECRET_PATTERNS = (
    ("a bearer or basic credential", _AUTH_CREDENTIAL),
    ("a JWT", re.compile(r"\beyJ[\w-]{5,}\.[\w-]{5,}\.")),
    (
        "a signed-URL secret",
        re.compile(
            rf"X-Goog-(?:Signature|Credential)=(?!{SCRUBBED}(?:[&'\"\s]|$))[^&'\"\s]+",
            re.IGNORECASE,
        ),
    ),
    ("a cookie header", re.compile(r"^\s*(?:set-)?cookie:", re.IGNORECASE | re.MULTILINE)),
    (
        "a token value",
        re.compile(
            rf"[\"']?(?:{'|'.join(sorted(TOKEN_KEYS))})[\"']?\s*[:=]\s*[\"']?(?!{SCRUBBED}\b)[\w.~+/-]{{8,}}"
        ),
    ),
)


def scrub_authorization(key: str, value: str, request: object) -> str:
    """``Bearer SCRUBBED`` or ``Basic SCRUBBED``: the scheme stays for the spec's security checks.

    Called by vcrpy's ``filter_headers`` with ``(key=..., value=..., request=...)``.
    """
    del key, request
    scheme, _, _ = value.partition(" ")
    return f"{scheme} {SCRUBBED}"


def scrub_signed_url(url: str) -> str:
    """The URL with its signing secrets replaced; other parameters (date, expiry) stay readable."""
    parts = urlsplit(url)
    query = [
        (name, SCRUBBED if name in SIGNED_URL_SECRETS else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _scrub_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: SCRUBBED if key in TOKEN_KEYS and isinstance(item, str) else _scrub_json(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_scrub_json(item) for item in value]
    if isinstance(value, str) and any(f"{name}=" in value for name in SIGNED_URL_SECRETS):
        return scrub_signed_url(value)
    return value


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """vcrpy's ``before_record_response``: drop volatile headers and cookies, scrub tokens and URLs.

    A JSON body is rewritten only when something in it changed (compact, like the API's own),
    and ``Content-Length`` follows the new body so the replayed response stays consistent.
    """
    headers = {
        name: values
        for name, values in response["headers"].items()
        if name.lower() not in DROPPED_RESPONSE_HEADERS
    }
    body = response["body"]["string"]
    content_type = next(
        (values[0] for name, values in headers.items() if name.lower() == "content-type"), ""
    )
    if body and _JSON_TYPE.match(content_type):
        try:
            data = json.loads(body)
        except ValueError:
            data = None  # a broken body is recorded as it came: the tests may be about it
        scrubbed = _scrub_json(data)
        if scrubbed != data:
            body = json.dumps(scrubbed, separators=(",", ":"), ensure_ascii=False).encode()
            headers = {
                name: [str(len(body))] if name.lower() == "content-length" else values
                for name, values in headers.items()
            }
    return {**response, "headers": headers, "body": {**response["body"], "string": body}}


def find_secrets(text: str, known: tuple[str, ...] = ()) -> list[str]:
    """What in ``text`` looks like a secret: ``["line 12: a JWT (eyJhbGciOiJSUzI1…)", ...]``.

    The patterns run over the whole text, not line by line: YAML folds long values at spaces,
    so ``Bearer <token>`` may span two lines.

    Args:
        text: A cassette's raw YAML.
        known: Exact values that must never appear (API keys); empty strings are ignored.
    """
    found = []
    for value in filter(None, known):
        for match in re.finditer(re.escape(value), text):
            found.append(f"line {_line(text, match.start())}: a known secret")
    for what, pattern in _SECRET_PATTERNS:
        for match in pattern.finditer(text):
            # A short prefix locates the leak without repeating the secret in CI logs.
            found.append(f"line {_line(text, match.start())}: {what} ({match.group(0)[:16]}…)")
    return found


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1
