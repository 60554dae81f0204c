"""What ``Job`` and ``AsyncJob`` (and their tasks) share: every decision, none of the I/O.

Each classic member is a short I/O shell in both front doors: it asks the API through its
session and hands the answers to the functions here, which say what the answers mean
(``Tracker`` for ``track_status``, the repr layouts, the log layout, where files go).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID

from ._errors import JobTimeoutError, NotFoundError
from ._paths import default_directory
from ._status import CANCELLED_STATUSES, JobStatus, ended_badly

__all__ = [
    "LOG_FETCH_WORKERS",
    "OperationArgs",
    "OutputsPlace",
    "Tracker",
    "cancel_went_through",
    "download_operation",
    "find_task",
    "job_ids",
    "job_repr",
    "print_logs",
    "quicklook_path",
    "results_operation",
    "task_ids",
    "task_repr",
]

LOGGER = logging.getLogger("up42_facade")

# get_logs fetches task logs side by side; a workflow rarely has more blocks than this,
# and the bound keeps a job with hundreds of tasks from opening hundreds of connections.
LOG_FETCH_WORKERS = 16


def job_ids(project_id: str, job_id: str) -> dict[str, UUID]:
    """The path arguments of a job's generated operations."""
    return {"project_id": UUID(project_id), "job_id": UUID(job_id)}


def task_ids(project_id: str, job_id: str, task_id: str) -> dict[str, UUID]:
    """The path arguments of a task's generated operations."""
    return {**job_ids(project_id, job_id), "task_id": UUID(task_id)}


OperationArgs = tuple[ModuleType, dict[str, UUID]]
"""A generated operation module and its path arguments (without ``client``)."""


def results_operation(project_id: str, job_id: str, task_id: str | None = None) -> OperationArgs:
    """The generated operation answering the ``data-json`` of a job, or of one of its tasks."""
    from up42_jobs_client.api.outputs import get_job_results_json, get_task_results_json

    if task_id is None:
        return get_job_results_json, job_ids(project_id, job_id)
    return get_task_results_json, task_ids(project_id, job_id, task_id)


def download_operation(project_id: str, job_id: str, task_id: str | None = None) -> OperationArgs:
    """The generated operation answering a signed URL of a job's (or a task's) results."""
    from up42_jobs_client.api.downloads import get_job_download_url, get_task_download_url

    if task_id is None:
        return get_job_download_url, job_ids(project_id, job_id)
    return get_task_download_url, task_ids(project_id, job_id, task_id)


class OutputsPlace:
    """Where the outputs of a job, or of one of its tasks, come from and go to.

    ``Job``, ``JobTask`` and their async twins mix it in; a task says which it is by
    ``_task_id``.
    """

    project_id: str
    job_id: str

    def _task_id(self) -> str | None:
        """The task whose outputs these are; None for the whole job's."""
        return None

    def _results_operation(self) -> OperationArgs:
        """The generated operation answering the ``data-json``."""
        return results_operation(self.project_id, self.job_id, self._task_id())

    def _download_operation(self) -> OperationArgs:
        """The generated operation answering a signed URL of the results archive."""
        return download_operation(self.project_id, self.job_id, self._task_id())

    def _default_directory(self) -> Path:
        """The classic SDK's folder: ``project_<id>/job_<id>[/jobtask_<id>]`` under the cwd."""
        task_id = self._task_id()
        parts = () if task_id is None else (f"jobtask_{task_id}",)
        return default_directory(self.project_id, self.job_id, *parts)


def job_repr(info: Mapping[str, Any], job_id: str, kind: str = "Job") -> str:
    """The classic SDK's ``Job`` repr (scripts parse it)."""
    return (
        f"{kind}(name: {info.get('name')}, job_id: {job_id}, mode: {info.get('mode')}, "
        f"status: {info.get('status')}, startedAt: {info.get('startedAt')}, "
        f"finishedAt: {info.get('finishedAt')}, "
        f"workflow_name: {info.get('workflowName')}, input_parameters: {info.get('inputs')})"
    )


