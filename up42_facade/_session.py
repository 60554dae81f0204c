"""The sync HTTP session: the generated client over httpx, and the one place calls are run.

A ``Session`` owns one ``AuthenticatedClient`` of the generated package whose httpx stack
does everything a call needs on the way: a token (``TokenAuth``), retries
(``RetryTransport``), the network configuration, request logging without secrets.
``Session.call`` runs a generated operation and turns any non-success into a typed error
(``_session_base.judged``). The session knows no ``Job``: ``Up42`` (in ``_up42``) is the
front door that adds them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ._auth import TokenAuth
from ._errors import APIError, ConfigurationError, Up42Error
from ._network import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, VerifyTypes
from ._responses import json_body
from ._retry import RetryPolicy
from ._session_base import (
    DEFAULT_BASE_URL,
    LAST_RESPONSE,
    PARSE_ERRORS,
    SessionBase,
    check_uuid,
    judged,
    log_request,
    parse_failure,
    transport_error,
)
from ._transport import RetryTransport

if TYPE_CHECKING:
    from up42_jobs_client import AuthenticatedClient
    from up42_jobs_client.types import Response

__all__ = ["DEFAULT_BASE_URL", "Operation", "Session", "check_uuid"]

T = TypeVar("T")

Operation = ModuleType | Callable[..., "Response[Any]"]
"""A generated operation module (``up42_jobs_client.api.jobs.get_job``), or one of its
``sync_detailed`` functions."""


def _remember_response(response: httpx.Response) -> None:
    LAST_RESPONSE.set(response)


class Session(SessionBase):
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
        max_requests_per_second: float | None = None,
        max_in_flight: int | None = None,
    ) -> None:
        from up42_jobs_client import AuthenticatedClient

        super().__init__(
            project_id=project_id,
            project_api_key=project_api_key,
            base_url=base_url,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retry=retry,
            verify=verify,
            proxy=proxy,
            trust_env=trust_env,
            max_requests_per_second=max_requests_per_second,
        )
        if max_in_flight is not None and max_in_flight < 1:
            raise ConfigurationError(f"max_in_flight must be >= 1 or None, not {max_in_flight!r}")
        self.sleep = sleep
        # One transport for the token and the API client: one quiet period after a 429, one
        # rate budget and one bound on requests in flight for the whole session.
        retrying = RetryTransport(
            transport or httpx.HTTPTransport(**self._transport_options),
            policy=self.retry,
            sleep=sleep,
            budget=self.budget,
            max_in_flight=max_in_flight,
        )

        def stack(auth: httpx.Auth | tuple[str, str]) -> httpx.Client:
            return httpx.Client(
                **self._client_options,
                auth=auth,
                transport=retrying,
                event_hooks={"request": [log_request], "response": [_remember_response]},
            )

        # The token endpoint authenticates with HTTP Basic (the httpx auth below), not a bearer.
        self._token_client = AuthenticatedClient(
            base_url=self.base_url,
            token="unused-basic-auth",  # noqa: S106 - not a secret, a placeholder
        ).set_httpx_client(stack((project_id, project_api_key)))
        self.tokens = TokenAuth(self._fetch_token, project_id=self.project_id)
        """The session's bearer tokens (``renewals`` counts how many were fetched)."""
        self._client = AuthenticatedClient(
            base_url=self.base_url,
            token="managed-by-TokenAuth",  # noqa: S106 - not a secret, a placeholder
        ).set_httpx_client(stack(self.tokens))

    def _transfer_sleep(self, seconds: float) -> None:
        self.sleep(seconds)

    @property
    def client(self) -> AuthenticatedClient:
        """The generated client: the escape hatch to every operation of ``up42_jobs_client``.

        Its requests carry the session's token, retries and network settings. Pass it as
        ``client=`` to a generated ``sync_detailed`` function, or better, the operation to
        ``call``, which turns failures into typed errors.

        Examples:
            >>> from uuid import UUID
            >>> import up42_facade
            >>> from up42_jobs_client.api.jobs import get_job
            >>> session = up42_facade.authenticate()
            >>> ids = {"project_id": UUID(session.project_id), "job_id": UUID(job_id)}
            >>> session.call(get_job, **ids).parsed.data.status
            'SUCCEEDED'
            >>> get_job.sync_detailed(client=session.client, **ids).status_code
            <HTTPStatus.OK: 200>
        """
        return self._client

    def check_credentials(self) -> None:
        """Fetch a token now, so wrong credentials fail here rather than at the first call.

        Raises:
            AuthenticationError: The API refused the credentials.
        """
        self.tokens.valid_token()

    def _fetch_token(self) -> httpx.Response:
        from up42_jobs_client.api.auth import create_token
        from up42_jobs_client.models import TokenRequest

        LAST_RESPONSE.set(None)
        try:
            create_token.sync_detailed(
                client=self._token_client, body=TokenRequest(grant_type="client_credentials")
            )
        except httpx.RequestError as exc:
            raise transport_error(exc, "the token endpoint") from None
        except PARSE_ERRORS:
            pass  # TokenState judges the raw answer, whatever the generated parser made of it
        response = LAST_RESPONSE.get()
        assert response is not None  # the response hook ran for this request
        return response

    def call(self, operation: Operation, /, **kwargs: Any) -> Response[Any]:
        """Run a generated operation and return its response if it succeeded.

        Args:
            operation: A generated operation module (e.g. ``get_job``) or its
                ``sync_detailed`` function.
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

    def send(self, operation: Operation, /, **kwargs: Any) -> None:
        """Run an operation whose answer carries nothing the caller gets back (a cancel):
        any 2xx succeeds, whatever its body (empty, ``null``, ``{}`` or an envelope).

        Raises:
            APIError: The API answered with an error status (a typed subclass).
            TransportError: No answer.
        """
        try:
            self._call(operation, kwargs)
        except APIError:
            answer = LAST_RESPONSE.get()
            if answer is None or not answer.is_success:
                raise

    def call_json(self, operation: Operation, /, **kwargs: Any) -> Any:
        """Like ``call``, but return the answer's JSON body as plain Python data.

        Raises:
            InvalidResponseError: The body is not JSON.
        """
        _, raw = self._call(operation, kwargs)
        return json_body(raw)

    def _call(
        self, operation: Operation, kwargs: dict[str, Any]
    ) -> tuple[Response[Any], httpx.Response]:
        function = operation.sync_detailed if isinstance(operation, ModuleType) else operation
        LAST_RESPONSE.set(None)
        try:
            result = function(client=self._client, **kwargs)
        except Up42Error:
            raise
        except httpx.RequestError as exc:
            raise transport_error(exc, "the UP42 API") from None
        except PARSE_ERRORS as exc:
            error = parse_failure(exc, LAST_RESPONSE.get())
            if error is None:
                raise
            raise error from None
        raw = LAST_RESPONSE.get()
        assert raw is not None  # the response hook ran for this request
        return judged(result, raw), raw

    def close(self) -> None:
        """Close the connections of this session."""
        self._client.get_httpx_client().close()
        self._token_client.get_httpx_client().close()
        self._close_storage()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
