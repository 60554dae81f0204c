"""Resume across runs: a download killed (Ctrl-C, ``kill -9``) goes on from the bytes it left in
``.up42-download.part`` on the next call into the same folder, when the archive's ETag still
matches; otherwise it starts over. ``resume=False`` turns it off."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import up42_facade as up42
from up42_sandbox import Sandbox

from .conftest import Connect
from .helpers import (
    PADDING,
    RESUMABLE,
    MiB,
    assert_complete,
    assert_resumable,
    assert_untouched,
    expected_files,
    finished_job,
    storage_gets,
)

pytestmark = pytest.mark.sandbox

#: Sliced (above the 8 MiB threshold) and single-stream archives.
SIZES = {"sliced": 20 * MiB, "one stream": PADDING}


def fetched(sandbox: Sandbox) -> int:
    """Body bytes storage sent since the request log was last cleared."""
    return sum(record.bytes_sent for record in storage_gets(sandbox))


def on_disk(out: Path) -> int:
    """The bytes the journal says the part file holds."""
    journal = json.loads((out / RESUMABLE[1]).read_text())
    return sum(last - first for first, last in journal["on_disk"])


def interrupted(job: up42.Job, out: Path, after: int, **options: Any) -> None:
    """Start ``job.download_results`` and stop it with Ctrl-C once ``after`` bytes are in."""

    def ctrl_c(done: int, total: int | None) -> None:
        if done >= after:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        job.download_results(out, progress=ctrl_c, **options)


def resumes_with_the_rest(sandbox: Sandbox, job: up42.Job, out: Path, missing: int) -> None:
    """The next download, at loopback speed, completes ``out`` fetching ``missing`` bytes at
    most (the request log is cleared first)."""
    sandbox.set_storage_network(bandwidth=None, latency=None)
    time.sleep(0.2)  # the stopped connections' last counts settle
    sandbox.requests.clear()

    files = job.download_results(out)

    assert_complete(out, files, expected_files(sandbox, job.job_id))
    assert fetched(sandbox) <= missing


@pytest.fixture
def slow_storage(sandbox: Sandbox) -> Iterator[None]:
    """Storage at 4 MiB/s per connection, so a download is still running when it is killed."""
    sandbox.set_storage_network(bandwidth=4 * MiB, latency=None)
    yield
    sandbox.set_storage_network(bandwidth=None, latency=None)


@pytest.mark.parametrize("kind", SIZES)
def test_the_next_call_fetches_only_what_the_interrupted_one_did_not(
    sandbox: Sandbox, connect: Connect, out: Path, kind: str, slow_storage: None
) -> None:
    job = finished_job(sandbox, connect(), padding=SIZES[kind])
    size = sandbox.archive_info(job.job_id).size
    interrupted(job, out, after=size // 3)
    kept = assert_resumable(out)
    assert kept < size

    resumes_with_the_rest(sandbox, job, out, size - kept)

    assert all(record.headers.get("range") for record in storage_gets(sandbox))


def test_a_download_killed_with_sigkill_resumes_from_what_is_on_disk(
    sandbox: Sandbox, connect: Connect, out: Path, slow_storage: None
) -> None:
    job = finished_job(sandbox, connect(), padding=20 * MiB)
    size = sandbox.archive_info(job.job_id).size
    child = textwrap.dedent(
        """
        import sys
        import up42_facade as up42
        base_url, project_id, key, job_id, out = sys.argv[1:]
        session = up42.Up42(project_id=project_id, project_api_key=key, base_url=base_url)
        session.initialize_job(job_id).download_results(out, show_progress=False)
        """
    )
    args = [sandbox.base_url, sandbox.project_id, sandbox.project_api_key, job.job_id, str(out)]
    process = subprocess.Popen([sys.executable, "-c", child, *args])
    try:
        deadline = time.monotonic() + 30
        while fetched(sandbox) < size // 2 and time.monotonic() < deadline:
            assert process.poll() is None, "the download ended before it could be killed"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL
    # What the killed process left: its bytes, their journal and its half-unpacked staging
    # folder (which the next call sweeps away).
    kept = on_disk(out)
    assert kept >= size // 4  # the journal kept up with the download

    resumes_with_the_rest(sandbox, job, out, size - kept)


def test_an_archive_whose_etag_changed_is_fetched_from_the_start(
    sandbox: Sandbox, connect: Connect, out: Path
) -> None:
    job = finished_job(sandbox, connect(), padding=20 * MiB)
    size = sandbox.archive_info(job.job_id).size
    interrupted(job, out, after=size // 3)
    assert_resumable(out)
    # The object in storage is no longer the one whose bytes are on disk.
    journal = out / RESUMABLE[1]
    record = json.loads(journal.read_text())
    journal.write_text(json.dumps({**record, "validator": '"an-older-generation"'}))
    sandbox.requests.clear()

    files = job.download_results(out)

    assert_complete(out, files, expected_files(sandbox, job.job_id))
    gets = storage_gets(sandbox)
    assert gets[0].headers["if-range"] == '"an-older-generation"'
    assert gets[0].status == 200  # storage answered with the whole (current) object
    assert fetched(sandbox) >= size


def test_a_part_file_of_another_archive_is_not_used(
    sandbox: Sandbox, connect: Connect, out: Path
) -> None:
    session = connect()
    first = finished_job(sandbox, session, padding=PADDING)
    interrupted(first, out, after=MiB)
    assert_resumable(out)
    other = finished_job(sandbox, session, padding=PADDING)
    sandbox.requests.clear()

    files = other.download_results(out)

    assert_complete(out, files, expected_files(sandbox, other.job_id))
    assert fetched(sandbox) == sandbox.archive_info(other.job_id).size


def test_resume_false_starts_afresh_and_removes_what_an_earlier_run_left(
    sandbox: Sandbox, connect: Connect, out: Path
) -> None:
    job = finished_job(sandbox, connect(), padding=PADDING)
    size = sandbox.archive_info(job.job_id).size
    interrupted(job, out, after=MiB)
    assert_resumable(out)
    sandbox.requests.clear()

    files = job.download_results(out, resume=False)

    assert_complete(out, files, expected_files(sandbox, job.job_id))  # no part file left
    assert fetched(sandbox) == size


def test_resume_false_leaves_nothing_after_an_interruption(
    sandbox: Sandbox, connect: Connect, out: Path
) -> None:
    job = finished_job(sandbox, connect(), padding=20 * MiB)
    interrupted(job, out, after=5 * MiB, resume=False)

    assert_untouched(out)
