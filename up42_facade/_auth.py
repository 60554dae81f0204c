"""Access tokens: fetched from ``/oauth/token``, cached, renewed early and after a 401.

The token flow is an ``httpx.Auth``, so every request the generated client sends
carries a fresh token without any ``Job`` method knowing about tokens. ``TokenState``
holds what both front doors share (the token, its expiry, how an answer is judged);
``TokenAuth`` renews it under a thread lock, ``AsyncTokenAuth`` under an asyncio lock,
so one renewal runs at a time however many threads or coroutines saw the token expire.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator

import httpx

from ._errors import AuthenticationError, InvalidResponseError
from ._redact import SECRET_FILTER
from ._responses import error_from_response, invalid_response

__all__ = ["AsyncTokenAuth", "TokenAuth", "TokenState"]

# Renew this long before the announced expiry, so a request never leaves with a token
# that dies in flight (tokens live about 300 s) ...
RENEW_MARGIN_SECONDS = 30.0
# ... but never earlier than this share of the token's life: a token that lives less than
# the margin would otherwise be renewed before every single request.
RENEW_MARGIN_SHARE = 0.1
# The classic SDK's assumption when an answer does not say how long its token lives.
DEFAULT_LIFETIME = 300.0


class TokenState:
    """The current token of one project and when to renew it (no I/O).

    Args:
        project_id: Named in errors (the key never is).
        clock: Monotonic clock, swappable in tests.
    """

    def __init__(self, *, project_id: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._project_id = project_id
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self.renewals = 0
        """How many tokens were fetched so far (for tests and diagnostics)."""

    def __repr__(self) -> str:
        state = "token cached" if self._token else "no token yet"
        return f"{type(self).__name__}(project_id={self._project_id!r}, {state})"

    def needs_renewal(self, stale: str | None) -> bool:
        """Whether the token is missing, about to expire, or the one a 401 refused."""
        current = self._token
        return current is None or self._clock() >= self._expires_at or current == stale

    def accept(self, response: httpx.Response) -> str:
        """Take the token from an answer of the token endpoint.

        Raises:
            AuthenticationError: The credentials were refused.
            APIError: Another error status.
            InvalidResponseError: No token in the answer.
        """
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
            expires_in = float(payload.get("expires_in", DEFAULT_LIFETIME))
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


class TokenAuth(TokenState, httpx.Auth):
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
        super().__init__(project_id=project_id, clock=clock)
        self._fetch = fetch
        self._lock = threading.Lock()

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.valid_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            # The token expired early or was revoked: renew once, then give the
            # answer to the caller whatever it is.
            request.headers["Authorization"] = f"Bearer {self.valid_token(stale=token)}"
            yield request

    def valid_token(self, *, stale: str | None = None) -> str:
        """A valid token, renewing it when it is missing, about to expire, or equal to ``stale``.

        Threads that saw a 401 with the same token renew it once between them:
        whoever takes the lock first renews, the others find a new token.
        """
        with self._lock:
            if self.needs_renewal(stale):
                return self.accept(self._fetch())
            assert self._token is not None
            return self._token


class AsyncTokenAuth(TokenState, httpx.Auth):
    """Bearer tokens for one project, shared by every coroutine of an async session.

    Args:
        fetch: Asks the token endpoint for a new token; returns the raw response.
        project_id: Named in errors (the key never is).
        clock: Monotonic clock, swappable in tests.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[httpx.Response]],
        *,
        project_id: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import asyncio  # here, not at the top: the sync door never pays for it

        super().__init__(project_id=project_id, clock=clock)
        self._fetch = fetch
        self._lock = asyncio.Lock()

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.valid_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {await self.valid_token(stale=token)}"
            yield request

    async def valid_token(self, *, stale: str | None = None) -> str:
        """As ``TokenAuth.valid_token``: coroutines that saw a 401 renew it once between them."""
        async with self._lock:
            if self.needs_renewal(stale):
                return self.accept(await self._fetch())
            assert self._token is not None
            return self._token
