"""A connection that breaks off: the download resumes where it stopped, or starts over cleanly.

Whatever happened on the way, the result is one whole version of the archive, never a
splice of two, and the unpacked files are exactly its files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from up42_sandbox import Sandbox

from .conftest import Connect
from .helpers import (
    DROP_AT,
    EARLIER,
    MEMBERS,
    PADDING,
    MiB,
    RecordingSleep,
    assert_complete,
    blob_of,
    expected_files,
    finished_job,
    leftovers,
    regular_files,
    small_job,
    storage_gets,
    tgz,
    unpacked,
    url_requests,
)
from .servers import LocalStorage

pytestmark = pytest.mark.sandbox


def on_disk_as_expected(sandbox: Sandbox, job_id: str, *, unpacking: bool) -> dict[str, bytes]:
    if unpacking:
        return {**expected_files(sandbox, job_id), **EARLIER}
    return {"output.tgz": sandbox.archive_path(job_id).read_bytes(), **EARLIER}


@pytest.mark.parametrize("unpacking", [True, False])
def test_a_dropped_connection_resumes_at_once_where_it_stopped(
    sandbox: Sandbox, connect: Connect, out: Path, sleeps: RecordingSleep, unpacking: bool
) -> None:
    job = finished_job(sandbox, connect(), padding=PADDING)
    sandbox.inject("drop", job_id=job.job_id, at_byte=DROP_AT)

    job.download_results(out, unpacking=unpacking)

    assert regular_files(out) == on_disk_as_expected(sandbox, job.job_id, unpacking=unpacking)
    first, second = storage_gets(sandbox)
    assert (first.status, first.headers.get("range")) == (200, None)
    assert (second.status, second.headers["range"]) == (206, f"bytes={DROP_AT}-")
    assert second.headers["if-range"] == sandbox.archive_info(job.job_id).etag
    assert sleeps.calls == []  # a request that brought bytes is resumed without a pause
    assert leftovers(out.parent) == []


@pytest.mark.parametrize("unpacking", [True, False])
def test_a_drop_on_a_server_ignoring_range_starts_over_and_progress_goes_back_to_zero(
    sandbox: Sandbox, connect: Connect, out: Path, unpacking: bool
) -> None:
    job = finished_job(sandbox, connect(), padding=PADDING)
    size = sandbox.archive_info(job.job_id).size
    sandbox.inject("drop", job_id=job.job_id, at_byte=2 * MiB)
    sandbox.inject("ignore_range", count=None, job_id=job.job_id)  # no Range support at all
    seen: list[tuple[int, int | None]] = []

    job.download_results(out, unpacking=unpacking, progress=lambda d, t: seen.append((d, t)))

    assert [get.status for get in storage_gets(sandbox)] == [200, 200]
    assert (0, size) in seen[1:]
    assert seen[-1] == (size, size)
    assert regular_files(out) == on_disk_as_expected(sandbox, job.job_id, unpacking=unpacking)
    assert leftovers(out.parent) == []


@pytest.mark.parametrize("at_byte", [2, 300, 600])
def test_unpacking_survives_a_drop_in_the_first_bytes(
    sandbox: Sandbox, connect: Connect, out: Path, at_byte: int
) -> None:
    # The format is told from the first block: a few bytes must not pass for a plain tar.
    job = finished_job(sandbox, connect())
    sandbox.inject("drop", job_id=job.job_id, at_byte=at_byte)

    paths = job.download_results(out)

    assert_complete(out, paths, expected_files(sandbox, job.job_id))
    assert len(storage_gets(sandbox)) == 2


def test_unpacking_starts_afresh_when_a_resumed_download_does_not_verify(
    sandbox: Sandbox, connect: Connect, out: Path
) -> None:
    job = finished_job(sandbox, connect(), padding=PADDING)
    sandbox.inject("drop", job_id=job.job_id, at_byte=DROP_AT)
    # Applies to the first request too, but flips bytes past the drop: only the resume is hit.
    sandbox.inject("corrupt", count=2, job_id=job.job_id, at_byte=2 * MiB)

    paths = job.download_results(out)

    assert_complete(out, paths, expected_files(sandbox, job.job_id))
    assert [get.status for get in storage_gets(sandbox)] == [200, 206, 200]
    assert len(url_requests(sandbox)) == 2


def test_an_object_replaced_between_requests_is_downloaded_anew_never_spliced(
    sandbox: Sandbox, via_storage: Connect, storage: LocalStorage, out: Path
) -> None:
    job = small_job(sandbox, via_storage())
    newer = {"output/data.json": b'{"features": ["newer"]}', "output/f9/f9.tif": blob_of(MiB, 9)}
    stored = storage.put(job.job_id, tgz(MEMBERS))
    old_etag = stored.etag_value
    storage.inject("drop", at_byte=MiB + 5, replace_with=tgz(newer))

    paths = job.download_results(out)

    assert_complete(out, paths, unpacked(newer))
    _, second = storage.requests
    assert second.headers["if-range"] == old_etag
    assert second.status == 200  # the new object, whole


def test_a_content_range_that_does_not_continue_the_object_starts_over(
    sandbox: Sandbox, via_storage: Connect, storage: LocalStorage, out: Path
) -> None:
    job = small_job(sandbox, via_storage())
    data = blob_of(2 * MiB)
    storage.put(job.job_id, data)
    storage.inject("drop", at_byte=MiB)
    storage.inject("bad_content_range", shift=7)

    [path] = job.download_results(out, unpacking=False)

    assert Path(path).read_bytes() == data
    assert [r.status for r in storage.requests] == [200, 206, 200]
    assert storage.requests[2].range is None


def test_without_an_etag_or_hash_a_drop_starts_over_instead_of_resuming(
    sandbox: Sandbox, via_storage: Connect, storage: LocalStorage, out: Path
) -> None:
    job = small_job(sandbox, via_storage())
    data = blob_of(2 * MiB)
    storage.put(job.job_id, data, etag=False, md5=False, crc32c=False)
    storage.inject("drop", at_byte=MiB)

    [path] = job.download_results(out, unpacking=False)

    assert Path(path).read_bytes() == data
    assert [r.range for r in storage.requests] == [None, None]


def test_a_body_of_unknown_length_cut_short_is_resumed_and_verified_by_its_hash(
    sandbox: Sandbox, via_storage: Connect, storage: LocalStorage, out: Path
) -> None:
    job = small_job(sandbox, via_storage())
    data = blob_of(2 * MiB + 17)
    storage.put(job.job_id, data, chunked=True)
    storage.inject("drop", at_byte=MiB + 3)

    [path] = job.download_results(out, unpacking=False)

    assert Path(path).read_bytes() == data
    assert storage.requests[1].range is not None


def test_a_stalled_connection_is_resumed_after_the_downloads_timeout(
    sandbox: Sandbox, via_storage: Connect, storage: LocalStorage, out: Path
) -> None:
    # The session would wait 30 s for a byte; the download's own timeout says 0.3 s.
    job = small_job(sandbox, via_storage(read_timeout=30.0))
    data = blob_of(2 * MiB)
    storage.put(job.job_id, data)
    storage.inject("stall", at_byte=MiB + 1000)

    [path] = job.download_results(out, unpacking=False, timeout=0.3)

    assert Path(path).read_bytes() == data
    _, second = storage.requests
    assert second.during_stall  # it gave up on the silent connection, not the server
    # Whole chunks count: the one that timed out part-way is fetched again.
    assert second.range == f"bytes={MiB}-"
