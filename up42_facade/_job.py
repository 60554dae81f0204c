"""``Job``: the classic SDK's job class, member for member, over the generated client."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal, cast, overload

from ._errors import APIError, AuthenticationError, JobFailedError, NotFoundError, Up42Error
from ._job_rules import (
    LOG_FETCH_WORKERS,
    Tracker,
    cancel_went_through,
    job_ids,
    job_repr,
    print_logs,
    task_ids,
)
from ._jobtask import JobTask
from ._options import DEFAULT_INTEGRITY, DownloadOptions, IntegrityMode
from ._outputs import Outputs
from ._status import JobStatus

if TYPE_CHECKING:
    from up42_jobs_client.models import Job as JobModel

    from ._progress import ProgressCallback
    from ._session import Session

__all__ = ["Job"]

LOGGER = logging.getLogger("up42_facade")


class Job(Outputs):
    """A UP42 processing job, with every member of the classic SDK's ``Job``.

    Create it with ``up42_facade.initialize_job(job_id)`` or
    ``session.initialize_job(job_id)``. Dict access (``info``, ``status``) works as
    in the classic SDK; typed access sits beside it (``model``, ``job_status``).

    Attributes:
        auth: The session the job talks through.
        project_id: The project's id.
        job_id: The job's id.
        results: Paths of the files of the last ``download_results``, or None.
        quicklooks: Paths of the last ``download_quicklooks``, or None.

    Examples:
        >>> import up42_facade
        >>> session = up42_facade.authenticate()
        >>> job = up42_facade.initialize_job(job_id=job_id)
        >>> job.track_status()
        'SUCCEEDED'
        >>> from pathlib import Path
        >>> files = job.download_results()  # into project_<id>/job_<id>/ in the working dir
        >>> sorted(Path(path).suffix for path in files)  # the data.json and one GeoTIFF a scene
        ['.json', '.tif', '.tif']
        >>> job.get_credits()
        {'creditsUsed': 100}
    """

    def __init__(
        self,
        auth: Session,
        project_id: str,
        job_id: str,
        job_info: dict[str, Any] | None = None,
    ) -> None:
        self.auth = auth
        self.project_id = project_id
        self.job_id = job_id
        self.results: list[str] | None = None
        self.quicklooks: list[str] | None = None
        # The tasks of the last get_jobtasks, for the notebook view (which sends no request).
        self._tasks: list[dict[str, Any]] | None = None
        self._info: dict[str, Any] = self.info if job_info is None else job_info

    def __repr__(self) -> str:
        return job_repr(self._info, self.job_id)

    def _repr_html_(self) -> str:
        """Jupyter's view: status, timings and tasks as last fetched (no request is sent)."""
        from ._html import job_html  # notebooks only: not on `import up42_facade`

        return job_html(self._info, self.job_id, self._tasks)

    # -- reading the job -------------------------------------------------------------

    def _get(self) -> tuple[dict[str, Any], JobModel]:
        from up42_jobs_client.api.jobs import get_job
        from up42_jobs_client.models import JobEnvelope

        response = self.auth.call(get_job, **job_ids(self.project_id, self.job_id))
        # On a success status the generated parser yields nothing but a JobEnvelope, so the
        # body is JSON: it parsed.
        envelope = cast(JobEnvelope, response.parsed)
        data = json.loads(response.content)["data"]
        return data, envelope.data

    @property
    def info(self) -> dict[str, Any]:
        """The job's data as the API sends it (a dict), fetched anew on every access."""
        self._info, _ = self._get()
        return self._info

    @property
    def model(self) -> JobModel:
        """The job as the generated, typed ``up42_jobs_client.models.Job`` (fetched anew)."""
        self._info, model = self._get()
        return model

    @property
    def status(self) -> str:
        """The job's current status string (fetched anew), e.g. ``"RUNNING"``."""
        status = str(self.info["status"])
        LOGGER.info("Job is %s", status)
        return status

    @property
    def job_status(self) -> JobStatus | str:
        """The current status as a ``JobStatus`` (a plain string for a value nobody knows yet)."""
        return JobStatus.parse(str(self.info["status"]))

    @property
    def is_succeeded(self) -> bool:
        """True when the job's current status is SUCCEEDED."""
        return self.status == JobStatus.SUCCEEDED

    def track_status(
        self,
        report_time: float = 30,
        *,
        poll_interval: float = 5.0,
        timeout: float | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        callback: Callable[[str], None] | None = None,
        print_logs: bool = True,
    ) -> str:
        """Poll the job until it ends; return ``"SUCCEEDED"`` as soon as it is seen.

        Args:
            report_time: Log the status every this many seconds.
            poll_interval: Seconds between polls.
            timeout: Give up after this many seconds (None: never).
            sleep: Waits between polls (defaults to the session's sleep).
            clock: Monotonic clock (tests).
            callback: Called with every status polled (e.g. to show a live line).
            print_logs: Print every task's log when the job fails, as the classic SDK did.

        Returns:
            ``"SUCCEEDED"``.

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
            status = str(self.info["status"])
            if callback is not None:
                callback(status)
            try:
                seconds = tracker.next_wait(status)
            except JobFailedError:
                if print_logs:
                    LOGGER.error("Job %s ended %s; task logs follow", self.job_id, status)
                    self.get_logs(as_print=True)
                raise
            if seconds is None:
                return status
            wait(seconds)

    def cancel_job(self) -> None:
        """Ask the API to cancel the job (a job already cancelling or cancelled counts as done).

        Raises:
            APIError: The API refused (e.g. ``NotFoundError``).
        """
        from up42_jobs_client.api.jobs import cancel_job

        try:
            self.auth.send(cancel_job, **job_ids(self.project_id, self.job_id))
        except APIError as exc:
            # A retried cancel, or one racing another client, may be refused because the
            # job is already on its way out: that is the outcome the caller asked for.
            if isinstance(exc, AuthenticationError | NotFoundError):
                raise
            if not cancel_went_through(str(self.info.get("status"))):
                raise
        LOGGER.info("Job canceled: %s", self.job_id)

    # -- tasks and logs ----------------------------------------------------------------

    @overload
    def get_jobtasks(self, return_json: Literal[False] = False) -> list[JobTask]: ...
    @overload
    def get_jobtasks(self, return_json: Literal[True]) -> list[dict[str, Any]]: ...

    def get_jobtasks(self, return_json: bool = False) -> list[JobTask] | list[dict[str, Any]]:
        """The job's tasks, in workflow order.

        Args:
            return_json: Return the tasks' dicts instead of ``JobTask`` objects.
        """
        from up42_jobs_client.api.tasks import list_job_tasks

        tasks: list[dict[str, Any]] = self.auth.call_json(
            list_job_tasks, **job_ids(self.project_id, self.job_id)
        )["data"]
        self._tasks = tasks
        if return_json:
            return tasks
        return [
            JobTask(
                auth=self.auth,
                project_id=self.project_id,
                job_id=self.job_id,
                jobtask_id=task["id"],
                jobtask_info=task,
            )
            for task in tasks
        ]

    def get_logs(self, as_print: bool = True, as_return: bool = False) -> dict[str, str] | None:
        """Every task's log, fetched side by side and printed in task order.

        Args:
            as_print: Print each log under a header naming the task.
            as_return: Return ``{task_id: log}``.

        Returns:
            ``{task_id: log text}`` when ``as_return``, else None.
        """
        tasks = self.get_jobtasks(return_json=True)
        with ThreadPoolExecutor(max_workers=max(1, min(LOG_FETCH_WORKERS, len(tasks)))) as pool:
            texts = list(pool.map(lambda task: self._task_log(task["id"]), tasks))
        logs = {task["id"]: text for task, text in zip(tasks, texts, strict=True)}
        if as_print:
            print_logs(self.job_id, tasks, logs)
        return logs if as_return else None

    def _task_log(self, task_id: str) -> str:
        from up42_jobs_client.api.tasks import get_task_logs

        response = self.auth.call(get_task_logs, **task_ids(self.project_id, self.job_id, task_id))
        return response.content.decode("utf-8", "replace")

    # -- results -------------------------------------------------------------------------

    def get_jobtasks_results_json(self) -> dict[str, dict[str, Any]]:
        """``{task_id: FeatureCollection}`` for every task of the job."""
        return {task.jobtask_id: task.get_results_json() for task in self.get_jobtasks()}

    def get_credits(self) -> dict[str, Any]:
        """The credits the job used: ``{"creditsUsed": n}``."""
        from up42_jobs_client.api.credits_ import get_job_credits

        data = self.auth.call_json(get_job_credits, **job_ids(self.project_id, self.job_id))["data"]
        return {"creditsUsed": data["creditsUsed"]}

    def upload_results_to_bucket(
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
        """Stream the results archive into the blob ``{version}/{folder}/{job_id}{extension}``.

        The archive never sits whole in memory, and a download that fails or does not
        verify cancels the upload (no partial object). The blob name is joined as the
        classic SDK joined it (empty parts and doubled slashes collapse). ``gs_client`` is
        accepted for compatibility; the bucket's own client uploads.

        Args:
            gs_client: Ignored (the classic SDK's signature).
            bucket: A ``google.cloud.storage.Bucket``.
            folder: The blob's folder.
            extension: The blob name's extension.
            version: The blob name's first folder.
            integrity: As for ``download_results``.
            timeout: As for ``download_results``.
            max_attempts: As for ``download_results``.

        Raises:
            DownloadError: The download failed (``IntegrityError`` when the bytes did not verify).
            ConfigurationError: google-cloud-storage is older than 3.0.
        """
        from ._upload import stream_to_blob

        del gs_client
        options = DownloadOptions(integrity=integrity, timeout=timeout, max_attempts=max_attempts)
        blob = bucket.blob(str(PurePosixPath(version, folder, f"{self.job_id}{extension}")))
        stream_to_blob(self._download_url, blob, settings=self.auth.transfers, options=options)
        LOGGER.info("Uploaded results of job %s to %s", self.job_id, blob.name)

    def download_quicklooks(
        self,
        output_directory: str | Path | None = None,
        *,
        progress: ProgressCallback | None = None,
        show_progress: bool | None = None,
        timeout: float | None = None,
        max_attempts: int | None = None,
    ) -> list[str]:
        """Download the quicklooks of the job's data task (its first task).

        Args:
            output_directory: Where to put them; default as for ``download_results``.
            progress: Called with ``(bytes written so far, None)`` after each image.
            show_progress: Show a progress bar (default: when stderr is a terminal).
            timeout: Seconds to wait for each answer (default: the session's ``read_timeout``).
            max_attempts: Attempts per image (default: the session's ``RetryPolicy``).

        Returns:
            The paths of the images, named ``quicklook_<name>``.
        """
        tasks = self.get_jobtasks()
        if not tasks:
            raise Up42Error(f"job {self.job_id} has no tasks, so no quicklooks")
        directory = Path(output_directory) if output_directory else self._default_directory()
        self.quicklooks = tasks[0].download_quicklooks(
            output_directory=directory,
            progress=progress,
            show_progress=show_progress,
            timeout=timeout,
            max_attempts=max_attempts,
        )
        return self.quicklooks
