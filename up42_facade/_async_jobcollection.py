"""``AsyncJobCollection``: ``JobCollection``'s members as coroutines, over ``AsyncJob``.

The rules (the merged ``data.json``, how rounds of ``track_status`` read statuses, the
listing's parameters) are ``_collection_rules``'; this module awaits. Fan-out is
``asyncio.gather`` bounded by ``max_concurrency`` jobs at once, under the session's own
``max_in_flight`` and rate budget.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._async_job import AsyncJob
from ._async_session import AsyncSession
from ._collection_base import CollectionBase, merge_downloads, timed_out
from ._collection_rules import (
    DEFAULT_DOWNLOAD_CONCURRENCY,
    DEFAULT_MAX_CONCURRENCY,
    ListingPages,
    ListingRound,
    PollPlan,
    final_status,
    first_failure,
)
from ._job_rules import print_logs
from ._status import TERMINAL_STATUSES, JobStatus
from ._viz import VizMixin

if TYPE_CHECKING:
    import geopandas

__all__ = ["AsyncJobCollection", "alist_jobs"]


async def alist_jobs(
    session: AsyncSession,
    *,
    sort: str,
    keep: Callable[[dict[str, Any]], bool],
    limit: int | None,
    until: Callable[[], bool] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Read the jobs listing page by page until an empty page, ``limit`` jobs kept, or
    ``until()`` says enough; the last few pages a limit needs are asked for together
    (see ``ListingPages``).

    Returns:
        The jobs ``keep`` accepted (at most ``limit``), and the pages read.
    """
    from up42_jobs_client.api.jobs import list_jobs as list_operation

    async def read(page: int) -> list[dict[str, Any]]:
        answer = await session.call_json(
            list_operation, project_id=session.project_id, page=page, sort=sort
        )
        jobs: list[dict[str, Any]] = answer["data"]
        return jobs

    listing = ListingPages(keep, limit, until)
    while (pages := listing.next_pages()) is not None:
        listing.add(await asyncio.gather(*(read(page) for page in pages)))
    return listing.jobs(), listing.read


