"""What the sync and async sessions share: settings, credentials, and how a call is judged.

No request is sent here. ``Session`` (``_session``) and ``AsyncSession``
(``_async_session``) build their httpx clients from ``SessionBase`` and run generated
operations; both judge the outcome with ``judged`` and ``parse_failure``, so a status
means the same error whichever front door met it.
"""

from __future__ import annotations

import functools
import json
import os
import uuid
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ._errors import APIError, ConfigurationError
from ._errors import TransportError as Up42TransportError
from ._network import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    Network,
    VerifyTypes,
    is_certificate_error,
)
from ._rate import RateBudget
from ._redact import LOGGER, install_secret_filter
from ._responses import envelope_error, error_from_response, invalid_response
from ._retry import RetryPolicy
from ._version import __version__

if TYPE_CHECKING:
    from up42_jobs_client.types import Response

    from ._transfer import TransferSettings

__all__ = [
    "DEFAULT_BASE_URL",
    "LAST_RESPONSE",
    "SessionBase",
    "check_uuid",
    "judged",
    "parse_failure",
    "resolve_credentials",
    "transport_error",
]

DEFAULT_BASE_URL = "https://api.up42.com"
USER_AGENT = f"up42-facade/{__version__} (+https://github.com/up42-facade/up42-facade)"

T = TypeVar("T")

# The raw httpx response of the current call, per thread and per task: generated parsers
# may fail on a body the spec does not allow, and the error still needs the status and path.
LAST_RESPONSE: ContextVar[httpx.Response | None] = ContextVar("LAST_RESPONSE", default=None)


