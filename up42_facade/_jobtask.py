"""``JobTask``: one task of a job (a workflow block), as in the classic SDK."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ._files import write_atomically
from ._job_rules import (
    find_task,
    job_ids,
    quicklook_path,
    task_ids,
    task_repr,
)
from ._outputs import Outputs
from ._paths import default_directory
from ._progress import progress_reporter
from ._retry import call_options

if TYPE_CHECKING:
    from ._progress import ProgressCallback
    from ._session import Session

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

    Examples:
        >>> import up42_facade
        >>> session = up42_facade.authenticate()
        >>> job = up42_facade.initialize_job(job_id)
        >>> task = job.get_jobtasks()[0]
        >>> task.info["status"]
        'SUCCEEDED'
        >>> task.download_quicklooks("quicklooks/")
        ['quicklooks/quicklook_....png', 'quicklooks/quicklook_....png']
    """

    def __init__(
        self,
        auth: Session,
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
        return task_repr(self._info, self.jobtask_id)

    def _repr_html_(self) -> str:
        """Jupyter's view: status and timings as last fetched (no request is sent)."""
        from ._html import task_html  # notebooks only: not on `import up42_facade`

        return task_html(self._info, self.jobtask_id)

    def _task_id(self) -> str:
        return self.jobtask_id

    def _ids(self) -> dict[str, UUID]:
        return task_ids(self.project_id, self.job_id, self.jobtask_id)

    @property
    def info(self) -> dict[str, Any]:
        """The task's data as the API sends it (a dict), fetched anew on every access.

        Raises:
            NotFoundError: The job has no task with this id.
        """
        from up42_jobs_client.api.tasks import list_job_tasks

        tasks: list[dict[str, Any]] = self.auth.call_json(
            list_job_tasks, **job_ids(self.project_id, self.job_id)
        )["data"]
        self._info = find_task(tasks, self.project_id, self.job_id, self.jobtask_id)
        return self._info

    def download_quicklooks(
        self,
        output_directory: str | Path | None = None,
        *,
        progress: ProgressCallback | None = None,
        show_progress: bool | None = None,
        timeout: float | None = None,
        max_attempts: int | None = None,
    ) -> list[str]:
        """Download the task's quicklook images as ``quicklook_<name>`` files.

        Each image is written whole or not at all. Quicklooks come from the API, not from
        storage, and carry no hash: their size is what the API announces.

        Args:
            output_directory: Default ``project_<id>/job_<id>`` under the cwd (the job's
                folder, as in the classic SDK: only the data task has quicklooks).
            progress: Called with ``(bytes written so far, None)`` after each image.
            show_progress: Show a progress bar (default: when stderr is a terminal).
            timeout: Seconds to wait for each answer (default: the session's ``read_timeout``).
            max_attempts: Attempts per image (default: the session's ``RetryPolicy``).

        Returns:
            The paths of the images written.
        """
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
            names: list[str] = self.auth.call_json(list_task_quicklooks, **self._ids())["data"]
            directory.mkdir(parents=True, exist_ok=True)
            written = 0
            for name in names:
                response = self.auth.call(get_task_quicklook, **self._ids(), name=name)
                path = quicklook_path(directory, name)
                write_atomically(path, response.content)
                paths.append(str(path))
                written += len(response.content)
                report(written, None)
        LOGGER.info("Downloaded %d quicklooks of task %s", len(paths), self.jobtask_id)
        self.quicklooks = paths
        return paths
