"""The HTTP session: credentials, the generated client, and the one place calls are checked.

A ``Session`` owns one ``AuthenticatedClient`` of the generated package whose httpx stack
does everything a call needs on the way: a token (``TokenAuth``), retries
(``RetryTransport``), the network configuration (``Network``), request logging without
secrets. ``Session.call`` runs a generated ``*_detailed`` function and turns any
non-success into a typed error. The session knows no ``Job``: ``Up42`` (in ``_up42``) is
the front door that adds them.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ._auth import TokenAuth
from ._errors import ConfigurationError, Up42Error
from ._errors import TransportError as Up42TransportError
from ._network import Network, VerifyTypes
from ._redact import LOGGER, install_secret_filter
from ._responses import error_from_response, invalid_response, json_body
from ._retry import RetryPolicy
from ._transport import RetryTransport, is_certificate_error
from ._version import __version__

if TYPE_CHECKING:
    from up42_jobs_client import AuthenticatedClient
    from up42_jobs_client.types import Response

    from ._transfer import TransferSettings

__all__ = ["DEFAULT_BASE_URL", "Session", "check_uuid"]

DEFAULT_BASE_URL = "https://api.up42.com"
# Connecting should be quick; reads wait for a busy API but not forever.
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0
USER_AGENT = f"up42-facade/{__version__} (+https://github.com/up42-facade/up42-facade)"

T = TypeVar("T")

# The raw httpx response of the current call, per thread: generated parsers may fail
# on a body the spec does not allow, and the error still needs the status and path.
_LAST_RESPONSE: ContextVar[httpx.Response | None] = ContextVar("_LAST_RESPONSE", default=None)


def _remember_response(response: httpx.Response) -> None:
    _LAST_RESPONSE.set(response)


def _log_request(request: httpx.Request) -> None:
    LOGGER.debug("%s %s", request.method, request.url.path)


class Session:
    """An authenticated connection to the UP42 job API (``Up42`` adds jobs to it).

    Its arguments are ``Up42``'s, documented there: credentials, ``base_url``, timeouts,
    ``retry``, the network (``verify``, ``proxy``, ``trust_env``), ``transport`` and ``sleep``.

    Raises:
        ConfigurationError: An id or key is missing, the CA bundle is unreadable, or the
            proxy cannot be used (socks).
    """

    def __init__(
        self,
        *,
        project_id: str,
        project_api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        retry: RetryPolicy | None = None,
        verify: VerifyTypes = True,
        proxy: str | None = None,
        trust_env: bool = True,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from up42_jobs_client import AuthenticatedClient

        if not project_id or not project_api_key:
            raise ConfigurationError(
                "missing credentials: pass project_id and project_api_key, a cfg_file, "
                "or set UP42_PROJECT_ID and UP42_PROJECT_API_KEY"
            )
        install_secret_filter([project_api_key])
        self.project_id = check_uuid(project_id, "project_id")
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self.network = Network(verify=verify, proxy=proxy, trust_env=trust_env)
        api_proxy = self.network.proxy_for(self.base_url)

        def stack(auth: httpx.Auth | tuple[str, str]) -> httpx.Client:
            inner = transport or httpx.HTTPTransport(
                verify=self.network.ssl_context(),
                proxy=api_proxy.to_httpx() if api_proxy is not None else None,
            )
            return httpx.Client(
                base_url=self.base_url,
                timeout=self.timeout,
                headers={"User-Agent": USER_AGENT},
                auth=auth,
                transport=RetryTransport(inner, policy=self.retry, sleep=sleep),
                trust_env=trust_env,
                event_hooks={"request": [_log_request], "response": [_remember_response]},
            )

        # The token endpoint authenticates with HTTP Basic (the httpx auth below), not a bearer.
        self._token_client = AuthenticatedClient(
            base_url=self.base_url,
            token="unused-basic-auth",  # noqa: S106 - not a secret, a placeholder
        ).set_httpx_client(stack((project_id, project_api_key)))
        self.tokens = TokenAuth(self._fetch_token, project_id=project_id)
        """The session's bearer tokens (``renewals`` counts how many were fetched)."""
        self._client = AuthenticatedClient(
            base_url=self.base_url,
            token="managed-by-TokenAuth",  # noqa: S106 - not a secret, a placeholder
        ).set_httpx_client(stack(self.tokens))

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
        return TransferSettings(storage=storage, policy=self.retry, sleep=self.sleep)

    @property
    def client(self) -> AuthenticatedClient:
        """The generated client: the escape hatch to every operation of ``up42_jobs_client``.

        Its requests carry the session's token, retries and network settings. Pass it as
        ``client=`` to a generated ``sync_detailed`` function, or better, to ``call``.

        Example:
            >>> from up42_jobs_client.api.jobs import get_job  # doctest: +SKIP
            >>> session.call(get_job.sync_detailed, project_id=..., job_id=...)  # doctest: +SKIP
        """
        return self._client

    def check_credentials(self) -> None:
        """Fetch a token now, so wrong credentials fail here rather than at the first call.

        Raises:
            AuthenticationError: The API refused the credentials.
        """
        self.tokens.token()

    def _fetch_token(self) -> httpx.Response:
        from up42_jobs_client.api.auth import create_token
        from up42_jobs_client.models import TokenRequest

        _LAST_RESPONSE.set(None)
        try:
            create_token.sync_detailed(
                client=self._token_client, body=TokenRequest(grant_type="client_credentials")
            )
        except httpx.RequestError as exc:
            raise _transport_error(exc, "the token endpoint") from None
        except (ValueError, KeyError, TypeError):
            pass  # TokenAuth judges the raw answer, whatever the generated parser made of it
        response = _LAST_RESPONSE.get()
        assert response is not None  # the response hook ran for this request
        return response

    def call(self, operation: Callable[..., Response[T]], /, **kwargs: Any) -> Response[T]:
        """Run a generated ``*_detailed`` function and return its response if it succeeded.

        Args:
            operation: e.g. ``get_job.sync_detailed``.
            **kwargs: Its arguments, without ``client``.

        Returns:
            The generated ``Response`` (``parsed``, ``content``, ``headers``).

        Raises:
            APIError: The API answered with an error (a typed subclass), or with a
                status or body the spec does not allow (``InvalidResponseError``).
            TransportError: No answer (connection refused or reset, timeout, a TLS
                certificate that is not trusted).
        """
        result, _ = self._call(operation, kwargs)
        return result

    def call_json(self, operation: Callable[..., Response[Any]], /, **kwargs: Any) -> Any:
        """Like ``call``, but return the answer's JSON body as plain Python data.

        Raises:
            InvalidResponseError: The body is not JSON.
        """
        _, raw = self._call(operation, kwargs)
        return json_body(raw)

    def _call(
        self, operation: Callable[..., Response[T]], kwargs: dict[str, Any]
    ) -> tuple[Response[T], httpx.Response]:
        _LAST_RESPONSE.set(None)
        try:
            result = operation(client=self._client, **kwargs)
        except Up42Error:
            raise
        except httpx.RequestError as exc:
            raise _transport_error(exc, "the UP42 API") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raw = _LAST_RESPONSE.get()
            if raw is None:
                raise
            if raw.status_code >= 400:
                raise error_from_response(raw) from None
            raise invalid_response(raw, f"{type(exc).__name__} while parsing it") from None
        raw = _LAST_RESPONSE.get()
        assert raw is not None  # the response hook ran for this request
        if result.status_code >= 400:
            raise error_from_response(raw)
        if result.parsed is None:
            # A success status the spec does not list here (201, 204, a redirect, ...): the
            # generated parser never looked at the body, so nothing vouches for its shape.
            raise invalid_response(raw, f"HTTP {result.status_code} is not an answer it lists")
        return result, raw

    def close(self) -> None:
        """Close the connections of this session."""
        self._client.get_httpx_client().close()
        self._token_client.get_httpx_client().close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _transport_error(exc: httpx.RequestError, what: str) -> Up42TransportError:
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
