"""A full disk, while downloading or while unpacking: a ``DownloadError`` that names the folder
and the space needed, nothing half-unpacked, and the bytes downloaded so far kept for the next
call, which fetches only the rest.

The disk fills up by injection: writes into the download folder fail with ``ENOSPC`` once a
budget of bytes is used up, the way a full filesystem answers them.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import up42_facade as up42
from up42_sandbox import Sandbox

from .conftest import Connect
from .helpers import (
    MiB,
    assert_complete,
    assert_resumable,
    expected_files,
    finished_job,
    storage_gets,
)

pytestmark = pytest.mark.sandbox


def fill_up(
    monkeypatch: pytest.MonkeyPatch, folder: Path, name: str, budget: int, write: str
) -> list[int]:
    """Make ``os.<write>`` fail with ENOSPC for files under ``folder`` whose path contains
    ``name``, once ``budget`` bytes were written to them; the list counts the failures."""
    real: Callable[..., int] = getattr(os, write)
    failures: list[int] = []
    left = [budget]

    def full(fd: int, data: Any, *rest: Any) -> int:
        try:
            path = str(Path(f"/proc/self/fd/{fd}").readlink())
        except OSError:
            path = ""
        if path.startswith(str(folder)) and name in path:
            if left[0] < len(data):
                failures.append(fd)
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            left[0] -= len(data)
        return real(fd, data, *rest)

    monkeypatch.setattr(os, write, full)
    return failures


@pytest.mark.parametrize("padding", [3 * MiB, 20 * MiB], ids=["one stream", "sliced"])
def test_a_disk_that_fills_up_while_downloading_keeps_what_came_for_the_next_call(
    sandbox: Sandbox,
    connect: Connect,
    out: Path,
    monkeypatch: pytest.MonkeyPatch,
    padding: int,
) -> None:
    if padding > 8 * MiB:  # slow enough per connection to be sliced
        sandbox.set_storage_network(bandwidth=8 * MiB, latency=None)
    job = finished_job(sandbox, connect(), padding=padding)
    size = sandbox.archive_info(job.job_id).size
    failures = fill_up(monkeypatch, out, ".up42-download.part", 2 * MiB, "pwrite")

    with pytest.raises(up42.DownloadError) as caught:
        job.download_results(out)

    message = str(caught.value)
    assert failures
    assert message.startswith(f"the disk is full: the download into {out} needs at least ")
    assert message.endswith(
        " free); free some space and download again (the bytes "
        "downloaded so far are kept and will not be fetched again)"
    )
    assert "kept and will not be fetched again" in message
    kept = assert_resumable(out)  # nothing unpacked, nothing else left
    assert 0 < kept <= 2 * MiB
    monkeypatch.undo()  # space was freed
    sandbox.set_storage_network(bandwidth=None, latency=None)
    time.sleep(0.2)  # the stopped connections' last counts settle
    sandbox.requests.clear()

    files = job.download_results(out)

    assert_complete(out, files, expected_files(sandbox, job.job_id))
    assert sum(record.bytes_sent for record in storage_gets(sandbox)) <= size - kept


def test_a_disk_that_fills_up_while_unpacking_says_what_unpacking_needs(
    sandbox: Sandbox, connect: Connect, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = finished_job(sandbox, connect(), padding=3 * MiB)
    size = sandbox.archive_info(job.job_id).size
    failures = fill_up(monkeypatch, out, ".up42-unpack-", MiB, "write")

    with pytest.raises(up42.DownloadError) as caught:
        job.download_results(out)

    message = str(caught.value)
    assert failures
    assert message.startswith(f"the disk is full: unpacking the results into {out} needs at least ")
    assert " MiB in all (" in message
    assert "kept and will not be fetched again" in message
    assert "X-Goog" not in message
    kept = assert_resumable(out)  # the staging folder is gone: nothing half-unpacked
    monkeypatch.undo()
    sandbox.requests.clear()

    files = job.download_results(out)

    assert_complete(out, files, expected_files(sandbox, job.job_id))
    assert sum(record.bytes_sent for record in storage_gets(sandbox)) <= max(size - kept, 1)


def test_without_resume_a_full_disk_keeps_nothing_and_says_so(
    sandbox: Sandbox, connect: Connect, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = finished_job(sandbox, connect(), padding=3 * MiB)
    fill_up(monkeypatch, out, ".up42-", MiB, "pwrite")

    with pytest.raises(up42.DownloadError, match=r"nothing was kept\)$"):
        job.download_results(out, resume=False)

    assert sorted(path.name for path in out.iterdir()) == ["earlier.txt"]
