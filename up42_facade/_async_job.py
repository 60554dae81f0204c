"""``AsyncJob`` and ``AsyncJobTask``: every classic member as a coroutine.

The twins of ``Job`` and ``JobTask``: each member asks the API through an
``AsyncSession`` and hands the answers to ``_job_rules``, exactly as the sync members do.
The classic properties (``info``, ``status``, ``is_succeeded``) become coroutine methods,
since a property must not do I/O. What would hold the event loop runs on worker threads:
downloads and unpacking (``AsyncSession.in_worker``), parsing big bodies and building
GeoDataFrames, writing files. The viz members plot files already on disk and stay plain.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal, cast, overload

from ._archive_rules import DEFAULT_MAX_MEMBERS, DEFAULT_MAX_TOTAL_SIZE
from ._async_session import AsyncSession, on_loop
from ._async_transport import AsyncSleep
from ._cancel import Cancel, Cancelled
from ._errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    JobFailedError,
    NotFoundError,
    Up42Error,
)
from ._files import write_atomically
from ._job_rules import (
    OutputsPlace,
    Tracker,
    cancel_went_through,
    find_task,
    job_ids,
    job_repr,
    print_logs,
    quicklook_path,
    task_ids,
    task_repr,
)
from ._options import DEFAULT_INTEGRITY, DownloadOptions, IntegrityMode
from ._paths import default_directory
from ._progress import progress_reporter
from ._retry import call_options
from ._status import JobStatus
from ._viz import VizMixin

if TYPE_CHECKING:
    import geopandas
    from up42_jobs_client.models import Job as JobModel

    from ._progress import ProgressCallback
    from ._transfer import TransferSettings

__all__ = ["AsyncJob", "AsyncJobTask"]

LOGGER = logging.getLogger("up42_facade")


class _AsyncOutputs(OutputsPlace, VizMixin):
    """The results members of ``AsyncJob`` and ``AsyncJobTask`` (see ``Outputs``)."""

    auth: AsyncSession
    project_id: str
    job_id: str
    results: list[str] | None
    quicklooks: list[str] | None

    async def _download_url(self) -> str:
        operation, kwargs = self._download_operation()
        url: str = (await self.auth.call_json(operation, **kwargs))["data"]["url"]
        return url

    def _api_footprints(self) -> geopandas.GeoDataFrame:
        raise ConfigurationError(
            "an async job's map_results draws the downloaded data.json: "
            "await download_results() first"
        )

    @overload
    async def get_results_json(self, as_dataframe: Literal[False] = False) -> dict[str, Any]: ...
    @overload
    async def get_results_json(self, as_dataframe: Literal[True]) -> geopandas.GeoDataFrame: ...

    async def get_results_json(
        self, as_dataframe: bool = False
    ) -> dict[str, Any] | geopandas.GeoDataFrame:
        """The ``data.json``: a FeatureCollection dict, or a GeoDataFrame in EPSG:4326.

        Parsed on a worker thread, a feature at a time, so the event loop keeps running.
        """
        operation, kwargs = self._results_operation()
        if as_dataframe:
            from ._results import feature_collection_to_geodataframe

            raw = (await self.auth.call(operation, **kwargs)).content
            return await asyncio.to_thread(
                feature_collection_to_geodataframe, raw, yield_often=True
            )
        collection: dict[str, Any] = await self.auth.call_json(operation, **kwargs)
        return collection

    async def download_results(
        self,
        output_directory: str | Path | None = None,
        unpacking: bool = True,
        *,
        progress: ProgressCallback | None = None,
        show_progress: bool | None = None,
        integrity: IntegrityMode = DEFAULT_INTEGRITY,
        timeout: float | None = None,
        max_attempts: int | None = None,
        max_members: int = DEFAULT_MAX_MEMBERS,
        max_total_size: int = DEFAULT_MAX_TOTAL_SIZE,
        max_connections: int | None = None,
        resume: bool = True,
    ) -> list[str]:
        """Download the results archive and unpack it, as ``Job.download_results`` does.

        The transfer and the unpacking run on worker threads; ``progress`` is called on the
        event loop. Cancelling the awaiting task stops the download at once and leaves
        nothing behind.

        Raises:
            DownloadError: The download failed (``IntegrityError`` when the bytes did not verify).
            UnsafeArchiveError: The archive has a member that would escape the folder, or is
                over ``max_members`` or ``max_total_size``.
            ConfigurationError: An option is out of range, or the proxy cannot be used.
        """
        from ._download import download_results

        options = DownloadOptions(
            integrity=integrity,
            timeout=timeout,
            max_attempts=max_attempts,
            max_members=max_members,
            max_total_size=max_total_size,
            max_connections=max_connections,
            resume=resume,
        )
        directory = Path(output_directory) if output_directory else self._default_directory()
        LOGGER.info("Downloading results of job %s to %s", self.job_id, directory)
        loop = asyncio.get_running_loop()
        reporter = _LoopProgress(progress, loop)

        def work(settings: TransferSettings) -> list[str]:
            return download_results(
                on_loop(loop, settings.cancel, self._download_url),
                directory,
                unpacking=unpacking,
                settings=settings,
                options=options,
                progress=reporter.for_worker(settings.cancel),
                show_progress=show_progress,
            )

        try:
            results = await self.auth.in_worker(work)
        except Cancelled:
            reporter.raise_failure()
            raise
        reporter.raise_failure()
        self.results = results
        return results


class _LoopProgress:
    """The app's progress callback, called on its event loop rather than a worker thread.

    As in the sync door, a callback that raises stops the download (and its error is what
    ``download_results`` raises).
    """

    def __init__(self, progress: ProgressCallback | None, loop: asyncio.AbstractEventLoop) -> None:
        self._progress = progress
        self._loop = loop
        self._failure: BaseException | None = None

    def for_worker(self, cancel: Cancel) -> ProgressCallback | None:
        """The callback for the worker thread: it only schedules the app's on the loop."""
        progress = self._progress
        if progress is None:
            return None

        def call(done: int, total: int | None) -> None:
            if self._failure is not None:
                return
            try:
                progress(done, total)
            except BaseException as exc:  # the app's own error: stop the download, raise it
                self._failure = exc
                cancel.set()

        def report(done: int, total: int | None) -> None:
            self._loop.call_soon_threadsafe(call, done, total)

        return report

    def raise_failure(self) -> None:
        """Raise the callback's error, if it raised one."""
        if self._failure is not None:
            raise self._failure


