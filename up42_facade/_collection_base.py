"""What ``JobCollection`` and ``AsyncJobCollection`` share: the container, the merged
``data.json`` written to disk, and the error a timed-out ``track_status`` raises."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from ._collection_rules import collection_repr, data_json_of, merged_results
from ._errors import JobTimeoutError
from ._files import write_atomically
from ._redact import LOGGER
from ._status import TERMINAL_STATUSES

__all__ = ["CollectionBase", "merge_downloads", "timed_out"]


class _HasJobId(Protocol):
    job_id: str
    _info: dict[str, Any]


JobT = TypeVar("JobT", bound=_HasJobId)


class CollectionBase(Generic[JobT]):
    """The jobs as a sequence, their ids, and where the last ``download_results`` went.

    Args:
        auth: The session the jobs belong to.
        project_id: Their project.
        jobs: The jobs.
    """

    def __init__(self, auth: Any, project_id: str, jobs: list[JobT]) -> None:
        self.auth = auth
        self.project_id = project_id
        self.jobs = list(jobs)
        self.jobs_id = [job.job_id for job in self.jobs]
        self.results: dict[str, list[str]] | None = None
        self.quicklooks: list[str] | None = None

    def __repr__(self) -> str:
        return collection_repr(type(self).__name__, self.jobs)

    def _repr_html_(self) -> str:
        """Jupyter's view: a summary and each job's status and timings as last fetched (no
        request is sent)."""
        from ._html import collection_html

        return collection_html(type(self).__name__, [(job.job_id, job._info) for job in self.jobs])

    def __getitem__(self, index: int) -> JobT:
        return self.jobs[index]

    def __iter__(self) -> Iterator[JobT]:
        return iter(self.jobs)

    def __len__(self) -> int:
        return len(self.jobs)

    def _downloaded_results(self) -> list[str] | None:
        """For the viz members: the merged data.json first, then every job's files."""
        if self.results is None:
            return None
        merged = self.results.get("merged_result", [])
        rest = [p for key, files in self.results.items() if key != "merged_result" for p in files]
        return merged + rest

    def _folder(self, output_directory: str | Path | None) -> Path:
        """Where ``download_results`` writes: default ``project_<id>/`` in the working dir."""
        if output_directory is None:
            return Path.cwd() / f"project_{self.project_id}"
        return Path(output_directory)


def merge_downloads(paths: dict[str, list[str]], target: Path) -> Path:
    """Write the merged ``data.json`` of the jobs' downloaded files (``merged_results``)."""
    collections: dict[str, dict[str, Any]] = {}
    for job_id, files in paths.items():
        data_json = data_json_of(files)
        if data_json is None:
            LOGGER.warning("job %s has no data.json among its results; not merged", job_id)
            continue
        collections[job_id] = json.loads(Path(data_json).read_bytes())
    write_atomically(target, json.dumps(merged_results(collections)).encode())
    return target


def timed_out(statuses: dict[str, str], timeout: float) -> JobTimeoutError:
    """The error of a ``track_status`` that ran out of time with jobs still running."""
    running = {job_id: s for job_id, s in statuses.items() if s not in TERMINAL_STATUSES}
    job_id, status = next(iter(running.items()))
    return JobTimeoutError(
        f"{len(running)} of {len(statuses)} jobs still running after {timeout} s "
        f"(job {job_id} is {status}); track_status(timeout=None) waits on",
        job_id=job_id,
        status=status,
        timeout=timeout,
    )
