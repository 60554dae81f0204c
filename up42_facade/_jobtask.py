"""``JobTask``: one task of a job (a workflow block), as in the classic SDK."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ._errors import NotFoundError
from ._outputs import Outputs, default_directory, read_json

if TYPE_CHECKING:
    from up42_jobs_client.types import Response

    from ._session import Up42
    from ._transfers import ProgressCallback

__all__ = ["JobTask"]

LOGGER = logging.getLogger("up42_facade")


class JobTask(Outputs):
    """One task of a job, with every member of the classic SDK's ``JobTask``.

    Attributes:
        auth: The session the task talks through.
        project_id: The project's id.
        job_id: The job's id.
        jobtask_id: The task's id.
        results: Paths of the files of the last ``download_results``, or None.
        quicklooks: Paths of the last ``download_quicklooks``, or None.

    Example:
        >>> task = job.get_jobtasks()[0]  # doctest: +SKIP
        >>> task.download_quicklooks()  # doctest: +SKIP
        ['project_.../job_.../jobtask_.../quicklook_3f77....png']
    """

    def __init__(
        self,
        auth: Up42,
        project_id: str,
        job_id: str,
        jobtask_id: str,
        jobtask_info: dict[str, Any] | None = None,
    ) -> None:
        self.auth = auth
        self.project_id = project_id
        self.job_id = job_id
        self.jobtask_id = jobtask_id
        self.results: list[str] | None = None
        self.quicklooks: list[str] | None = None
        self._info: dict[str, Any] = self.info if jobtask_info is None else jobtask_info

    def __repr__(self) -> str:
        info = self._info
        block = info.get("block") or {}
        return (
            f"JobTask(name: {info.get('name')}, jobtask_id: {self.jobtask_id}, "
            f"status: {info.get('status')}, startedAt: {info.get('startedAt')}, "
            f"finishedAt: {info.get('finishedAt')}, job_name: {info.get('name')}, "
            f"block_name: {block.get('name')}, block_version: {info.get('blockVersion')})"
        )

    def _ids(self, **extra: UUID) -> dict[str, UUID]:
        return {
            "project_id": UUID(self.project_id),
            "job_id": UUID(self.job_id),
            "task_id": UUID(self.jobtask_id),
            **extra,
        }

    @property
    def info(self) -> dict[str, Any]:
        """The task's data as the API sends it (a dict), fetched anew on every access.

        Raises:
            NotFoundError: The job has no task with this id.
        """
        from up42_jobs_client.api.tasks import list_job_tasks

        response = self.auth.call(
            list_job_tasks.sync_detailed,
            project_id=UUID(self.project_id),
            job_id=UUID(self.job_id),
        )
        tasks: list[dict[str, Any]] = read_json(response)["data"]
        for task in tasks:
            if task.get("id") == self.jobtask_id:
                self._info = task
                return task
        raise NotFoundError(
            f"job {self.job_id} has no task {self.jobtask_id}",
            status_code=404,
            path=f"/projects/{self.project_id}/jobs/{self.job_id}/tasks/",
            method="GET",
        )

    def _results_response(self) -> Response[Any]:
        from up42_jobs_client.api.outputs import get_task_results_json

        return self.auth.call(get_task_results_json.sync_detailed, **self._ids())

    def _download_url(self) -> str:
        from up42_jobs_client.api.downloads import get_task_download_url

        response = self.auth.call(get_task_download_url.sync_detailed, **self._ids())
        url: str = read_json(response)["data"]["url"]
        return url

    def download_quicklooks(
        self,
        output_directory: str | Path | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> list[str]:
        """Download the task's quicklook images as ``quicklook_<name>`` files.

        Args:
            output_directory: Default ``project_<id>/job_<id>`` under the cwd (the job's
                folder, as in the classic SDK: only the data task has quicklooks).
            progress: Called with ``(bytes written so far, None)`` after each image.

        Returns:
            The paths of the images written.
        """
        from up42_jobs_client.api.outputs import get_task_quicklook, list_task_quicklooks

        from ._download import write_atomically

        directory = (
            Path(output_directory)
            if output_directory
            else default_directory(self.project_id, self.job_id)
        )
        names: list[str] = read_json(
            self.auth.call(list_task_quicklooks.sync_detailed, **self._ids())
        )["data"]
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        written = 0
        for name in names:
            response = self.auth.call(get_task_quicklook.sync_detailed, **self._ids(), name=name)
            # The name comes from the server: keep only its last component.
            path = directory / f"quicklook_{Path(name).name}"
            write_atomically(path, response.content)
            paths.append(str(path))
            written += len(response.content)
            if progress is not None:
                progress(written, None)
        LOGGER.info("Downloaded %d quicklooks of task %s", len(paths), self.jobtask_id)
        self.quicklooks = paths
        return paths

    def _default_directory(self) -> Path:
        return default_directory(self.project_id, self.job_id, f"jobtask_{self.jobtask_id}")