class SessionBase:
    """Settings both sessions share; see ``Up42`` for the arguments.

    Raises:
        ConfigurationError: An id or key is missing, the CA bundle is unreadable, or the
            proxy cannot be used (socks).
    """

    def __init__(
        self,
        *,
        project_id: str,
        project_api_key: str,
        base_url: str,
        connect_timeout: float,
        read_timeout: float,
        retry: RetryPolicy | None,
        verify: VerifyTypes,
        proxy: str | None,
        trust_env: bool,
        max_requests_per_second: float | None = None,
    ) -> None:
        if not project_id or not project_api_key:
            raise ConfigurationError(
                "missing credentials: pass project_id and project_api_key, a cfg_file, "
                "or set UP42_PROJECT_ID and UP42_PROJECT_API_KEY"
            )
        install_secret_filter([project_api_key])
        self.project_id = check_uuid(project_id, "project_id")
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.budget = RateBudget(max_requests_per_second)
        """The session's request rate, shared by all its requests (``RateBudget``)."""
        self.timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self.network = Network(verify=verify, proxy=proxy, trust_env=trust_env)
        proxy_url = self.network.proxy_for(self.base_url)
        self._transport_options: dict[str, Any] = {
            "verify": self.network.ssl_context(),
            "proxy": proxy_url.to_httpx() if proxy_url is not None else None,
        }
        self._client_options: dict[str, Any] = {
            "base_url": self.base_url,
            "timeout": self.timeout,
            "headers": {"User-Agent": USER_AGENT},
            "trust_env": trust_env,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(project_id={self.project_id!r}, base_url={self.base_url!r})"

    @functools.cached_property
    def transfers(self) -> TransferSettings:
        """What this session's downloads share: storage connections over the same network
        configuration, the same ``RetryPolicy`` and the same ``sleep``."""
        # Loaded on the first download: ``import up42_facade`` stays quick.
        from ._storage import StorageClient
        from ._transfer import TransferSettings

        storage = StorageClient(
            self.network,
            connect_timeout=float(self.timeout.connect or DEFAULT_CONNECT_TIMEOUT),
            read_timeout=float(self.timeout.read or DEFAULT_READ_TIMEOUT),
        )
        return TransferSettings(storage=storage, policy=self.retry, sleep=self._transfer_sleep)

    def _close_storage(self) -> None:
        """Close the idle storage connections of this session's downloads, if any were made."""
        if "transfers" in self.__dict__:
            self.transfers.storage.close()

    def _transfer_sleep(self, seconds: float) -> None:
        """How a download's worker waits between attempts: through the session's ``sleep``."""
        raise NotImplementedError


def judged(result: Response[T], raw: httpx.Response) -> Response[T]:
    """A generated response if it is a success the spec lists, else the typed error.

    Raises:
        APIError: An error status (a typed subclass), or a success status the spec does not
            list here (``InvalidResponseError``).
    """
    if result.status_code >= 400:
        raise error_from_response(raw)
    if result.parsed is None:
        # A success status the spec does not list here (201, 204, a redirect, ...): the
        # generated parser never looked at the body, so nothing vouches for its shape.
        raise invalid_response(raw, f"HTTP {result.status_code} is not an answer it lists")
    return result


def parse_failure(exc: Exception, raw: httpx.Response | None) -> APIError | None:
    """The typed error for a generated parser that failed on an answer, or None if no
    answer arrived (the exception is then the caller's to re-raise)."""
    if raw is None:
        return None
    if raw.status_code >= 400:
        return error_from_response(raw)
    return envelope_error(raw) or invalid_response(raw, f"{type(exc).__name__} while parsing it")


#: What a generated parser raises on a body the spec does not allow.
PARSE_ERRORS = (ValueError, KeyError, TypeError, AttributeError)


def transport_error(exc: httpx.RequestError, what: str) -> Up42TransportError:
    """The typed error for a request that got no answer."""
    path = exc.request.url.path if _has_request(exc) else ""
    detail = f"{type(exc).__name__}{': ' + path if path else ''}"
    if is_certificate_error(exc):
        return Up42TransportError(
            f"the TLS certificate of {what} was not accepted ({detail}); if your network uses "
            "its own certificate authority, set SSL_CERT_FILE or SSL_CERT_DIR, or pass "
            "verify=<CA bundle or ssl.SSLContext>"
        )
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    return Up42TransportError(
        f"the request to {what} {kind} ({detail}); check the network and base_url, then try again"
    )


def _has_request(exc: httpx.RequestError) -> bool:
    try:
        exc.request  # noqa: B018 - httpx raises RuntimeError when no request is attached
    except RuntimeError:
        return False
    return True


def log_request(request: httpx.Request) -> None:
    """Log a request's method and path (never its query or headers)."""
    LOGGER.debug("%s %s", request.method, request.url.path)


def check_uuid(value: str, name: str) -> str:
    """``value`` as a canonical UUID string.

    Raises:
        ConfigurationError: It is not a UUID (nothing is sent).
    """
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ConfigurationError(
            f"{name} {value!r} is not a UUID (like d62c27c0-24e9-433d-b509-ae080504d5c6)"
        ) from None


def resolve_credentials(
    cfg_file: str | Path | None,
    project_id: str | None,
    project_api_key: str | None,
    base_url: str | None,
) -> tuple[str, str, str]:
    """``(project_id, project_api_key, base_url)`` from the arguments, else ``cfg_file``
    (JSON with ``project_id``, ``project_api_key`` and optionally ``base_url``), else
    ``UP42_PROJECT_ID``, ``UP42_PROJECT_API_KEY`` and ``UP42_BASE_URL``; the production API
    when no base URL is given anywhere. Missing credentials come back empty (the session
    says what is missing).

    Raises:
        ConfigurationError: ``cfg_file`` is missing or not a JSON object.
    """
    if cfg_file is not None and (project_id is None or project_api_key is None):
        config = _read_config(Path(cfg_file))
        project_id = project_id or config.get("project_id")
        project_api_key = project_api_key or config.get("project_api_key")
        base_url = base_url or config.get("base_url")
    return (
        project_id or os.environ.get("UP42_PROJECT_ID") or "",
        project_api_key or os.environ.get("UP42_PROJECT_API_KEY") or "",
        base_url or os.environ.get("UP42_BASE_URL") or DEFAULT_BASE_URL,
    )


def _read_config(path: Path) -> dict[str, str]:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"cfg_file {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cfg_file {path} is not readable JSON: {exc}") from None
    if not isinstance(config, dict):
        raise ConfigurationError(f"cfg_file {path} must hold a JSON object")
    return {key: str(value) for key, value in config.items() if value is not None}
