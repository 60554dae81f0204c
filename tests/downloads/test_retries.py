"""When storage fails: waits through the session's ``sleep``, as its ``RetryPolicy`` says.

A download counts its requests (the first and every resume) as attempts of the session's
policy; ``Retry-After`` from storage wins over the backoff; a request that brought bytes
resumes at once. When attempts run out, nothing is left on disk.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import up42_facade as up42
from up42_sandbox import Sandbox

from .conftest import Connect
from .helpers import (
    PADDING,
    MiB,
    RecordingSleep,
    assert_resumable,
    assert_untouched,
    blob_of,
    finished_job,
    small_job,
    storage_gets,
)
from .servers import LocalStorage, StorageRoute

pytestmark = pytest.mark.sandbox


def test_a_download_whose_every_request_drops_gives_up_after_the_policys_attempts(
    sandbox: Sandbox, connect: Connect, out: Path, sleeps: RecordingSleep
) -> None:
    base = 0.02
    session = connect(retry=up42.RetryPolicy(max_attempts=3, backoff_base=base))
    job = finished_job(sandbox, session, padding=PADDING)
    sandbox.inject("drop", count=None, job_id=job.job_id, at_byte=0)

    with pytest.raises(up42.DownloadError, match="gave up after 3 attempts") as caught:
        job.download_results(out)

    assert not isinstance(caught.value, up42.IntegrityError)
    assert "X-Goog-Signature" not in str(caught.value)
    assert len(storage_gets(sandbox)) == 3
    # Full-jitter backoff: each wait is within its ceiling, and the ceiling doubles.
    assert len(sleeps.calls) == 2
    assert all(0 < wait <= base * 2**i for i, wait in enumerate(sleeps.calls))
    assert_untouched(out)
    assert job.results is None


def test_max_attempts_of_the_download_wins_over_the_sessions_policy(
    sandbox: Sandbox, connect: Connect, out: Path
) -> None:
    job = finished_job(sandbox, connect(), padding=PADDING)  # the policy allows 5
    sandbox.inject("drop", count=None, job_id=job.job_id, at_byte=MiB // 2)

    with pytest.raises(up42.DownloadError, match="gave up after 2 attempts"):
        job.download_results(out, max_attempts=2)

    assert len(storage_gets(sandbox)) == 2
    assert assert_resumable(out) >= MiB // 2  # the next call goes on from there


@pytest.mark.parametrize("status", [503, 429])
def test_storage_asking_to_retry_after_a_second_gets_exactly_that_wait(
    sandbox: Sandbox,
    via_storage: Connect,
    storage: LocalStorage,
    out: Path,
    sleeps: RecordingSleep,
    status: int,
) -> None:
    job = small_job(sandbox, via_storage())
    data = blob_of(1000)
    storage.put(job.job_id, data)
    storage.inject("status", status=status, headers={"Retry-After": "1"})

    [path] = job.download_results(out, unpacking=False)

    assert Path(path).read_bytes() == data
    assert sleeps.calls == [1.0]
    assert [r.status for r in storage.requests] == [status, 200]


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
def test_transient_storage_errors_are_retried_after_growing_backoff(
    sandbox: Sandbox,
    via_storage: Connect,
    storage: LocalStorage,
    out: Path,
    sleeps: RecordingSleep,
    status: int,
) -> None:
    base = 0.02
    job = small_job(sandbox, via_storage(retry=up42.RetryPolicy(backoff_base=base)))
    data = blob_of(1000)
    storage.put(job.job_id, data)
    storage.inject("status", count=2, status=status)

    [path] = job.download_results(out, unpacking=False)

    assert Path(path).read_bytes() == data
    assert [r.status for r in storage.requests] == [status, status, 200]
    assert len(sleeps.calls) == 2
    assert all(0 < wait <= base * 2**i for i, wait in enumerate(sleeps.calls))


def test_a_retry_after_beyond_the_deadline_fails_at_once_without_waiting(
    sandbox: Sandbox,
    via_storage: Connect,
    storage: LocalStorage,
    out: Path,
    sleeps: RecordingSleep,
) -> None:
    job = small_job(sandbox, via_storage(retry=up42.RetryPolicy(deadline=5.0)))
    storage.put(job.job_id, blob_of(1000))
    storage.inject("status", count=None, status=503, headers={"Retry-After": "60"})

    with pytest.raises(up42.DownloadError, match="HTTP 503"):
        job.download_results(out)

    assert sleeps.calls == []
    assert len(storage.requests) == 1
    assert_untouched(out)


def test_a_refused_connection_is_retried_then_a_download_error(
    sandbox: Sandbox, connect: Connect, out: Path, sleeps: RecordingSleep
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free, and nobody listens once the socket is closed
    session = connect(transport=StorageRoute(lambda url: f"http://127.0.0.1:{port}/o.tgz"))
    job = small_job(sandbox, session)

    with pytest.raises(up42.DownloadError, match="gave up after 2 attempts"):
        job.download_results(out, max_attempts=2)

    assert len(sleeps.calls) == 1
    assert_untouched(out)
