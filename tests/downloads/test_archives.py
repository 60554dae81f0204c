"""Archives that must not be unpacked: refused, mid-download where possible, leaving nothing."""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

import up42_facade as up42
from up42_sandbox import Sandbox

from .conftest import Connect
from .helpers import (
    ESCAPES,
    PADDING,
    MiB,
    assert_untouched,
    blob_of,
    finished_job,
    leftovers,
    regular_files,
    small_job,
)
from .servers import LocalStorage

pytestmark = pytest.mark.sandbox


@pytest.mark.parametrize(
    ("archive", "hostile", "member_part"),
    [
        ("tgz", "dotdot", "../../sandbox-escape-dotdot.txt"),
        ("tgz", "absolute", "/tmp/sandbox-escape-absolute.txt"),
        ("tgz", "symlink", "escape-symlink"),
        ("tgz", "hardlink", "escape-hardlink"),
        ("tgz", "all", "sandbox-escape-dotdot.txt"),  # the first escape attempt stops it
        ("zip", "dotdot", "../../sandbox-escape-dotdot.txt"),
        ("zip", "absolute", "/tmp/sandbox-escape-absolute.txt"),
        ("zip", "symlink", "escape-symlink"),
    ],
)
def test_a_hostile_archive_is_refused_and_nothing_lands_anywhere(
    sandbox: Sandbox, connect: Connect, out: Path, archive: str, hostile: str, member_part: str
) -> None:
    before = {path: path.exists() for path in ESCAPES}
    job = finished_job(sandbox, connect(), archive=archive, hostile=hostile)

    with pytest.raises(up42.UnsafeArchiveError) as caught:
        job.download_results(out)

    assert member_part in caught.value.member
    assert caught.value.member in str(caught.value)
    assert_untouched(out)
    assert not list(out.parent.parent.rglob("sandbox-escape-*"))
    assert {path: path.exists() for path in ESCAPES} == before
    assert job.results is None


@pytest.mark.parametrize("archive", ["tgz", "zip"])
def test_a_truncated_archive_is_a_download_error_not_an_integrity_error(
    sandbox: Sandbox, connect: Connect, out: Path, archive: str
) -> None:
    job = finished_job(sandbox, connect(), archive=archive, hostile="truncated")

    with pytest.raises(up42.DownloadError, match="truncated") as caught:
        job.download_results(out)

    assert not isinstance(caught.value, up42.IntegrityError)  # the bytes were as announced
    assert_untouched(out)


def test_a_refused_archive_keeps_an_earlier_download_intact(
    sandbox: Sandbox, connect: Connect, out: Path
) -> None:
    session = connect()
    finished_job(sandbox, session).download_results(out)
    before = regular_files(out)
    hostile = finished_job(sandbox, session, hostile="symlink")

    with pytest.raises(up42.UnsafeArchiveError):
        hostile.download_results(out)

    assert regular_files(out) == before
    assert leftovers(out.parent) == []


@pytest.mark.parametrize(
    ("limit", "value"), [("max_total_size", MiB), ("max_members", 2)], ids=["size", "members"]
)
def test_the_archive_limits_refuse_a_download_and_leave_nothing(
    sandbox: Sandbox, connect: Connect, out: Path, limit: str, value: Any
) -> None:
    job = finished_job(sandbox, connect(), padding=PADDING)

    with pytest.raises(up42.UnsafeArchiveError, match=limit):
        job.download_results(out, **{limit: value})

    assert_untouched(out)


def test_a_hostile_member_stops_the_download_before_the_rest_is_fetched(
    sandbox: Sandbox, via_storage: Connect, storage: LocalStorage, out: Path
) -> None:
    hostile = io.BytesIO()
    with tarfile.open(fileobj=hostile, mode="w") as tar:  # plain tar: the link comes first
        link = tarfile.TarInfo("output/escape")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc"
        tar.addfile(link)
        for name, payload in [("output/a.tif", blob_of(MiB)), ("output/b.tif", blob_of(8 * MiB))]:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    data = hostile.getvalue()
    job = small_job(sandbox, via_storage())
    storage.put(job.job_id, data)
    # The rest of the archive comes only after a long silence, then the connection breaks:
    # a download that waited for it would have to ask again.
    storage.inject("stall", at_byte=3 * MiB)
    done: list[int] = []

    def slow_consumer(bytes_done: int, total: int | None) -> None:
        done.append(bytes_done)
        # Leaves the unpacking thread time to look at the first members.
        time.sleep(0.2)

    with pytest.raises(up42.UnsafeArchiveError, match="symbolic link") as caught:
        job.download_results(out, progress=slow_consumer)

    assert caught.value.member == "output/escape"
    assert len(storage.requests) == 1
    assert max(done) < len(data)
    assert_untouched(out)
