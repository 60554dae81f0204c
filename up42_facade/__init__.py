"""up42-facade: a typed client for the UP42 job API with the classic SDK's ``Job`` ergonomics.

Examples:
    Credentials come from the arguments (``project_id=..., project_api_key=...``), a
    ``cfg_file``, or ``UP42_PROJECT_ID`` and ``UP42_PROJECT_API_KEY``; ``job_id`` is the id
    of one of the project's jobs. (The doctests run against a local sandbox that sets them.)

    >>> import up42_facade as up42
    >>> session = up42.authenticate()
    >>> job = up42.initialize_job(job_id=job_id)
    >>> job.track_status()
    'SUCCEEDED'

Async apps use ``AsyncUp42``, whose jobs (``AsyncJob``) have every member as a coroutine:

    >>> import asyncio
    >>> async def main() -> str:
    ...     async with up42.AsyncUp42() as session:
    ...         job = await session.initialize_job(job_id)
    ...         return await job.track_status()
    >>> asyncio.run(main())
    'SUCCEEDED'

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
    from ._async_jobcollection import AsyncJobCollection
    from ._async_up42 import AsyncUp42
    from ._jobcollection import JobCollection

# The async front door loads asyncio and its machinery, and the collections their thread
# pools and viz: only when first used.
_LAZY = {
    "JobCollection": "._jobcollection",
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
