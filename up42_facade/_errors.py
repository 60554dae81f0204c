"""The exceptions up42-facade raises.

Every failure is an ``Up42Error``; catch that to catch them all::

    Up42Error
    ├── APIError                 the API answered with an error (status_code, message, path)
    │   ├── AuthenticationError  401/403: wrong credentials, or a token that could not be renewed
    │   ├── NotFoundError        404: no such job, task or output
    │   ├── RateLimitError       429 still there when retries ran out (see retry_after)
    │   ├── ServerError          5xx still there when retries ran out
    │   └── InvalidResponseError a body the spec does not allow (an HTML page, bad JSON)
    ├── TransportError           no answer at all: connection refused or reset, timeouts,
    │                            a TLS certificate that is not trusted
    ├── JobError                 the job ended badly (also a ValueError, as in the classic SDK)
    │   ├── JobFailedError       the job ended FAILED or ERROR
    │   └── JobCancelledError    the job was CANCELLED or is CANCELLING
    ├── JobTimeoutError          track_status gave up after its timeout (also a TimeoutError)
    ├── DownloadError            a results download could not be completed
    │   └── IntegrityError       the bytes did not match the size or hash the server announced
    ├── UnsafeArchiveError       a member would escape the target or is not a plain file
    └── ConfigurationError       missing or malformed credentials, a job id that is not a UUID,
                                 an unreadable CA bundle, a proxy it cannot use (socks), ...

Messages never contain the API key, a token or a signed-URL signature.
"""

from __future__ import annotations

__all__ = [
    "APIError",
    "AuthenticationError",
    "ConfigurationError",
    "DownloadError",
    "IntegrityError",
    "InvalidResponseError",
    "JobCancelledError",
    "JobError",
    "JobFailedError",
    "JobTimeoutError",
    "NotFoundError",
    "RateLimitError",
    "ServerError",
    "TransportError",
    "UnsafeArchiveError",
    "Up42Error",
]


class Up42Error(Exception):
    """Base class of every error raised by up42-facade."""


class APIError(Up42Error):
    """The job API answered with an error status or a body the spec does not allow.

    Attributes:
        status_code: The HTTP status code.
        message: The server's message (or a short excerpt of an unreadable body).
        path: The request path, without its query string.
        method: The request method.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        path: str = "",
        method: str = "",
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.path = path
        self.method = method
        where = f" for {method} {path}".rstrip() if path else ""
        super().__init__(f"HTTP {status_code}{where}: {message}")


class AuthenticationError(APIError):
    """The credentials were refused, or the token could not be renewed."""


class NotFoundError(APIError):
    """The job, task or output does not exist (or this project may not see it)."""


class RateLimitError(APIError):
    """The API kept answering 429; ``retry_after`` is the wait in seconds it asked for, if any."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 429,
        path: str = "",
        method: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, status_code=status_code, path=path, method=method)


class ServerError(APIError):
    """The API kept answering with a 5xx status."""


class InvalidResponseError(APIError):
    """The API answered with a body the spec does not allow (an HTML page, invalid JSON, ...)."""


class TransportError(Up42Error):
    """The request got no answer: the connection failed, was reset, or timed out."""


class JobError(Up42Error, ValueError):
    """The job ended in a state other than SUCCEEDED.

    Attributes:
        job_id: The job's id.
        status: The job's final status.
    """

    def __init__(self, message: str, *, job_id: str, status: str) -> None:
        self.job_id = job_id
        self.status = status
        super().__init__(message)


class JobFailedError(JobError):
    """The job ended FAILED or ERROR; its task logs say why."""


class JobCancelledError(JobError):
    """The job was cancelled (CANCELLED or CANCELLING)."""


class JobTimeoutError(Up42Error, TimeoutError):
    """``track_status`` waited longer than its ``timeout``.

    Attributes:
        job_id: The job's id.
        status: The last status seen.
        timeout: The timeout in seconds.
    """

    def __init__(self, message: str, *, job_id: str, status: str, timeout: float) -> None:
        self.job_id = job_id
        self.status = status
        self.timeout = timeout
        super().__init__(message)


class DownloadError(Up42Error):
    """A results download could not be completed; nothing was left at the final path."""


class IntegrityError(DownloadError):
    """The downloaded bytes did not match the size or hash the server announced."""


class UnsafeArchiveError(Up42Error):
    """An archive member is not a plain file or folder, or would land outside the target.

    Attributes:
        member: The offending member's name.
    """

    def __init__(self, message: str, *, member: str) -> None:
        self.member = member
        super().__init__(message)


class ConfigurationError(Up42Error, ValueError):
    """Credentials, arguments or network settings are missing, malformed or unusable."""