class AsyncJobTask(_AsyncOutputs):
    """One task of a job, with every member of the classic ``JobTask`` as a coroutine.

    Attributes:
        auth: The async session the task talks through.
        project_id: The project's id.
        job_id: The job's id.
        jobtask_id: The task's id.
        results: Paths of the files of the last ``download_results``, or None.
        quicklooks: Paths of the last ``download_quicklooks``, or None.

    Examples:
        >>> import asyncio
        >>> import up42_facade
        >>> async def main() -> list[str]:
        ...     async with up42_facade.AsyncUp42() as session:
        ...         job = await session.initialize_job(job_id)
        ...         tasks = await job.get_jobtasks()
        ...         return await tasks[0].download_quicklooks("quicklooks/")
        >>> asyncio.run(main())
        ['quicklooks/quicklook_....png', 'quicklooks/quicklook_....png']
    """

    def __init__(
        self,
        auth: AsyncSession,
        project_id: str,
        job_id: str,
        jobtask_id: str,
        jobtask_info: dict[str, Any],
    ) -> None:
        self.auth = auth
        self.project_id = project_id
        self.job_id = job_id
        self.jobtask_id = jobtask_id
        self.results: list[str] | None = None
        self.quicklooks: list[str] | None = None
        self._info = jobtask_info

    def __repr__(self) -> str:
        return task_repr(self._info, self.jobtask_id, kind="AsyncJobTask")

    def _repr_html_(self) -> str:
        """Jupyter's view: status and timings as last fetched (no request is sent)."""
        from ._html import task_html

        return task_html(self._info, self.jobtask_id, kind="AsyncJobTask")

    async def info(self) -> dict[str, Any]:
        """The task's data as the API sends it (a dict), fetched anew.

        Raises:
            NotFoundError: The job has no task with this id.
        """
        from up42_jobs_client.api.tasks import list_job_tasks

        answer = await self.auth.call_json(list_job_tasks, **job_ids(self.project_id, self.job_id))
        self._info = find_task(answer["data"], self.project_id, self.job_id, self.jobtask_id)
        return self._info

    def _task_id(self) -> str:
        return self.jobtask_id

    def _ids(self) -> dict[str, Any]:
        return task_ids(self.project_id, self.job_id, self.jobtask_id)

    async def download_quicklooks(
        self,
        output_directory: str | Path | None = None,
        *,
        progress: ProgressCallback | None = None,
        show_progress: bool | None = None,
        timeout: float | None = None,
        max_attempts: int | None = None,
    ) -> list[str]:
        """Download the task's quicklook images as ``quicklook_<name>`` files (see
        ``JobTask.download_quicklooks``); the files are written off the event loop."""
        from up42_jobs_client.api.outputs import get_task_quicklook, list_task_quicklooks

        directory = (
            Path(output_directory)
            if output_directory
            else default_directory(self.project_id, self.job_id)
        )
        paths = []
        with (
            call_options(timeout=timeout, max_attempts=max_attempts),
            progress_reporter(progress, show_progress, "quicklooks") as report,
        ):
            names: list[str] = (await self.auth.call_json(list_task_quicklooks, **self._ids()))[
                "data"
            ]
            await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
            written = 0
            for name in names:
                response = await self.auth.call(get_task_quicklook, **self._ids(), name=name)
                path = quicklook_path(directory, name)
                await asyncio.to_thread(write_atomically, path, response.content)
                paths.append(str(path))
                written += len(response.content)
                report(written, None)
        LOGGER.info("Downloaded %d quicklooks of task %s", len(paths), self.jobtask_id)
        self.quicklooks = paths
        return paths