class AsyncJobCollection(CollectionBase[AsyncJob], VizMixin):
    """Several ``AsyncJob`` as one (``await session.get_jobs(...)``); see ``JobCollection``.

    Examples:
        >>> import asyncio
        >>> import up42_facade
        >>> async def main() -> dict[str, str]:
        ...     async with up42_facade.AsyncUp42() as session:
        ...         jobs = await session.get_jobs(limit=50)
        ...         return await jobs.track_status(poll_interval=10)
        >>> sorted(set(asyncio.run(main()).values()))
        ['SUCCEEDED']
    """

    auth: AsyncSession

    async def _each(
        self,
        work: Callable[[AsyncJob], Awaitable[Any]],
        max_concurrency: int | None,
        jobs: list[AsyncJob] | None = None,
    ) -> dict[str, Any]:
        chosen = self.jobs if jobs is None else jobs
        slots = asyncio.Semaphore(max(1, max_concurrency or DEFAULT_MAX_CONCURRENCY))

        async def bounded(job: AsyncJob) -> Any:
            async with slots:
                return await work(job)

        answers = await asyncio.gather(*(bounded(job) for job in chosen))
        return {job.job_id: answer for job, answer in zip(chosen, answers, strict=True)}

    async def apply(
        self,
        worker: Callable[..., Any],
        only_succeeded: bool = True,
        *,
        max_concurrency: int | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """``{job_id: worker(job, **kwargs)}`` (awaited when it is a coroutine) for every job,
        only the succeeded ones by default.

        Raises:
            ValueError: The collection is empty, or no job succeeded (as classic raised).
        """
        if not self.jobs:
            raise ValueError("This is an empty JobCollection. Cannot apply over an empty job list.")
        skipped = object()

        async def run(job: AsyncJob) -> Any:
            # A final status at hand (from the listing, say) never changes: no fetch for it.
            final = final_status(job._info)
            succeeded = await job.is_succeeded() if final is None else final == "SUCCEEDED"
            if only_succeeded and not succeeded:
                return skipped
            answer = worker(job, **kwargs)
            return await answer if inspect.isawaitable(answer) else answer

        answers = {
            job_id: answer
            for job_id, answer in (await self._each(run, max_concurrency)).items()
            if answer is not skipped
        }
        if not answers:
            raise ValueError("All jobs have failed! Cannot apply over an empty succeeded job list.")
        return answers

    async def info(self) -> dict[str, dict[str, Any]]:
        """Each job's metadata, fetched anew: ``{job_id: info}``."""
        return await self.apply(lambda job: job.info(), only_succeeded=False)

    async def status(self) -> dict[str, str]:
        """Each job's current status: ``{job_id: status}``."""
        return await self.apply(lambda job: job.status(), only_succeeded=False)

    async def download_results(
        self,
        output_directory: str | Path | None = None,
        merge: bool = True,
        unpacking: bool = True,
        *,
        max_concurrency: int | None = None,
        callback: Callable[[str, list[str]], None] | None = None,
    ) -> dict[str, list[str]]:
        """Every succeeded job's results into ``job_<id>/``, plus the merged ``data.json``
        under ``merged_result`` (see ``JobCollection.download_results``)."""
        folder = self._folder(output_directory)

        async def one(job: AsyncJob) -> list[str]:
            files = await job.download_results(
                output_directory=folder / f"job_{job.job_id}", unpacking=unpacking
            )
            if callback is not None:
                callback(job.job_id, files)
            return files

        paths: dict[str, list[str]] = await self.apply(
            one, max_concurrency=max_concurrency or DEFAULT_DOWNLOAD_CONCURRENCY
        )
        if merge:
            merged = await asyncio.to_thread(merge_downloads, paths, folder / "data.json")
            paths["merged_result"] = [str(merged)]
        self.results = paths
        return paths

    def _api_footprints(self) -> geopandas.GeoDataFrame:
        raise NotImplementedError(
            "an AsyncJobCollection plots what it downloaded: await download_results() first"
        )

    async def track_status(
        self,
        *,
        poll_interval: float = 5.0,
        timeout: float | None = None,
        callback: Callable[[dict[str, str]], Any] | None = None,
        raise_on_failure: bool = False,
        max_concurrency: int | None = None,
    ) -> dict[str, str]:
        """Poll every job until each has ended; return ``{job_id: final status}`` (see
        ``JobCollection.track_status``; ``callback`` may be a coroutine function)."""
        statuses: dict[str, str] = {}
        plan = PollPlan()
        started = time.monotonic()
        while True:
            pending = [j for j in self.jobs if statuses.get(j.job_id) not in TERMINAL_STATUSES]
            if not pending:
                break
            statuses.update(await self._poll(pending, plan, max_concurrency))
            if callback is not None:
                answer = callback(dict(statuses))
                if inspect.isawaitable(answer):
                    await answer
            if all(statuses.get(job.job_id) in TERMINAL_STATUSES for job in self.jobs):
                break
            if timeout is not None and time.monotonic() - started + poll_interval > timeout:
                raise timed_out(statuses, timeout)
            await self.auth.sleep(poll_interval)
        final = {job.job_id: str(JobStatus.parse(statuses[job.job_id])) for job in self.jobs}
        if raise_on_failure:
            failure = first_failure(final)
            if failure is not None:
                raise failure
        return final

    async def _poll(
        self, pending: list[AsyncJob], plan: PollPlan, max_concurrency: int | None
    ) -> dict[str, str]:
        statuses: dict[str, str] = {}
        missing = pending
        if plan.use_listing(len(pending)):
            found = ListingRound(job.job_id for job in pending)
            _, plan.pages = await alist_jobs(
                self.auth, sort="createdAt,desc", keep=found.keep, limit=None, until=found.complete
            )
            statuses = found.statuses()
            missing = [job for job in pending if job.job_id not in found.seen]
        if missing:
            statuses.update(await self._each(lambda job: job.status(), max_concurrency, missing))
        return statuses

    async def get_logs(
        self,
        as_print: bool = True,
        as_return: bool = False,
        *,
        max_concurrency: int | None = None,
    ) -> dict[str, dict[str, str]] | None:
        """Every job's task logs, ``{job_id: {task_id: log}}``, printed job by job."""
        logs: dict[str, dict[str, str]] = await self._each(
            lambda job: job.get_logs(as_print=False, as_return=True), max_concurrency
        )
        if as_print:
            for job in self.jobs:
                tasks = [{"id": task_id} for task_id in logs[job.job_id]]
                print_logs(job.job_id, tasks, logs[job.job_id])
        return logs if as_return else None