def task_repr(info: Mapping[str, Any], jobtask_id: str, kind: str = "JobTask") -> str:
    """The classic SDK's ``JobTask`` repr."""
    block = info.get("block") or {}
    return (
        f"{kind}(name: {info.get('name')}, jobtask_id: {jobtask_id}, "
        f"status: {info.get('status')}, startedAt: {info.get('startedAt')}, "
        f"finishedAt: {info.get('finishedAt')}, job_name: {info.get('name')}, "
        f"block_name: {block.get('name')}, block_version: {info.get('blockVersion')})"
    )


def find_task(
    tasks: list[dict[str, Any]], project_id: str, job_id: str, jobtask_id: str
) -> dict[str, Any]:
    """The task's dict among the job's tasks.

    Raises:
        NotFoundError: The job has no task with this id.
    """
    for task in tasks:
        if task.get("id") == jobtask_id:
            return task
    raise NotFoundError(
        f"job {job_id} has no task {jobtask_id}",
        status_code=404,
        path=f"/projects/{project_id}/jobs/{job_id}/tasks/",
        method="GET",
    )


def print_logs(job_id: str, tasks: list[dict[str, Any]], logs: Mapping[str, str]) -> None:
    """Print every task's log in task order, in the classic SDK's layout (scripts parse it)."""
    print(f"Printing logs of {len(tasks)} JobTasks in Job with job_id {job_id}:\n")
    for number, task in enumerate(tasks, start=1):
        print("----------------------------------------------------------")
        print(f"JobTask {number} with jobtask_id {task['id']}:\n")
        print(logs[task["id"]])


def quicklook_path(directory: Path, name: str) -> Path:
    """Where a quicklook goes: the server's name, last component only, as ``quicklook_<name>``."""
    return directory / f"quicklook_{Path(name).name}"


def cancel_went_through(status: str) -> bool:
    """Whether a refused cancel still got what was asked: the job is already on its way out."""
    return status in CANCELLED_STATUSES


class Tracker:
    """The decisions of ``track_status``, one polled status at a time.

    Args:
        job_id: The job's id (named in logs and errors).
        report_time: Log the status every this many seconds.
        poll_interval: Seconds between polls.
        timeout: Give up after this many seconds (None: never).
        clock: Monotonic clock.
    """

    def __init__(
        self,
        job_id: str,
        *,
        report_time: float,
        poll_interval: float,
        timeout: float | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._job_id = job_id
        self._report_time = report_time
        self._poll_interval = poll_interval
        self._timeout = timeout
        self._clock = clock
        self._start = clock()
        self._last_report = float("-inf")
        self._unknown_seen: set[str] = set()

    def next_wait(self, status: str) -> float | None:
        """What to do after polling ``status``: None when the job succeeded, else the
        seconds to wait before the next poll.

        Raises:
            JobFailedError: The job ended FAILED or ERROR (print its logs, then re-raise).
            JobCancelledError: The job is CANCELLED or CANCELLING.
            JobTimeoutError: ``timeout`` passed first.
        """
        if status == JobStatus.SUCCEEDED:
            LOGGER.info("Job finished successfully! - %s", self._job_id)
            return None
        error = ended_badly(self._job_id, status)
        if error is not None:
            raise error
        if not JobStatus.is_known(status) and status not in self._unknown_seen:
            self._unknown_seen.add(status)
            LOGGER.warning(
                "Job %s reports status %r, which this client does not know; still polling",
                self._job_id,
                status,
            )
        elapsed = self._clock() - self._start
        if elapsed - self._last_report >= self._report_time:
            LOGGER.info("Job is %s! - %s", status, self._job_id)
            self._last_report = elapsed
        if self._timeout is None:
            return self._poll_interval
        if elapsed >= self._timeout:
            raise JobTimeoutError(
                f"job {self._job_id} still {status} after {self._timeout:g} s; "
                "call track_status again to keep waiting",
                job_id=self._job_id,
                status=status,
                timeout=self._timeout,
            )
        # Never sleep past the timeout: the last poll happens right at it.
        return min(self._poll_interval, self._timeout - elapsed)
