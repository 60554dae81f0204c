"""The ``Up42`` session: credentials, the generated client, and the one place calls are checked.

A session owns one ``AuthenticatedClient`` of the generated package whose httpx
stack does everything a call needs on the way: a token (``TokenAuth``), retries
(``RetryTransport``), request logging without secrets. ``Up42.call`` runs a
generated ``*_detailed`` function and turns any non-success into a typed error.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ._auth import TokenAuth
from ._errors import ConfigurationError, Up42Error
from ._errors import TransportError as Up42TransportError
from ._http import (
    LOGGER,
    RetryPolicy,
    RetryTransport,
    error_from_response,
    install_secret_filter,
    invalid_response,
)
from ._version import __version__

if TYPE_CHECKING:
    from up42_jobs_client.types import Response

    from ._job import Job
    from ._jobtask import JobTask

__all__ = ["DEFAULT_BASE_URL", "Up42", "authenticate", "initialize_job", "initialize_jobtask"]

DEFAULT_BASE_URL = "https://api.up42.com"
# Connecting should be quick; reads wait for a busy API but not forever.
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0
USER_AGENT = f"up42-facade/{__version__} (+https://github.com/up42-facade/up42-facade)"

T = TypeVar("T")

# The raw httpx response of the current call, per thread: generated parsers may fail
# on a body the spec does not allow, and the error still needs the status and path.
_LAST_RESPONSE: ContextVar[httpx.Response | None] = ContextVar("_LAST_RESPONSE", default=None)

_last_session: Up42 | None = None


def _remember_response(response: httpx.Response) -> None:
    _LAST_RESPONSE.set(response)


def _log_request(request: httpx.Request) -> None:
    LOGGER.debug("%s %s", request.method, request.url.path)


class Up42:
    """An authenticated session with the UP42 job API.

    Args:
        project_id: The project's id.
        project_api_key: The project's API key; kept private, never shown.
        base_url: The API's address (the sandbox's ``base_url`` in tests).
        connect_timeout: Seconds to wait for a connection.
        read_timeout: Seconds to wait for an answer.
        retry: When and how long to retry; see ``RetryPolicy``.
        transport: An httpx transport under the retry layer (tests).
        sleep: Called for every wait (retries and polling); swappable in tests.

    Raises:
        ConfigurationError: An id or key is missing.

    Example:
        >>> session = Up42(project_id="...", project_api_key="...")  # doctest: +SKIP
        >>> job = session.initialize_job("d62c27c0-24e9-433d-b509-ae080504d5c6")  # doctest: +SKIP
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

        def stack(auth: httpx.Auth | tuple[str, str]) -> httpx.Client:
            inner = transport or httpx.HTTPTransport()
            return httpx.Client(
                base_url=self.base_url,
                timeout=self.timeout,
                headers={"User-Agent": USER_AGENT},
                auth=auth,
                transport=RetryTransport(inner, policy=self.retry, sleep=sleep),
                event_hooks={"request": [_log_request], "response": [_remember_response]},
            )

        # The token endpoint authenticates with HTTP Basic (the httpx auth below), not a bearer.
        self._token_client = AuthenticatedClient(
            base_url=self.base_url,
            token="unused-basic-auth",  # noqa: S106 - not a secret, a placeholder
        ).set_httpx_client(stack((project_id, project_api_key)))
        self.auth = TokenAuth(self._fetch_token, project_id=project_id)
        self.client = AuthenticatedClient(
            base_url=self.base_url,
            token="managed-by-TokenAuth",  # noqa: S106 - not a secret, a placeholder
        ).set_httpx_client(stack(self.auth))

    def __repr__(self) -> str:
        return f"Up42(project_id={self.project_id!r}, base_url={self.base_url!r})"

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
            TransportError: No answer (connection refused or reset, timeout).
        """
        _LAST_RESPONSE.set(None)
        try:
            result = operation(client=self.client, **kwargs)
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
        if result.status_code >= 400 or result.parsed is None:
            raw = _LAST_RESPONSE.get()
            assert raw is not None
            if result.status_code >= 400:
                raise error_from_response(raw)
            # A success status the spec does not list here (201, 204, a redirect, ...): the
            # generated parser never looked at the body, so nothing vouches for its shape.
            raise invalid_response(raw, f"HTTP {result.status_code} is not an answer it lists")
        return result

    def initialize_job(self, job_id: str) -> Job:
        """A ``Job`` of this session's project.

        Raises:
            ConfigurationError: ``job_id`` is not a UUID (nothing is sent).
            NotFoundError: The project has no such job.
        """
        from ._job import Job

        return Job(auth=self, project_id=self.project_id, job_id=check_uuid(job_id, "job_id"))

    def initialize_jobtask(self, jobtask_id: str, job_id: str) -> JobTask:
        """A ``JobTask`` of one of this project's jobs.

        Raises:
            ConfigurationError: An id is not a UUID (nothing is sent).
            NotFoundError: The job has no such task.
        """
        from ._jobtask import JobTask

        return JobTask(
            auth=self,
            project_id=self.project_id,
            job_id=check_uuid(job_id, "job_id"),
            jobtask_id=check_uuid(jobtask_id, "jobtask_id"),
        )

    def close(self) -> None:
        """Close the connections of this session."""
        self.client.get_httpx_client().close()
        self._token_client.get_httpx_client().close()

    def __enter__(self) -> Up42:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _transport_error(exc: httpx.RequestError, what: str) -> Up42TransportError:
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    path = exc.request.url.path if _has_request(exc) else ""
    return Up42TransportError(
        f"the request to {what} {kind} ({type(exc).__name__}{': ' + path if path else ''}); "
        "check the network and base_url, then try again"
    )


def _has_request(exc: httpx.RequestError) -> bool:
    try:
        exc.request  # noqa: B018 - httpx raises RuntimeError when no request is attached
    except RuntimeError:
        return False
    return True


def check_uuid(value: str, name: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ConfigurationError(
            f"{name} {value!r} is not a UUID (like d62c27c0-24e9-433d-b509-ae080504d5c6)"
        ) from None


def authenticate(
    cfg_file: str | Path | None = None,
    project_id: str | None = None,
    project_api_key: str | None = None,
    *,
    base_url: str | None = None,
    **kwargs: Any,
) -> Up42:
    """Create a session and make it the one module-level functions use.

    Credentials come from the arguments, else from ``cfg_file`` (JSON with
    ``project_id`` and ``project_api_key``), else from ``UP42_PROJECT_ID`` and
    ``UP42_PROJECT_API_KEY``; ``base_url`` from the argument, else
    ``UP42_BASE_URL``, else the production API. The credentials are checked
    right away by fetching a token.

    Args:
        cfg_file: A JSON file with ``project_id`` and ``project_api_key``.
        project_id: The project's id.
        project_api_key: The project's API key.
        base_url: The API's address.
        **kwargs: Passed on to ``Up42`` (``connect_timeout``, ``read_timeout``, ``retry``, ...).

    Returns:
        The new session.

    Raises:
        ConfigurationError: No credentials, or an unreadable cfg_file.
        AuthenticationError: The API refused the credentials.
    """
    global _last_session
    if cfg_file is not None and (project_id is None or project_api_key is None):
        config = _read_config(Path(cfg_file))
        project_id = project_id or config.get("project_id")
        project_api_key = project_api_key or config.get("project_api_key")
        base_url = base_url or config.get("base_url")
    project_id = project_id or os.environ.get("UP42_PROJECT_ID")
    project_api_key = project_api_key or os.environ.get("UP42_PROJECT_API_KEY")
    base_url = base_url or os.environ.get("UP42_BASE_URL") or DEFAULT_BASE_URL
    session = Up42(
        project_id=project_id or "",
        project_api_key=project_api_key or "",
        base_url=base_url,
        **kwargs,
    )
    try:
        session.auth.token()
    except BaseException:
        session.close()
        raise
    LOGGER.info("Authentication with UP42 successful for project %s", session.project_id)
    _last_session = session
    return session


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


def close_last_session() -> None:
    """Close the session of the last ``authenticate()``, if any (the CLI's cleanup)."""
    global _last_session
    if _last_session is not None:
        _last_session.close()
        _last_session = None


def _require_session() -> Up42:
    if _last_session is None:
        raise ConfigurationError("not authenticated: call up42_facade.authenticate(...) first")
    return _last_session


def initialize_job(job_id: str, project_id: str | None = None) -> Job:
    """A ``Job`` of the project of the last ``authenticate()``.

    Args:
        job_id: The job's id.
        project_id: Accepted for the classic SDK's signature; must be the session's project.

    Raises:
        ConfigurationError: Not authenticated yet, ``job_id`` is not a UUID, or
            ``project_id`` names another project than the session's.
        NotFoundError: The project has no such job.
    """
    return _session_for(project_id).initialize_job(job_id)


def initialize_jobtask(jobtask_id: str, job_id: str, project_id: str | None = None) -> JobTask:
    """A ``JobTask`` of the project of the last ``authenticate()``.

    Raises:
        ConfigurationError: Not authenticated yet, an id is not a UUID, or
            ``project_id`` names another project than the session's.
        NotFoundError: The job has no such task.
    """
    return _session_for(project_id).initialize_jobtask(jobtask_id, job_id)


def _session_for(project_id: str | None) -> Up42:
    session = _require_session()
    if project_id is not None and project_id != session.project_id:
        raise ConfigurationError(
            f"project_id {project_id!r} is not the authenticated project; "
            "authenticate with that project's credentials first"
        )
    return session
