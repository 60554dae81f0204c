"""Access tokens: fetched from ``/oauth/token``, cached, renewed early and after a 401.

The token flow is an ``httpx.Auth``, so every request the generated client sends
carries a fresh token without any ``Job`` method knowing about tokens.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator

import httpx

from ._errors import AuthenticationError, InvalidResponseError
from ._redact import SECRET_FILTER
from ._responses import error_from_response, invalid_response

__all__ = ["TokenAuth"]

# Renew this long before the announced expiry, so a request never leaves with a token
# that dies in flight (tokens live about 300 s) ...
RENEW_MARGIN_SECONDS = 30.0
# ... but never earlier than this share of the token's life: a token that lives less than
# the margin would otherwise be renewed before every single request.
RENEW_MARGIN_SHARE = 0.1


class TokenAuth(httpx.Auth):
    """Bearer tokens for one project, shared by every thread of a session.

    Args:
        fetch: Asks the token endpoint for a new token; returns the raw response.
        project_id: Named in errors (the key never is).
        clock: Monotonic clock, swappable in tests.
    """

    def __init__(
        self,
        fetch: Callable[[], httpx.Response],
        *,
        project_id: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._project_id = project_id
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.renewals = 0
        """How many tokens were fetched so far (for tests and diagnostics)."""

    def __repr__(self) -> str:
        state = "token cached" if self._token else "no token yet"
        return f"TokenAuth(project_id={self._project_id!r}, {state})"

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            # The token expired early or was revoked: renew once, then give the
            # answer to the caller whatever it is.
            request.headers["Authorization"] = f"Bearer {self.token(stale=token)}"
            yield request

    def token(self, *, stale: str | None = None) -> str:
        """A valid token, renewing it when it is missing, about to expire, or equal to ``stale``.

        Threads that saw a 401 with the same token renew it once between them:
        whoever takes the lock first renews, the others find a new token.
        """
        with self._lock:
            current = self._token
            fresh = current is not None and self._clock() < self._expires_at
            if current is None or not fresh or current == stale:
                current = self._renew()
            return current

    def _renew(self) -> str:
        response = self._fetch()
        if response.status_code in (400, 401, 403):
            raise AuthenticationError(
                f"the API refused the credentials of project {self._project_id}: "
                "check UP42_PROJECT_ID and UP42_PROJECT_API_KEY (or the cfg_file)",
                status_code=response.status_code,
                path=response.request.url.path,
                method=response.request.method,
            )
        if response.status_code >= 400:
            raise error_from_response(response)
        try:
            payload = response.json()
            token = payload["access_token"]
            expires_in = float(payload.get("expires_in", 300))
        except (ValueError, KeyError, TypeError) as exc:
            raise invalid_response(response, "no access_token in the token answer") from exc
        if not isinstance(token, str) or not token:
            raise InvalidResponseError(
                "the token endpoint answered without a token",
                status_code=response.status_code,
                path=response.request.url.path,
            )
        SECRET_FILTER.add_secret(token)
        self._token = token
        margin = min(RENEW_MARGIN_SECONDS, RENEW_MARGIN_SHARE * expires_in)
        self._expires_at = self._clock() + max(0.0, expires_in - margin)
        self.renewals += 1
        return token
