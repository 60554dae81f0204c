"""Project credentials and short-lived bearer tokens, like UP42's client-credentials flow."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import random
import threading
import time

__all__ = ["TokenStore"]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenStore:
    """Issues and checks tokens; a token dies after ``ttl`` seconds or on ``expire_all``."""

    def __init__(self, *, project_id: str, api_key: str, ttl: float, rng: random.Random) -> None:
        if ttl <= 0:
            raise ValueError("token_ttl must be > 0 seconds")
        self.project_id = project_id
        self.api_key = api_key
        self.ttl = ttl
        self._rng = rng
        self._lock = threading.Lock()
        self._issued: dict[str, float] = {}

    def check_basic(self, authorization: str | None) -> bool:
        """Whether an ``Authorization: Basic ...`` header carries this project's credentials."""
        if not authorization or not authorization.lower().startswith("basic "):
            return False
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, sep, password = decoded.partition(":")
        return bool(sep) and hmac.compare_digest(
            f"{user}:{password}".encode(), f"{self.project_id}:{self.api_key}".encode()
        )

    def issue(self) -> str:
        """A new token, shaped like the real API's JWTs (three base64url parts)."""
        with self._lock:
            now = time.time()
            header = _b64url(
                json.dumps({"alg": "RS256", "typ": "JWT"}, separators=(",", ":")).encode()
            )
            claims = {
                "sub": self.project_id,
                "iss": "up42-sandbox",
                "iat": int(now),
                "exp": int(now + self.ttl),
                "jti": f"{self._rng.getrandbits(64):016x}",
            }
            payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
            token = f"{header}.{payload}.{_b64url(self._rng.randbytes(32))}"
            self._issued[token] = time.monotonic() + self.ttl
            return token

    def valid(self, authorization: str | None) -> bool:
        """Whether an ``Authorization: Bearer ...`` header carries a live token."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return False
        token = authorization[7:].strip()
        with self._lock:
            expires = self._issued.get(token)
        return expires is not None and time.monotonic() < expires

    def expire_all(self) -> None:
        """Every token issued so far answers 401 from now on."""
        with self._lock:
            self._issued = dict.fromkeys(self._issued, 0.0)
