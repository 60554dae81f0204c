"""``AsyncUp42``, the async front door: a session that hands out ``AsyncJob`` objects."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from ._async_job import AsyncJob, AsyncJobTask
from ._async_jobcollection import AsyncJobCollection, alist_jobs
from ._async_session import DEFAULT_MAX_IN_FLIGHT, AsyncSession
from ._async_transport import AsyncSleep
from ._collection_rules import job_modes, sort_parameter
from ._job_rules import find_task, job_ids
from ._network import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, VerifyTypes
from ._retry import RetryPolicy
from ._session_base import (
    check_uuid,
    resolve_credentials,
)

__all__ = ["AsyncUp42"]


class AsyncUp42(AsyncSession):
    """An authenticated async session with the UP42 job API.

    Credentials come from the arguments, else ``cfg_file``, else ``UP42_PROJECT_ID`` and
    ``UP42_PROJECT_API_KEY`` (and ``UP42_BASE_URL``), as for ``authenticate``. Entering
    ``async with`` checks them by fetching a token; ``aclose()`` closes a session used
    without ``async with``.

    Args:
        project_id: The project's id.
        project_api_key: The project's API key; kept private, never shown.
        cfg_file: A JSON file with ``project_id`` and ``project_api_key``.
        base_url: The API's address.
        connect_timeout: Seconds to wait for a connection (API and storage).
        read_timeout: Seconds to wait for an answer, or for the next bytes of a download.
        retry: When and how long to retry, API calls and downloads alike.
        verify: TLS trust, as for ``Up42``.
        proxy: One proxy URL for every request, as for ``Up42``.
        trust_env: Read the proxy and CA environment variables, as httpx does.
        max_in_flight: Requests of this session on the wire at once (default 50); a
            ``gather`` over more waits for free slots instead of opening more connections.
        transport: An httpx async transport under the retry layer (tests).
        sleep: Awaited for every wait (retries, downloads and polling); swappable in tests.
        max_requests_per_second: The session's request rate, paced evenly and shared by all
            its coroutines (None: as fast as answers come), as for ``Up42``.

    Raises:
        ConfigurationError: No credentials, an unreadable cfg_file or CA bundle, or a
            proxy that cannot be used.

    Examples:
        >>> import asyncio
        >>> from up42_facade import AsyncUp42
        >>> async def main() -> list[str]:
        ...     async with AsyncUp42(project_id=project_id, project_api_key=project_api_key,
        ...                          base_url=base_url) as session:
        ...         job = await session.initialize_job(job_id)
        ...         await job.track_status()
        ...         return await job.download_results("out/")
        >>> sorted(asyncio.run(main()))
        ['out/...data.json', ...]
    """

    def __init__(
        self,
        *,
        project_id: str | None = None,
        project_api_key: str | None = None,
        cfg_file: str | Path | None = None,
        base_url: str | None = None,
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
        project_id, project_api_key, base_url = resolve_credentials(
            cfg_file, project_id, project_api_key, base_url
        )
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
            max_in_flight=max_in_flight,
            transport=transport,
            sleep=sleep,
            max_requests_per_second=max_requests_per_second,
        )

    async def __aenter__(self) -> AsyncUp42:
        await super().__aenter__()
        return self

    async def initialize_job(self, job_id: str) -> AsyncJob:
        """An ``AsyncJob`` of this session's project.

        Raises:
            ConfigurationError: ``job_id`` is not a UUID (nothing is sent).
            NotFoundError: The project has no such job.
        """
        job = AsyncJob(self, self.project_id, check_uuid(job_id, "job_id"), {})
        await job.info()
        return job

    async def get_jobs(
        self,
        return_json: bool = False,
        test_jobs: bool = True,
        real_jobs: bool = True,
        limit: int = 500,
        sortby: str = "createdAt",
        descending: bool = True,
    ) -> AsyncJobCollection | list[dict[str, Any]]:
        """The project's jobs from the jobs listing (see ``Up42.get_jobs``).

        Raises:
            ValueError: A ``sortby`` not listed, or neither test nor real jobs asked for.
        """
        sort = sort_parameter(sortby, descending)
        modes = job_modes(test_jobs, real_jobs)
        infos, _ = await alist_jobs(
            self, sort=sort, keep=lambda job: job.get("mode") in modes, limit=limit
        )
        if return_json:
            return infos
        jobs = [AsyncJob(self, self.project_id, str(info["id"]), info) for info in infos]
        return AsyncJobCollection(self, self.project_id, jobs)

    async def initialize_jobcollection(self, job_ids: list[str]) -> AsyncJobCollection:
        """An ``AsyncJobCollection`` of these jobs of this session's project.

        Raises:
            ConfigurationError: An id is not a UUID (nothing is sent).
            NotFoundError: The project has no such job.
        """
        jobs = await asyncio.gather(*(self.initialize_job(job_id) for job_id in job_ids))
        return AsyncJobCollection(self, self.project_id, list(jobs))

    async def initialize_jobtask(self, jobtask_id: str, job_id: str) -> AsyncJobTask:
        """An ``AsyncJobTask`` of one of this project's jobs.

        Raises:
            ConfigurationError: An id is not a UUID (nothing is sent).
            NotFoundError: The job has no such task.
        """
        from up42_jobs_client.api.tasks import list_job_tasks

        job_id = check_uuid(job_id, "job_id")
        jobtask_id = check_uuid(jobtask_id, "jobtask_id")
        answer = await self.call_json(list_job_tasks, **job_ids(self.project_id, job_id))
        info = find_task(answer["data"], self.project_id, job_id, jobtask_id)
        return AsyncJobTask(self, self.project_id, job_id, jobtask_id, info)
