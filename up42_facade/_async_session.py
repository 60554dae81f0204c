"""The async HTTP session: the generated client's ``asyncio_detailed`` operations over httpx.

The twin of ``_session``: the same settings (``SessionBase``), the same judging of every
answer (``judged``, ``parse_failure``), the same retry decisions (``_api_retry``); only the
I/O is async. Work that would hold the event loop (downloads, unpacking, parsing big
bodies) runs on worker threads through ``in_thread``, which stops it at once when the
awaiting task is cancelled.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import functools
import time
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ._async_transport import AsyncRetryTransport, AsyncSleep
from ._auth import AsyncTokenAuth
from ._cancel import Cancel, Cancelled
from ._errors import APIError, ConfigurationError, Up42Error
from ._json_slices import loads_in_slices
from ._lanes import AsyncLanes
from ._network import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, VerifyTypes
from ._responses import json_body
from ._retry import RetryPolicy
from ._session_base import (
    DEFAULT_BASE_URL,
    LAST_RESPONSE,
    PARSE_ERRORS,
    SessionBase,
    judged,
    log_request,
    parse_failure,
    transport_error,
)

if TYPE_CHECKING:
    from up42_jobs_client import AuthenticatedClient
    from up42_jobs_client.types import Response

    from ._transfer import TransferSettings

__all__ = ["DEFAULT_MAX_IN_FLIGHT", "AsyncOperation", "AsyncSession", "in_thread", "on_loop"]

T = TypeVar("T")

#: Requests of one session on the wire at once: Planet's SDK settled on 50 against its
#: live API; above it, a gather over hundreds of calls only queues in the connection pool.
DEFAULT_MAX_IN_FLIGHT = 50

#: Bodies larger than this are parsed on a worker thread: 1 MiB of JSON parses in about
#: 5 ms here, the most the event loop should wait on one call.
OFF_LOOP_BYTES = 1 << 20

AsyncOperation = ModuleType | Callable[..., Awaitable["Response[Any]"]]
"""A generated operation module, or one of its ``asyncio_detailed`` functions."""


async def _log_request(request: httpx.Request) -> None:
    log_request(request)


async def _remember_response(response: httpx.Response) -> None:
    LAST_RESPONSE.set(response)


async def in_thread(work: Callable[[Cancel], T]) -> T:
    """Run ``work`` on a worker thread without holding the event loop.

    When the awaiting task is cancelled, ``work``'s ``Cancel`` is set (which closes its
    connections), and the cancellation goes on only once ``work`` has cleaned up, so
    nothing is left half-written.
    """
    cancel = Cancel()
    future = asyncio.get_running_loop().run_in_executor(None, work, cancel)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        cancel.set()
        # The cleanup is short (the connections are closed); a second cancel must not cut it.
        while not future.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait([future])
        if not future.cancelled():
            future.exception()  # retrieved: it is the cancellation's echo, not news
        raise


class AsyncSession(SessionBase):
    """An authenticated async connection to the UP42 job API (``AsyncUp42`` adds jobs to it).

    Its arguments are ``Up42``'s, documented there, with an async ``sleep`` and
    ``max_in_flight``, the bound on this session's requests on the wire at once.

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
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: AsyncSleep = asyncio.sleep,
        max_requests_per_second: float | None = None,
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
        if max_in_flight < 1:
            raise ConfigurationError(f"max_in_flight must be >= 1, not {max_in_flight!r}")
        self.sleep = sleep
        one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        inner = transport or AsyncLanes(
            lambda: httpx.AsyncHTTPTransport(**self._transport_options, limits=one)
        )
        retrying = AsyncRetryTransport(
            inner, policy=self.retry, max_in_flight=max_in_flight, sleep=sleep, budget=self.budget
        )

        def client(auth: httpx.Auth | tuple[str, str]) -> httpx.AsyncClient:
            return httpx.AsyncClient(
                **self._client_options,
                auth=auth,
                transport=retrying,
                event_hooks={"request": [_log_request], "response": [_remember_response]},
            )

        # The token endpoint authenticates with HTTP Basic (the httpx auth below), not a bearer.
        self._token_client = AuthenticatedClient(
            base_url=self.base_url,
            token="unused-basic-auth",  # noqa: S106 - not a secret, a placeholder
        ).set_async_httpx_client(client((project_id, project_api_key)))
        self.tokens = AsyncTokenAuth(self._fetch_token, project_id=self.project_id)
        """The session's bearer tokens (``renewals`` counts how many were fetched)."""
        self._client = AuthenticatedClient(
            base_url=self.base_url,
            token="managed-by-TokenAuth",  # noqa: S106 - not a secret, a placeholder
        ).set_async_httpx_client(client(self.tokens))

    @property
    def client(self) -> AuthenticatedClient:
        """The generated client: the escape hatch to every ``asyncio_detailed`` operation,
        with the session's token, retries and network settings (see ``Up42.client``)."""
        return self._client

    async def check_credentials(self) -> None:
        """Fetch a token now, so wrong credentials fail here rather than at the first call.

        Raises:
            AuthenticationError: The API refused the credentials.
        """
        await self.tokens.valid_token()

    async def _fetch_token(self) -> httpx.Response:
        from up42_jobs_client.api.auth import create_token
        from up42_jobs_client.models import TokenRequest

        LAST_RESPONSE.set(None)
        try:
            await create_token.asyncio_detailed(
                client=self._token_client, body=TokenRequest(grant_type="client_credentials")
            )
        except httpx.RequestError as exc:
            raise transport_error(exc, "the token endpoint") from None
        except PARSE_ERRORS:
            pass  # TokenState judges the raw answer, whatever the generated parser made of it
        response = LAST_RESPONSE.get()
        assert response is not None  # the response hook ran for this request
        return response

    async def call(self, operation: AsyncOperation, /, **kwargs: Any) -> Response[Any]:
        """Run a generated operation and return its response if it succeeded.

        Args:
            operation: A generated operation module (e.g. ``get_job``) or its
                ``asyncio_detailed`` function.
            **kwargs: Its arguments, without ``client``.

        Raises:
            APIError: The API answered with an error (a typed subclass), or with a
                status or body the spec does not allow (``InvalidResponseError``).
            TransportError: No answer (connection refused or reset, timeout, a TLS
                certificate that is not trusted).
        """
        result, _ = await self._call(operation, kwargs)
        return result

    async def send(self, operation: AsyncOperation, /, **kwargs: Any) -> None:
        """Run an operation whose answer carries nothing the caller gets back (a cancel):
        any 2xx succeeds, whatever its body (empty, ``null``, ``{}`` or an envelope).

        Raises:
            APIError: The API answered with an error status (a typed subclass).
            TransportError: No answer.
        """
        try:
            await self._call(operation, kwargs)
        except APIError:
            answer = LAST_RESPONSE.get()
            if answer is None or not answer.is_success:
                raise

    async def call_json(self, operation: AsyncOperation, /, **kwargs: Any) -> Any:
        """Like ``call``, but return the answer's JSON body as plain Python data.

        A body over ``OFF_LOOP_BYTES`` is parsed on a worker thread, a feature at a time
        (``_json_slices``), so the event loop keeps running meanwhile.

        Raises:
            InvalidResponseError: The body is not JSON.
        """
        _, raw = await self._call(operation, kwargs)
        if len(raw.content) <= OFF_LOOP_BYTES:
            return json_body(raw)
        return await asyncio.to_thread(json_body, raw, loads_in_slices)

    async def _call(
        self, operation: AsyncOperation, kwargs: dict[str, Any]
    ) -> tuple[Response[Any], httpx.Response]:
        function = operation.asyncio_detailed if isinstance(operation, ModuleType) else operation
        LAST_RESPONSE.set(None)
        try:
            result = await function(client=self._client, **kwargs)
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

    async def in_worker(self, work: Callable[[TransferSettings], T]) -> T:
        """Run blocking transfer work on a worker thread, off the event loop.

        ``work`` gets this session's transfer settings, with its waits going through the
        session's async ``sleep`` on the loop, and a ``Cancel`` that the awaiting task's
        cancellation sets.
        """
        loop = asyncio.get_running_loop()

        def run(cancel: Cancel) -> T:
            def sleep(seconds: float) -> None:
                on_loop(loop, cancel, functools.partial(self.sleep, seconds))()

            return work(dataclasses.replace(self.transfers, cancel=cancel, sleep=sleep))

        return await in_thread(run)

    def _transfer_sleep(self, seconds: float) -> None:
        # Replaced per download by in_worker, whose waits go through the async sleep.
        time.sleep(seconds)

    async def aclose(self) -> None:
        """Close the connections of this session."""
        await self._client.get_async_httpx_client().aclose()
        await self._token_client.get_async_httpx_client().aclose()
        self._close_storage()

    async def __aenter__(self) -> AsyncSession:
        try:
            await self.check_credentials()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def on_loop(
    loop: asyncio.AbstractEventLoop, cancel: Cancel, coroutine: Callable[[], Awaitable[T]]
) -> Callable[[], T]:
    """A plain function a worker thread calls to run ``coroutine`` on ``loop`` and get its
    result; cancelling stops the coroutine and raises ``Cancelled`` in the thread."""

    def run() -> T:
        future = asyncio.run_coroutine_threadsafe(_awaited(coroutine), loop)
        with cancel.hook(future.cancel):
            try:
                return future.result()
            except concurrent.futures.CancelledError:
                raise Cancelled from None

    return run


async def _awaited(coroutine: Callable[[], Awaitable[T]]) -> T:
    return await coroutine()
