"""up42-facade: a typed client for the UP42 job API with the classic SDK's ``Job`` ergonomics.

Example:
    >>> import up42_facade as up42
    >>> up42.authenticate(project_id="...", project_api_key="...")  # doctest: +SKIP
    >>> job = up42.initialize_job(job_id="d62c27c0-24e9-433d-b509-ae080504d5c6")  # doctest: +SKIP
    >>> job.track_status()  # doctest: +SKIP
    'SUCCEEDED'

Async apps use ``AsyncUp42``, whose jobs (``AsyncJob``) have every member as a coroutine::

    async with up42.AsyncUp42(project_id="...", project_api_key="...") as session:
        job = await session.initialize_job("d62c27c0-24e9-433d-b509-ae080504d5c6")
        await job.track_status()

Heavy libraries (geopandas, matplotlib, folium) load on first use, not here.
"""

from typing import TYPE_CHECKING, Any

from ._errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    DownloadError,
    IntegrityError,
    InvalidResponseError,
    JobCancelledError,
    JobError,
    JobFailedError,
    JobTimeoutError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
    UnsafeArchiveError,
    Up42Error,
)
from ._job import Job
from ._jobcollection import JobCollection
from ._jobtask import JobTask
from ._retry import RetryPolicy
from ._status import JobStatus
from ._up42 import (
    Up42,
    authenticate,
    get_jobs,
    initialize_job,
    initialize_jobcollection,
    initialize_jobtask,
)
from ._version import __version__

if TYPE_CHECKING:
    from ._async_job import AsyncJob, AsyncJobTask
    from ._async_up42 import AsyncUp42

# The async front door loads asyncio and its machinery: only when it is first used.
_LAZY = {
    "AsyncJob": "._async_job",
    "AsyncJobTask": "._async_job",
    "AsyncJobCollection": "._async_jobcollection",
    "AsyncUp42": "._async_up42",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "APIError",
    "AsyncJob",
    "AsyncJobCollection",
    "AsyncJobTask",
    "AsyncUp42",
    "AuthenticationError",
    "ConfigurationError",
    "DownloadError",
    "IntegrityError",
    "InvalidResponseError",
    "Job",
    "JobCancelledError",
    "JobCollection",
    "JobError",
    "JobFailedError",
    "JobStatus",
    "JobTask",
    "JobTimeoutError",
    "NotFoundError",
    "RateLimitError",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "UnsafeArchiveError",
    "Up42",
    "Up42Error",
    "__version__",
    "authenticate",
    "get_jobs",
    "initialize_job",
    "initialize_jobcollection",
    "initialize_jobtask",
]
