"""What a collection of jobs decides, with no I/O: both front doors' ``JobCollection`` share it.

- the jobs listing's parameters as the classic ``Project.get_jobs`` checked and sent them,
  and how many of its pages to ask for at once;
- the merged ``data.json`` of ``JobCollection.download_results``;
- how ``track_status`` polls many jobs (``PollPlan``) and the summary it reports.

Polling hundreds of jobs: one listing call answers a page (the sandbox's 20) of the project's
jobs, a per-job call one job. A round costs ``pages`` listing calls against ``pending``
per-job calls, so the listing wins as soon as more jobs are pending than the listing has
pages, and per-job calls win for a few jobs in a big project. ``PollPlan`` takes the cheaper
one each round, from the page count the last listing showed.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from ._errors import JobError
from ._status import (
    CANCELLED_STATUSES,
    FAILED_STATUSES,
    TERMINAL_STATUSES,
    JobStatus,
    ended_badly,
)

__all__ = [
    "DEFAULT_DOWNLOAD_CONCURRENCY",
    "DEFAULT_MAX_CONCURRENCY",
    "SORT_FIELDS",
    "ListingPages",
    "ListingRound",
    "PollPlan",
    "Summary",
    "download_concurrency",
    "final_status",
    "first_failure",
    "job_modes",
    "merged_results",
    "sort_parameter",
]

#: The fields the listing sorts by (the classic SDK's allowed_sorting_criteria).
SORT_FIELDS = ("createdAt", "name", "id", "mode", "status", "startedAt", "finishedAt")
#: Jobs handled side by side by a collection member unless ``max_concurrency`` says.
DEFAULT_MAX_CONCURRENCY = 16
#: Jobs downloaded side by side at most, unless ``max_concurrency`` says (see
#: ``download_concurrency``): a large archive comes over 8 connections of its own anyway.
DEFAULT_DOWNLOAD_CONCURRENCY = 8
#: A guess of the listing's page count before any listing was read: the real API's page
#: size is its own; 20 is the sandbox's.
ASSUMED_PAGE_SIZE = 20
#: Listing pages asked for together when the limit needs no more than these: 50 jobs at 20 a
#: page are three round trips one after another, two with the last two pages together. If
#: the listing ends sooner, the pages past its end come back empty: a few requests wasted.
MAX_PAGES_AT_ONCE = 4


def download_concurrency(cpus: int | None = None) -> int:
    """Jobs a collection downloads side by side by default: one per CPU this process may use
    (``cpus``, when given) and one more, at most ``DEFAULT_DOWNLOAD_CONCURRENCY``.

    A small archive's download is mostly CPU (unpacking, files, its API call): more of them
    at once than CPUs only contend for the CPUs and the GIL, and one more keeps a CPU busy
    while a download waits for its first bytes. 50 small jobs at 30 ms of API latency, each
    signed URL asked for ahead (2 CPUs, medians of 12 runs taking turns): 0.77 s with 2 at
    once, 0.65 s with 3, 0.66 s with 4 and 0.77 s with 8.
    """
    if cpus is None:
        affinity = getattr(os, "sched_getaffinity", None)
        cpus = len(affinity(0)) if affinity is not None else os.cpu_count() or 1
    return max(1, min(DEFAULT_DOWNLOAD_CONCURRENCY, cpus + 1))


class ListingPages:
    """Reading the jobs listing: which pages to ask for next, and the jobs kept so far.

    Pages are read one after another until an empty page, ``limit`` jobs kept, or ``until()``
    says enough; only the last few pages a limit needs are asked for together (at most
    ``MAX_PAGES_AT_ONCE``: the listing's end is known from an empty page only, and its page
    size from the pages read).

    Args:
        keep: Which jobs to keep.
        limit: Jobs wanted at most (None: every job).
        until: Stop once this says so (then pages go one at a time).

    Attributes:
        kept: The jobs kept so far.
        read: The pages asked for so far.
    """

    def __init__(
        self,
        keep: Callable[[dict[str, Any]], bool],
        limit: int | None,
        until: Callable[[], bool] | None = None,
    ) -> None:
        self._keep = keep
        self._limit = limit
        self._until = until
        self.kept: list[dict[str, Any]] = []
        self.read = 0
        self._last: int | None = None
        self._done = False

    def next_pages(self) -> range | None:
        """The pages to ask for together next, or None once done."""
        if self._done or (self._limit is not None and len(self.kept) >= self._limit):
            return None
        count = 1
        if self._until is None and self._limit is not None and self._last:
            needed = -(-(self._limit - len(self.kept)) // self._last)
            count = needed if needed <= MAX_PAGES_AT_ONCE else 1
        return range(self.read, self.read + count)

    def add(self, pages: Sequence[Sequence[dict[str, Any]]]) -> None:
        """Take the jobs of the pages asked for, in page order."""
        self.read += len(pages)
        for jobs in pages:
            if not jobs:
                self._done = True
                return
            self._last = len(jobs)
            self.kept.extend(job for job in jobs if self._keep(job))
        if self._until is not None and self._until():
            self._done = True

    def jobs(self) -> list[dict[str, Any]]:
        """The jobs kept (at most ``limit``)."""
        return self.kept if self._limit is None else self.kept[: self._limit]


def sort_parameter(sortby: str, descending: bool) -> str:
    """The listing's ``sort`` value, e.g. ``createdAt,desc``.

    Raises:
        ValueError: ``sortby`` is not one of ``SORT_FIELDS`` (as classic raised).
    """
    if sortby not in SORT_FIELDS:
        raise ValueError(f"sortby parameter must be one of {list(SORT_FIELDS)}!")
    return f"{sortby},{'desc' if descending else 'asc'}"


def job_modes(test_jobs: bool, real_jobs: bool) -> frozenset[str]:
    """The job modes to keep: ``DRY_RUN`` for test jobs, ``DEFAULT`` for real ones.

    Raises:
        ValueError: Neither kind is asked for (as classic's ``filter_jobs_on_mode``).
    """
    modes = {mode for mode, wanted in (("DRY_RUN", test_jobs), ("DEFAULT", real_jobs)) if wanted}
    if not modes:
        raise ValueError("one of test_jobs and real_jobs must be True")
    return frozenset(modes)


def merged_results(collections: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """One FeatureCollection of every job's features, as classic merged them: each feature
    gets ``job_id``, and its ``up42.data_path`` the prefix ``job_<id>/`` (the folder the job
    was downloaded into, next to the merged file)."""
    features: list[dict[str, Any]] = []
    for job_id, collection in collections.items():
        for feature in collection.get("features", []):
            properties = dict(feature.get("properties") or {})
            properties["job_id"] = job_id
            data_path = properties.get("up42.data_path")
            if isinstance(data_path, str):
                properties["up42.data_path"] = str(PurePosixPath(f"job_{job_id}") / data_path)
            features.append({**feature, "properties": properties})
    return {"type": "FeatureCollection", "features": features}


def final_status(info: Mapping[str, Any]) -> str | None:
    """The status in ``info`` if it is final (it can never change, so it needs no fetch),
    else None."""
    status = info.get("status")
    return str(status) if isinstance(status, str) and status in TERMINAL_STATUSES else None


def data_json_of(paths: Sequence[str]) -> str | None:
    """The ``data.json`` among a job's downloaded files, or None."""
    return next((path for path in paths if PurePosixPath(path).name == "data.json"), None)


class ListingRound:
    """One round of reading statuses from the listing: the jobs it looks for and their info
    as found; ``keep`` is the listing's filter (it keeps nothing, it notes what it sees)."""

    def __init__(self, wanted: Iterable[str]) -> None:
        self.wanted = set(wanted)
        self.seen: dict[str, dict[str, Any]] = {}

    def keep(self, info: dict[str, Any]) -> bool:
        if info.get("id") in self.wanted:
            self.seen[str(info["id"])] = info
        return False

    def complete(self) -> bool:
        """Whether every wanted job was seen (the listing may stop paging)."""
        return len(self.seen) == len(self.wanted)

    def statuses(self) -> dict[str, str]:
        return {job_id: str(info["status"]) for job_id, info in self.seen.items()}


def first_failure(statuses: Mapping[str, str]) -> JobError | None:
    """The error of the first job that ended badly (``track_status(raise_on_failure=True)``)."""
    for job_id, status in statuses.items():
        error = ended_badly(job_id, status)
        if error is not None:
            return error
    return None


@dataclasses.dataclass
class PollPlan:
    """How each round of ``JobCollection.track_status`` reads the statuses it still needs."""

    pages: int | None = None
    """Pages the last listing read to find every pending job (None: not listed yet)."""

    def use_listing(self, pending: int) -> bool:
        """Whether one listing round is cheaper than ``pending`` per-job calls."""
        pages = self.pages if self.pages is not None else 1 + pending // ASSUMED_PAGE_SIZE
        return pending > pages


@dataclasses.dataclass(frozen=True)
class Summary:
    """How many jobs are done, running or failed (the CLI's live line)."""

    done: int
    running: int
    failed: int

    @classmethod
    def of(cls, statuses: Iterable[str]) -> Summary:
        counts: Counter[str] = Counter()
        for status in statuses:
            parsed = JobStatus.parse(status)
            if parsed in FAILED_STATUSES or parsed in CANCELLED_STATUSES:
                counts["failed"] += 1
            elif parsed in TERMINAL_STATUSES:
                counts["done"] += 1
            else:
                counts["running"] += 1
        return cls(done=counts["done"], running=counts["running"], failed=counts["failed"])

    def __str__(self) -> str:
        return f"{self.done} done, {self.running} running, {self.failed} failed"


def collection_repr(name: str, jobs: Sequence[object]) -> str:
    """The classic ``JobCollection`` repr (``JobCollection(len: 2, jobs: [...])``)."""
    return f"{name}(len: {len(jobs)}, jobs: {list(jobs)})"