class AsyncJob(_AsyncOutputs):
    """A UP42 processing job, with every member of the classic ``Job`` as a coroutine.

    Create it with ``await session.initialize_job(job_id)`` on an ``AsyncUp42``. The
    classic properties are coroutine methods: ``await job.info()``, ``await job.status()``,
    ``await job.is_succeeded()``.

    Attributes:
        auth: The async session the job talks through.
        project_id: The project's id.
        job_id: The job's id.
        results: Paths of the files of the last ``download_results``, or None.
        quicklooks: Paths of the last ``download_quicklooks``, or None.

    Examples:
        >>> import asyncio
        >>> import up42_facade
        >>> async def main() -> tuple[str, str]:
        ...     async with up42_facade.AsyncUp42() as session:
        ...         job = await session.initialize_job(job_id)
        ...         await job.track_status()
        ...         return await job.status(), job.job_id
        >>> asyncio.run(main()) == ("SUCCEEDED", job_id)
        True
    """

    def __init__(
        self,
        auth: AsyncSession,
        project_id: str,
        job_id: str,
        job_info: dict[str, Any],
    ) -> None:
        self.auth = auth
        self.project_id = project_id
        self.job_id = job_id
        self.results: list[str] | None = None
        self.quicklooks: list[str] | None = None
        self._info = job_info
        # The tasks of the last get_jobtasks, for the notebook view (which sends no request).
        self._tasks: list[dict[str, Any]] | None = None

    def __repr__(self) -> str:
        return job_repr(self._info, self.job_id, kind="AsyncJob")

    def _repr_html_(self) -> str:
        """Jupyter's view: status, timings and tasks as last fetched (no request is sent)."""
        from ._html import job_html

        return job_html(self._info, self.job_id, self._tasks, kind="AsyncJob")

    async def _get(self) -> tuple[dict[str, Any], JobModel]:
        from up42_jobs_client.api.jobs import get_job
        from up42_jobs_client.models import JobEnvelope

        response = await self.auth.call(get_job, **job_ids(self.project_id, self.job_id))
        # On a success status the generated parser yields nothing but a JobEnvelope, so the
        # body is JSON: it parsed.
        envelope = cast(JobEnvelope, response.parsed)
        return json.loads(response.content)["data"], envelope.data

    async def info(self) -> dict[str, Any]:
        """The job's data as the API sends it (a dict), fetched anew."""
        self._info, _ = await self._get()
        return self._info

    async def model(self) -> JobModel:
        """The job as the generated, typed ``up42_jobs_client.models.Job`` (fetched anew)."""
        self._info, model = await self._get()
        return model

    async def status(self) -> str:
        """The job's current status string (fetched anew), e.g. ``"RUNNING"``."""
        status = str((await self.info())["status"])
        LOGGER.info("Job is %s", status)
        return status

    async def job_status(self) -> JobStatus | str:
        """The current status as a ``JobStatus`` (a plain string for a value nobody knows yet)."""
        return JobStatus.parse(str((await self.info())["status"]))

    async def is_succeeded(self) -> bool:
        """True when the job's current status is SUCCEEDED."""
        return await self.status() == JobStatus.SUCCEEDED

    async def track_status(
        self,
        report_time: float = 30,
        *,
        poll_interval: float = 5.0,
        timeout: float | None = None,
        sleep: AsyncSleep | None = None,
        clock: Callable[[], float] = time.monotonic,
        callback: Callable[[str], None] | None = None,
        print_logs: bool = True,
    ) -> str:
        """Poll the job until it ends; return ``"SUCCEEDED"`` (see ``Job.track_status``).

        Raises:
            JobFailedError: The job ended FAILED or ERROR; every task's log is printed first.
            JobCancelledError: The job is CANCELLED or CANCELLING.
            JobTimeoutError: ``timeout`` passed first.
            APIError: The API kept failing past the session's retry deadline.
        """
        wait = sleep or self.auth.sleep
        tracker = Tracker(
            self.job_id,
            report_time=report_time,
            poll_interval=poll_interval,
            timeout=timeout,
            clock=clock,
        )
        while True:
            status = str((await self.info())["status"])
            if callback is not None:
                callback(status)
            try:
                seconds = tracker.next_wait(status)
            except JobFailedError:
                if print_logs:
                    LOGGER.error("Job %s ended %s; task logs follow", self.job_id, status)
                    await self.get_logs(as_print=True)
                raise
            if seconds is None:
                return status
            await wait(seconds)

    async def cancel_job(self) -> None:
        """Ask the API to cancel the job (a job already cancelling or cancelled counts as done).

        Raises:
            APIError: The API refused (e.g. ``NotFoundError``).
        """
        from up42_jobs_client.api.jobs import cancel_job

        try:
            await self.auth.send(cancel_job, **job_ids(self.project_id, self.job_id))
        except APIError as exc:
            if isinstance(exc, AuthenticationError | NotFoundError):
                raise
            if not cancel_went_through(str((await self.info()).get("status"))):
                raise
        LOGGER.info("Job canceled: %s", self.job_id)

    @overload
    async def get_jobtasks(self, return_json: Literal[False] = False) -> list[AsyncJobTask]: ...
    @overload
    async def get_jobtasks(self, return_json: Literal[True]) -> list[dict[str, Any]]: ...

    async def get_jobtasks(
        self, return_json: bool = False
    ) -> list[AsyncJobTask] | list[dict[str, Any]]:
        """The job's tasks, in workflow order (``AsyncJobTask`` objects, or their dicts)."""
        from up42_jobs_client.api.tasks import list_job_tasks

        answer = await self.auth.call_json(list_job_tasks, **job_ids(self.project_id, self.job_id))
        tasks: list[dict[str, Any]] = answer["data"]
        self._tasks = tasks
        if return_json:
            return tasks
        return [
            AsyncJobTask(self.auth, self.project_id, self.job_id, task["id"], task)
            for task in tasks
        ]

    async def get_logs(
        self, as_print: bool = True, as_return: bool = False
    ) -> dict[str, str] | None:
        """Every task's log, fetched side by side (as many at once as the session's
        ``max_in_flight`` allows) and printed in task order, in the classic layout."""
        tasks = await self.get_jobtasks(return_json=True)
        texts = await asyncio.gather(*(self._task_log(task["id"]) for task in tasks))
        logs = {task["id"]: text for task, text in zip(tasks, texts, strict=True)}
        if as_print:
            print_logs(self.job_id, tasks, logs)
        return logs if as_return else None

    async def _task_log(self, task_id: str) -> str:
        from up42_jobs_client.api.tasks import get_task_logs

        response = await self.auth.call(
            get_task_logs, **task_ids(self.project_id, self.job_id, task_id)
        )
        return response.content.decode("utf-8", "replace")

    async def get_jobtasks_results_json(self) -> dict[str, dict[str, Any]]:
        """``{task_id: FeatureCollection}`` for every task of the job."""
        tasks = await self.get_jobtasks()
        collections = await asyncio.gather(*(task.get_results_json() for task in tasks))
        return {
            task.jobtask_id: collection for task, collection in zip(tasks, collections, strict=True)
        }

    async def get_credits(self) -> dict[str, Any]:
        """The credits the job used: ``{"creditsUsed": n}``."""
        from up42_jobs_client.api.credits_ import get_job_credits

        answer = await self.auth.call_json(get_job_credits, **job_ids(self.project_id, self.job_id))
        return {"creditsUsed": answer["data"]["creditsUsed"]}

    async def upload_results_to_bucket(
        self,
        gs_client: Any,
        bucket: Any,
        folder: str,
        extension: str = ".tgz",
        version: str = "v0",
        *,
        integrity: IntegrityMode = DEFAULT_INTEGRITY,
        timeout: float | None = None,
        max_attempts: int | None = None,
    ) -> None:
        """Stream the results archive into a bucket (see ``Job.upload_results_to_bucket``);
        the upload runs on a worker thread, and cancelling it cancels the upload."""
        from ._upload import stream_to_blob

        del gs_client
        options = DownloadOptions(integrity=integrity, timeout=timeout, max_attempts=max_attempts)
        blob = bucket.blob(str(PurePosixPath(version, folder, f"{self.job_id}{extension}")))
        loop = asyncio.get_running_loop()

        def work(settings: TransferSettings) -> None:
            get_url = on_loop(loop, settings.cancel, self._download_url)
            stream_to_blob(get_url, blob, settings=settings, options=options)

        await self.auth.in_worker(work)
        LOGGER.info("Uploaded results of job %s to %s", self.job_id, blob.name)

    async def download_quicklooks(
        self,
        output_directory: str | Path | None = None,
        *,
        progress: ProgressCallback | None = None,
        show_progress: bool | None = None,
        timeout: float | None = None,
        max_attempts: int | None = None,
    ) -> list[str]:
        """Download the quicklooks of the job's data task (its first task)."""
        tasks = await self.get_jobtasks()
        if not tasks:
            raise Up42Error(f"job {self.job_id} has no tasks, so no quicklooks")
        directory = Path(output_directory) if output_directory else self._default_directory()
        self.quicklooks = await tasks[0].download_quicklooks(
            output_directory=directory,
            progress=progress,
            show_progress=show_progress,
            timeout=timeout,
            max_attempts=max_attempts,
        )
        return self.quicklooks
