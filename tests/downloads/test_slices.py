"""Large archives: slices over several ranged connections, each resuming on its own, one stream
when storage ignores ``Range``, and the whole object still verified.

The sandbox's storage answers ranges the way GCS does, here at 8 MiB/s per connection (a
WAN link's speed, not loopback's): a 20 MiB archive is above the slicing threshold (8 MiB)
and one connection would take over a second for it, so with the default eight connections
it comes as five 4 MiB slices.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import up42_facade as up42
from up42_facade._slices import SLICE_THRESHOLD, plan_slices
from up42_sandbox import Sandbox

from .conftest import Connect
from .helpers import MiB, assert_complete, expected_files, finished_job, storage_gets

pytestmark = pytest.mark.sandbox

#: Archive padding above the slicing threshold.
LARGE = 20 * MiB


def ranges(gets: list[Any]) -> list[str | None]:
    """The Range header of each storage GET, in order (None: the whole object)."""
    return [record.headers.get("range") for record in gets]


def spans_of(values: list[str | None], size: int = 0) -> list[tuple[int, int]]:
    """``bytes=a-b`` headers as sorted half-open spans (``bytes=a-``: up to ``size``)."""
    spans = []
    for value in values:
        assert value is not None and value.startswith("bytes=")
        first, _, last = value.removeprefix("bytes=").partition("-")
        spans.append((int(first), int(last) + 1 if last else size))
    return sorted(spans)


@pytest.fixture(autouse=True)
def wan_storage(sandbox: Sandbox) -> Iterator[None]:
    """Storage at 8 MiB/s per connection."""
    sandbox.set_storage_network(bandwidth=8 * MiB, latency=None)
    yield
    sandbox.set_storage_network(bandwidth=None, latency=None)


@pytest.fixture
def large_job(sandbox: Sandbox, connect: Connect) -> up42.Job:
    return finished_job(sandbox, connect(), padding=LARGE)


def test_a_large_archive_comes_as_ranged_slices_that_cover_it_once(
    sandbox: Sandbox, large_job: up42.Job, out: Path
) -> None:
    size = sandbox.archive_info(large_job.job_id).size
    assert size >= SLICE_THRESHOLD

    files = large_job.download_results(out)

    assert_complete(out, files, expected_files(sandbox, large_job.job_id))
    gets = storage_gets(sandbox)
    slices = plan_slices([(0, size)], 8)
    assert len(gets) == len(slices) > 1
    # The first request is a plain GET (it learns the size) and carries the first slice;
    # every other slice is asked for with its range and the object's ETag.
    assert ranges(gets)[0] is None
    assert spans_of(ranges(gets)[1:]) == slices[1:]
    etag = sandbox.archive_info(large_job.job_id).etag
    assert [record.headers.get("if-range") for record in gets[1:]] == [etag] * (len(gets) - 1)


def test_max_connections_1_fetches_it_as_one_stream(
    sandbox: Sandbox, large_job: up42.Job, out: Path
) -> None:
    files = large_job.download_results(out, max_connections=1)

    assert_complete(out, files, expected_files(sandbox, large_job.job_id))
    assert ranges(storage_gets(sandbox)) == [None]


def test_each_slice_resumes_on_its_own_after_a_drop(
    sandbox: Sandbox, large_job: up42.Job, out: Path
) -> None:
    size = sandbox.archive_info(large_job.job_id).size
    slices = plan_slices([(0, size)], 8)
    cut = 300_000
    # The first three answers (the plain GET and two slices) break off after 300 kB.
    sandbox.inject("drop", count=3, job_id=large_job.job_id, at_byte=cut)

    files = large_job.download_results(out)

    assert_complete(out, files, expected_files(sandbox, large_job.job_id))
    gets = storage_gets(sandbox)
    assert len(gets) == len(slices) + 3
    # Each dropped answer was followed by a request for the rest of its slice, from where
    # it broke off (a resumed answer may have been dropped again, further on).
    asked = spans_of([value for value in ranges(gets) if value is not None], size)
    resumed = [span for span in asked if span not in slices]
    assert len(resumed) == 3
    for first, last in resumed:
        start, end = next(piece for piece in slices if piece[0] < first < piece[1])
        # The first request resumes open-ended while it is still measuring the connection.
        assert last == end or (start == 0 and last == size)
        assert (first - start) % cut == 0


def test_storage_that_ignores_range_gets_the_archive_as_one_stream(
    sandbox: Sandbox, large_job: up42.Job, out: Path
) -> None:
    sandbox.inject("ignore_range", count=None, job_id=large_job.job_id)

    files = large_job.download_results(out)

    assert_complete(out, files, expected_files(sandbox, large_job.job_id))
    gets = storage_gets(sandbox)
    assert any(value is not None for value in ranges(gets))  # slices were tried
    assert ranges(gets)[-1] is None  # and the last request fetched it whole
    assert gets[-1].status == 200


def test_a_corrupted_sliced_download_is_fetched_afresh_and_then_verifies(
    sandbox: Sandbox, large_job: up42.Job, out: Path
) -> None:
    sandbox.inject("corrupt", count=1, job_id=large_job.job_id)

    files = large_job.download_results(out)

    assert_complete(out, files, expected_files(sandbox, large_job.job_id))


def test_a_slice_corrupted_every_time_is_an_integrity_error_and_leaves_nothing(
    sandbox: Sandbox, large_job: up42.Job, out: Path
) -> None:
    sandbox.inject("corrupt", count=None, job_id=large_job.job_id)

    with pytest.raises(up42.IntegrityError, match="also after a fresh download"):
        large_job.download_results(out)

    assert sorted(p.name for p in out.iterdir()) == ["earlier.txt"]


def test_two_downloads_into_one_folder_at_once_are_refused(
    sandbox: Sandbox, large_job: up42.Job, out: Path
) -> None:
    second = finished_job(sandbox, large_job.auth)
    started: list[str] = []

    def download_the_other_one_midway(done: int, total: int | None) -> None:
        if done and not started:
            started.append("yes")
            with pytest.raises(up42.DownloadError, match=r"another download into .* is running"):
                second.download_results(out)

    files = large_job.download_results(out, progress=download_the_other_one_midway)

    assert started
    assert_complete(out, files, expected_files(sandbox, large_job.job_id))


def test_a_connection_fast_enough_for_the_whole_archive_is_not_sliced(
    sandbox: Sandbox, large_job: up42.Job, out: Path
) -> None:
    sandbox.set_storage_network(bandwidth=None, latency=None)  # loopback: 20 MiB in ~50 ms

    files = large_job.download_results(out)

    assert_complete(out, files, expected_files(sandbox, large_job.job_id))
    assert ranges(storage_gets(sandbox)) == [None]
