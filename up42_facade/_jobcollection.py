"""``JobCollection``: the classic SDK's many-jobs class, handling its jobs side by side.

Every member that fans out runs at most ``max_concurrency`` jobs at once on a thread pool
(``download_results``: that many downloads, while the next jobs' signed URLs are asked for);
the session's rate budget and ``Retry-After`` pauses hold for all of them together.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._collection_base import CollectionBase, merge_downloads, timed_out
from ._collection_rules import (
    DEFAULT_MAX_CONCURRENCY,
    ListingPages,
    ListingRound,
    PollPlan,
    download_concurrency,
    final_status,
    first_failure,
)
from ._job import Job
from ._job_rules import print_logs
from ._session import Session
from ._status import TERMINAL_STATUSES, JobStatus
from ._viz import VizMixin

if TYPE_CHECKING:
    import geopandas

__all__ = ["JobCollection", "list_jobs"]

LOGGER = logging.getLogger("up42_facade")


def list_jobs(
    session: Session,
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

    def read(page: int) -> list[dict[str, Any]]:
        answer = session.call_json(
            list_operation, project_id=session.project_id, page=page, sort=sort
        )
        jobs: list[dict[str, Any]] = answer["data"]
        return jobs

    listing = ListingPages(keep, limit, until)
    while (pages := listing.next_pages()) is not None:
        if len(pages) == 1:
            listing.add([read(pages[0])])
            continue
        with ThreadPoolExecutor(max_workers=len(pages)) as pool:
            listing.add(list(pool.map(read, pages)))
    return listing.jobs(), listing.read


class JobCollection(CollectionBase[Job], VizMixin):
    """Several jobs as one: their info, statuses, results and logs, side by side.

    Args:
        auth: The session (``Up42``) the jobs belong to.
        project_id: Their project.
        jobs: The jobs.

    Examples:
        >>> import up42_facade as up42
        >>> session = up42.authenticate(max_requests_per_second=10)
        >>> jobs = up42.get_jobs(limit=50)
        >>> len(jobs)
        3
        >>> sorted(set(jobs.track_status(poll_interval=10).values()))
        ['SUCCEEDED']
        >>> results = jobs.download_results("out/")
        >>> results["merged_result"]
        ['out/data.json']
    """

    auth: Session

    # -- fanning out -----------------------------------------------------------------

    def _each(
        self,
        work: Callable[[Job], Any],
        max_concurrency: int | None,
        jobs: list[Job] | None = None,
    ) -> dict[str, Any]:
        """``{job_id: work(job)}`` for every job (or ``jobs``), at most ``max_concurrency`` at
        once."""
        chosen = self.jobs if jobs is None else jobs
        if not chosen:
            return {}
        workers = max(1, min(max_concurrency or DEFAULT_MAX_CONCURRENCY, len(chosen)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            answers = list(pool.map(work, chosen))
        return {job.job_id: answer for job, answer in zip(chosen, answers, strict=True)}

    def apply(
        self,
        worker: Callable[..., Any],
        only_succeeded: bool = True,
        *,
        max_concurrency: int | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """``{job_id: worker(job, **kwargs)}`` for every job (only the succeeded ones by default).

        Raises:
            ValueError: The collection is empty, or no job succeeded (as classic raised).
        """
        if not self.jobs:
            raise ValueError("This is an empty JobCollection. Cannot apply over an empty job list.")
        skipped = object()

        def run(job: Job) -> Any:
            # A final status at hand (from the listing, say) never changes: no fetch for it.
            final = final_status(job._info)
            succeeded = job.is_succeeded if final is None else final == JobStatus.SUCCEEDED
            if only_succeeded and not succeeded:
                return skipped
            return worker(job, **kwargs)

        answers = {
            job_id: answer
            for job_id, answer in self._each(run, max_concurrency).items()
            if answer is not skipped
        }
        if not answers:
            raise ValueError("All jobs have failed! Cannot apply over an empty succeeded job list.")
        return answers

    @property
    def info(self) -> dict[str, dict[str, Any]]:
        """Each job's metadata, fetched anew: ``{job_id: info}``."""
        return self.apply(lambda job: job.info, only_succeeded=False)

    @property
    def status(self) -> dict[str, str]:
        """Each job's current status: ``{job_id: status}``."""
        return self.apply(lambda job: job.status, only_succeeded=False)

    # -- results ---------------------------------------------------------------------

    def download_results(
        self,
        output_directory: str | Path | None = None,
        merge: bool = True,
        unpacking: bool = True,
        *,
        max_concurrency: int | None = None,
        callback: Callable[[str, list[str]], None] | None = None,
    ) -> dict[str, list[str]]:
        """Download every succeeded job's results into ``job_<id>/`` side by side, and (with
        ``merge``) one ``data.json`` of all their features under the ``merged_result`` key.

        Args:
            output_directory: Default ``project_<project_id>/`` in the working directory.
            merge: Write the merged ``data.json`` (features carry ``job_id``, and their
                ``up42.data_path`` the ``job_<id>/`` prefix).
            unpacking: Unpack each archive (else keep it whole).
            max_concurrency: Jobs downloaded at once (default: one per CPU and one more, at
                most 8).
            callback: Called with each job's id and files as soon as it is downloaded.

        Returns:
            ``{job_id: paths, "merged_result": [merged data.json]}``.
        """
        from ._download import download_results

        folder = self._folder(output_directory)
        downloads = max_concurrency or download_concurrency()
        slots = threading.BoundedSemaphore(downloads)

        def one(job: Job) -> list[str]:
            # The signed URL is asked for before a download slot is free: the API's latency
            # passes while other jobs download, instead of keeping a slot idle.
            unused = [job._download_url()]

            def get_url() -> str:
                return unused.pop() if unused else job._download_url()

            directory = folder / f"job_{job.job_id}"
            with slots:
                LOGGER.info("Downloading results of job %s to %s", job.job_id, directory)
                files = download_results(
                    get_url, directory, unpacking=unpacking, settings=self.auth.transfers
                )
            job.results = files
            if callback is not None:
                callback(job.job_id, files)
            return files

        # One job waits with its URL for each slot: a URL is never older than one download.
        paths: dict[str, list[str]] = self.apply(one, max_concurrency=2 * downloads)
        if merge:
            paths["merged_result"] = [str(merge_downloads(paths, folder / "data.json"))]
        self.results = paths
        return paths

    def _api_footprints(self) -> geopandas.GeoDataFrame:
        import pandas

        frames = self.apply(lambda job: job.get_results_json(as_dataframe=True))
        for job_id, frame in frames.items():
            frame["job_id"] = job_id
        return pandas.concat(list(frames.values()), ignore_index=True)

    # -- tracking and logs -----------------------------------------------------------

    def track_status(
        self,
        *,
        poll_interval: float = 5.0,
        timeout: float | None = None,
        callback: Callable[[dict[str, str]], None] | None = None,
        raise_on_failure: bool = False,
        max_concurrency: int | None = None,
    ) -> dict[str, str]:
        """Poll every job until each has ended; return ``{job_id: final status}``.

        Each round reads the statuses still needed the cheaper way: the jobs listing (a page
        answers many jobs) or one call per job (see ``_collection_rules.PollPlan``).

        Args:
            poll_interval: Seconds between rounds.
            timeout: Give up after this many seconds (``TimeoutError``); None waits on.
            callback: Called after each round with every job's latest status.
            raise_on_failure: Raise the first failed or cancelled job's error
                (``JobFailedError``/``JobCancelledError``) once all have ended.
            max_concurrency: Per-job calls at once.
        """
        statuses: dict[str, str] = {}
        plan = PollPlan()
        started = time.monotonic()
        sleep = self.auth.sleep
        while True:
            pending = [
                job for job in self.jobs if statuses.get(job.job_id) not in TERMINAL_STATUSES
            ]
            if not pending:
                break
            statuses.update(self._poll(pending, plan, max_concurrency))
            if callback is not None:
                callback(dict(statuses))
            if all(statuses.get(job.job_id) in TERMINAL_STATUSES for job in self.jobs):
                break
            if timeout is not None and time.monotonic() - started + poll_interval > timeout:
                raise timed_out(statuses, timeout)
            sleep(poll_interval)
        final = {job.job_id: str(JobStatus.parse(statuses[job.job_id])) for job in self.jobs}
        if raise_on_failure:
            failure = first_failure(final)
            if failure is not None:
                raise failure
        return final

    def _poll(
        self, pending: list[Job], plan: PollPlan, max_concurrency: int | None
    ) -> dict[str, str]:
        statuses: dict[str, str] = {}
        missing = pending
        if plan.use_listing(len(pending)):
            found = ListingRound(job.job_id for job in pending)
            _, plan.pages = list_jobs(
                self.auth, sort="createdAt,desc", keep=found.keep, limit=None, until=found.complete
            )
            for job in pending:
                if job.job_id in found.seen:
                    job._info = found.seen[job.job_id]
            statuses = found.statuses()
            missing = [job for job in pending if job.job_id not in found.seen]
        if missing:
            statuses.update(self._each(lambda job: job.status, max_concurrency, missing))
        return statuses

    def get_logs(
        self,
        as_print: bool = True,
        as_return: bool = False,
        *,
        max_concurrency: int | None = None,
    ) -> dict[str, dict[str, str]] | None:
        """Every job's task logs, ``{job_id: {task_id: log}}``, printed job by job."""
        logs = self._each(lambda job: job.get_logs(as_print=False, as_return=True), max_concurrency)
        if as_print:
            for job in self.jobs:  # logs are in task order: the tasks' ids are their keys
                print_logs(
                    job.job_id, [{"id": task_id} for task_id in logs[job.job_id]], logs[job.job_id]
                )
        return logs if as_return else None
